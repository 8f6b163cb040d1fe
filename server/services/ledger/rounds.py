"""The ledger's rounds: filtered, counted (GROUP BY) and cut (LIMIT / OFFSET, keyset for exports) in
SQL on `calendar_rounds`, the calendar's read model (each round's settled status, by the rules of
`server.services.calendar.status`; `status_at_sql` adds what the clock changes), so a page costs the
same with a year of data. Reads are limited to the requested area by the same index ranges the
engine's reads use (`sync.sql.scope_clause`)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from schemas.areas import DISTRICT, TOWNSHIP, VILLAGE, AreaCode, is_area_code
from sync.sql import scope_clause

from server.core import areas as area_registry
from server.core.models import as_utc
from server.services.calendar import tables
from server.services.calendar.periods import stamp
from server.services.calendar.state import started_on
from server.services.calendar.status import MISSED, MISSING, OPEN, OVERDUE, status_at_sql
from server.services.ledger.areas import engine, names, under
from server.services.ledger.windows import MAX_ROWS, status_now

NOT_SUBMITTED = (OVERDUE, MISSED, MISSING)
DUE = "due_rounds"  # a filter of the ledger: the rounds a completion rate counts (due in the window, not open)


@dataclass
class RoundRow:
    area: str
    name: str
    level: str
    round_id: str
    title: str
    period_start: dt.date
    period_end: dt.date
    due: dt.date
    status: str
    report_id: str | None
    submitted_at: dt.datetime | None
    time_used: str | None
    device_time: dt.datetime | None
    received_at: dt.datetime | None
    review: str | None = None

    def export(self) -> list:
        return [self.area, self.name, self.level, self.round_id, self.title, self.period_start.isoformat(),
                self.period_end.isoformat(), self.due.isoformat(), self.status, self.report_id or "",
                stamp(self.submitted_at) if self.submitted_at else "", self.time_used or "",
                stamp(self.received_at) if self.received_at else "", self.review or ""]


EXPORT_HEADER = ["area", "name", "level", "round_id", "title", "period_start", "period_end", "due",
                 "status", "report_id", "submitted_at", "time_used", "received_at", "review"]


def round_filter(area: str, since: dt.date, until: dt.date, *, level: str | None = None,
                 status: str | None = None, review: str | None = None, due_in_window: bool = False):
    """(status expression, WHERE conditions) over `calendar_rounds`: rounds under `area` due from
    `since` whose period started by `until` (with `due_in_window`, due by `until` too), status at
    `status_now(until)` (`status.status_at_sql`). The status DUE is the figures' basis: the rounds
    due in the window that are no longer open."""
    r = tables.rounds
    app = current_app._get_current_object()
    state = status_at_sql(r.c.settled, r.c.due_at, status_now(until))
    conds = [r.c.db_name == app.config["PAICHA_DOMAIN_DB"], r.c.due_date >= since, r.c.period_start <= until]
    if due_in_window or status == DUE:
        conds.append(r.c.due_date <= until)
    if area:
        conds.append(scope_clause(r.c.area, (area,)))
    started = started_on(app)
    if started:  # a deleted round of a period before the calendar's first tick was never expected
        conds.append(sa.or_(r.c.live == sa.true(), r.c.period_end >= started))
    if level:
        conds.append(r.c.level == level)
    if status == "not_submitted":
        conds.append(state.in_(NOT_SUBMITTED))
    elif status == DUE:
        conds.append(state != OPEN)
    elif status:
        conds.append(state == status)
    if review == "none":
        conds.extend([r.c.report_id.is_not(None), r.c.review.is_(None)])
    elif review:
        conds.append(r.c.review == review)
    return state, conds


def round_count(area: str, since: dt.date, until: dt.date, **filters) -> int:
    _state, conds = round_filter(area, since, until, **filters)
    with engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.rounds).where(*conds)).scalar()


#: The orders the ledger offers besides its own (newest period first, then by area): each a column
#: of `calendar_rounds` (or the status as of the window's end), the round id breaking ties.
SORT_KEYS = ("period", "area", "due", "status", "submitted", "review")


def _sort_column(key: str, state):
    r = tables.rounds.c
    return {"area": r.area, "due": r.due_date, "status": state, "submitted": r.submitted_at, "review": r.review}[key]


def round_counts_by_child(area: str, since: dt.date, until: dt.date, child_length: int, **filters) -> dict[str, int]:
    """{child area code: rounds} of the ledger's filters, each round counted in the child area (of
    `child_length` digits) it lies in; the area's own rounds are left out."""
    r = tables.rounds
    _state, conds = round_filter(area, since, until, **filters)
    code = sa.func.substr(r.c.area, 1, child_length)
    query = (sa.select(code, sa.func.count()).where(*conds, sa.func.length(r.c.area) >= child_length)
             .group_by(code))
    with engine().connect() as conn:
        return {c: int(n) for c, n in conn.execute(query)}


