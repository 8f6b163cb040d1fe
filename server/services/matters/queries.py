"""Reads of the matters' read model for the pages and the API, limited to the handle's scope like
every ledger read (`ledger.disputes.live_records`)."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from sync.sql import scope_clause

from server.services.ledger.disputes import fact, live_records
from server.services.ledger.tables import records
from server.services.matters import stages
from server.services.matters.tables import numbers, states, steps


def number_of(database, matter_id: str) -> str | None:
    with database.store.reading() as conn:
        return conn.execute(sa.select(numbers.c.number).where(
            numbers.c.db_name == database.name, numbers.c.doc_id == matter_id)).scalar()


def numbers_of(database, matter_ids: list[str]) -> dict[str, str]:
    if not matter_ids:
        return {}
    with database.store.reading() as conn:
        return dict(conn.execute(sa.select(numbers.c.doc_id, numbers.c.number).where(
            numbers.c.db_name == database.name, numbers.c.doc_id.in_(matter_ids))).all())


def _registered(conn, database, matter: dict) -> dt.date:
    found = conn.execute(sa.select(numbers.c.registered_on).where(
        numbers.c.db_name == database.name, numbers.c.doc_id == matter["_id"])).scalar()
    return found or stages.registered_on(matter.get("created_at"), None)


def life(database, matter: dict, terms: stages.Terms) -> stages.Life:
    """The matter's life from the steps the handle's user may see (the matter as read through it)."""
    s = steps.c
    conds = [s.db_name == database.name, s.matter_id == matter["_id"], s.deleted.is_(False)]
    clause = scope_clause(s.area, database.access.read_prefixes)
    if clause is not None:
        conds.append(clause)
    with database.store.reading() as conn:
        rows = conn.execute(sa.select(s.doc_id, s.seq, s.body).where(*conds)).all()
        registered = _registered(conn, database, matter)
    found = [{**json.loads(body), "_id": doc_id, "_seq": seq} for doc_id, seq, body in rows]
    return stages.derive(matter, registered, found, terms)


def pending_overdue(today: dt.date) -> dict:
    """SQL over `matter_states`, per step (accept, handle, reply): still not done on `today` and past
    its deadline (what the calendar reminds)."""
    m = states.c
    return {
        "accept": sa.and_(m.decided_on.is_(None), m.accept_due < today),
        "handle": sa.and_(m.handle_due.is_not(None), m.finished.is_(False), m.handle_due < today),
        "reply": sa.and_(m.handle_due.is_not(None), m.replied_on.is_(None), m.finished.is_(False),
                         m.handle_due < today),
    }


def overdue_clause(today: dt.date):
    """SQL over `matter_states`: anything overdue on `today` (the same rules as `stages.overdue`):
    a step still pending past its deadline, or one done after it."""
    m = states.c
    late = [sa.and_(m.decided_on.is_not(None), m.decided_on > m.accept_due),
            sa.and_(m.handle_due.is_not(None), m.replied_on.is_not(None), m.replied_on > m.handle_due)]
    return sa.or_(*late, *pending_overdue(today).values())


def matter_list(database, area: str, today: dt.date, *, stage: str | None = None, overdue: bool = False,
                offset: int = 0, limit: int = 50) -> list[dict]:
    """The disputes under `area` in `stage` and/or with something overdue on `today`, in id order,
    as the ledger's facts."""
    d, m = records.c, states.c
    extra = [m.db_name == d.db_name]
    if stage:
        extra.append(m.stage == stage)
    if overdue:
        extra.append(overdue_clause(today))
    query = (sa.select(records).join(states, sa.and_(m.db_name == d.db_name, m.doc_id == d.doc_id))
             .where(*live_records(database, "dispute", area, *extra)).order_by(d.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [fact(r) for r in conn.execute(query)]


def stages_of(database, matter_ids: list[str]) -> dict[str, str]:
    if not matter_ids:
        return {}
    with database.store.reading() as conn:
        return dict(conn.execute(sa.select(states.c.doc_id, states.c.stage).where(
            states.c.db_name == database.name, states.c.doc_id.in_(matter_ids))).all())
