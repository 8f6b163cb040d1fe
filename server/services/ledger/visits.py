"""The visit checks over a ledger window of days (Asia/Shanghai, both ends included)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from server.services.calendar.periods import start_of_day
from server.services.geo import queries
from server.services.geo.tables import visit_checks
from server.services.ledger.areas import engine
from server.services.ledger.windows import end_of


def coverage(area: str, since: dt.date, until: dt.date) -> list[dict]:
    with engine().connect() as conn:
        return queries.coverage(conn, area, since=start_of_day(since), until=end_of(until))


def flagged_visits(area: str, since: dt.date, until: dt.date, limit: int = 50) -> list[dict]:
    with engine().connect() as conn:
        return queries.flagged_visits(conn, area, start_of_day(since), end_of(until), limit)


def map_data(area: str, since: dt.date, until: dt.date, limit: int = 2000) -> dict:
    with engine().connect() as conn:
        return queries.map_data(conn, area, start_of_day(since), end_of(until), limit)


def flagged_counts(area: str, since: dt.date, until: dt.date, child_length: int) -> dict[str, int]:
    """{child area code: visits with any flag in the window}, counted in SQL (each visit in the
    child area of `child_length` digits it lies in)."""
    c = visit_checks.c
    code = sa.func.substr(c.area, 1, child_length)
    query = (sa.select(code, sa.func.count())
             .where(c.area.startswith(area), c.flags != "[]", c.visited_at >= start_of_day(since),
                    c.visited_at < end_of(until)).group_by(code))
    with engine().connect() as conn:
        return {k: int(n) for k, n in conn.execute(query)}