def iter_round_rows(area: str, since: dt.date, until: dt.date, *, offset: int = 0, limit: int | None = None,
                    chunk: int = 2000, sort: str = "period", descending: bool = True, **filters):
    """Rounds under `area` due from `since` whose period started by `until`, with the calendar's
    status as of the end of `until` (or now); newest period first, then by area (or in `sort`
    order, then by round id). Read in chunks (keyset on the ledger's own order, else offsets), so
    an export streams; needs no request context once called."""
    if sort not in SORT_KEYS:
        raise ValueError(sort)
    r = tables.rounds
    state, conds = round_filter(area, since, until, **filters)
    db = engine()
    keyset = sort == "period" and descending
    if keyset:
        order = (r.c.period_start.desc(), r.c.area, r.c.level, r.c.round_id)
    elif sort == "period":  # oldest period first
        order = (r.c.period_start, r.c.area.desc(), r.c.level.desc(), r.c.round_id.desc())
    else:
        column = _sort_column(sort, state)
        order = (column.desc(), r.c.round_id.desc()) if descending else (column, r.c.round_id)
    columns = (r.c.area, r.c.level, r.c.round_id, r.c.title, r.c.period_start, r.c.period_end, r.c.due_date,
               state.label("status"), r.c.report_id, r.c.submitted_at, r.c.time_used, r.c.device_time,
               r.c.received_at, r.c.review)

    def rows():
        left = limit
        after = None
        while left is None or left > 0:
            size = chunk if left is None else min(chunk, left)
            stmt = sa.select(*columns).where(*conds).order_by(*order).limit(size)
            if after is None:
                stmt = stmt.offset(offset)
            elif not keyset:
                stmt = stmt.offset(after)
            else:
                start, code, level, rid = after
                stmt = stmt.where(sa.or_(r.c.period_start < start, sa.and_(
                    r.c.period_start == start,
                    sa.tuple_(r.c.area, r.c.level, r.c.round_id) > sa.tuple_(code, level, rid))))
            with db.connect() as conn:
                batch = conn.execute(stmt).all()
                names_of = area_registry.names(conn, {b.area for b in batch})
            if not batch:
                return
            for b in batch:
                yield RoundRow(
                    area=b.area, name=names_of.get(b.area, ""), level=b.level, round_id=b.round_id, title=b.title,
                    period_start=b.period_start, period_end=b.period_end, due=b.due_date, status=b.status,
                    report_id=b.report_id, submitted_at=as_utc(b.submitted_at), time_used=b.time_used,
                    device_time=as_utc(b.device_time), received_at=as_utc(b.received_at), review=b.review)
            if len(batch) < size:
                return
            last = batch[-1]
            after = ((last.period_start, last.area, last.level, last.round_id) if keyset
                     else (offset if after is None else after) + len(batch))
            if left is not None:
                left -= len(batch)

    return rows()


def round_rows(area: str, since: dt.date, until: dt.date, *, offset: int = 0, limit: int | None = MAX_ROWS,
               **filters) -> list[RoundRow]:
    return list(iter_round_rows(area, since, until, offset=offset, limit=limit, **filters))


def status_counts(area: str, since: dt.date, until: dt.date, *, by: str | tuple[str, ...] = "area",
                  due_in_window: bool = False) -> dict:
    """{key: Counter(status: n)} for the rounds of `round_filter`, counted in SQL (GROUP BY); `by`
    is a column of calendar_rounds (area, level, due_date), or a tuple of them (tuple keys)."""
    r = tables.rounds
    state, conds = round_filter(area, since, until, due_in_window=due_in_window)
    keys = [r.c[b] for b in ((by,) if isinstance(by, str) else by)]
    out: dict = defaultdict(Counter)
    with engine().connect() as conn:
        for row in conn.execute(sa.select(*keys, state, sa.func.count()).where(*conds).group_by(*keys, state)):
            k = row[0] if isinstance(by, str) else tuple(row[:len(keys)])
            out[k][row[-2]] += row[-1]
    return out


def rollup(by_area: dict[str, Counter], area: str) -> list[dict]:
    """Per township and village under `area` (and the area itself): counts of each status; a
    township's line counts its own rounds plus its villages'."""
    codes = sorted({c for c in by_area if is_area_code(c)}
                   | {c for c, _, lvl in under(area) if lvl in (TOWNSHIP, VILLAGE)})
    area_names = names(codes)
    rolled: dict[str, Counter] = defaultdict(Counter)
    for other, c in by_area.items():
        if is_area_code(other) and AreaCode(other).level != DISTRICT:
            for prefix in {AreaCode(other).at(TOWNSHIP), other}:
                rolled[prefix].update(c)
    out = []
    for code in codes:
        level = AreaCode(code).level
        if level == DISTRICT:
            continue
        counts = rolled.get(code, Counter())
        total = sum(counts.values())
        out.append({"area": code, "name": area_names.get(code, ""), "level": level,
                    "counts": counts, "total": total, "not_submitted": sum(counts[s] for s in NOT_SUBMITTED)})
    return out
