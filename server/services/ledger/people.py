"""People as the ledger shows them: an account's display name (刘芳（示范村一）) for the account id
that documents record (created_by, a trail's by, a visit's visitor). Documents keep the id; the
name is put on at the page's edge."""
from __future__ import annotations

import sqlalchemy as sa

from server.core.db import reading
from server.core.models import Account

DISTRICT_DIGITS = 6


def display_names(area: str) -> dict[str, str]:
    """{account id: display name} of the accounts a page under `area` may name, in one query: those
    of its district and those above it (city, province, administrators). Accounts without a display
    name are left out (the page shows their id)."""
    district = area[:DISTRICT_DIGITS]
    a = Account.__table__.c
    related = sa.or_(a.scope.like(district + "%"), sa.func.length(a.scope) < DISTRICT_DIGITS) if district \
        else sa.true()
    with reading() as session:
        rows = session.execute(sa.select(a.name, a.display_name)
                               .where(related, a.display_name.is_not(None), a.display_name != "")).all()
    return dict(rows)
