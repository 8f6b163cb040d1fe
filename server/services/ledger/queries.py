"""The ledger's reads, all in SQL on small indexed tables, filtered, counted (GROUP BY) and cut
(LIMIT / OFFSET, keyset for exports) in the database, so a page costs the same with a year of data:

    rounds     `calendar_rounds` (the calendar's index: each round's settled status, by the rules of
               `server.services.calendar.status`; `status_at_sql` adds what the clock changes)
    disputes,  `ledger_records` (facts of each dispute / notice, kept by a write hook: index.py)
    notices
    visits     `server.services.geo` tables; stale devices from `server.services.devices`

Every read is restricted to the viewer's scope and the requested area by the same index ranges the
engine's reads use (`sync.database.scope_clause`); single documents are read through the viewer's
user-bound store handle.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from schemas._formats import FIRST_YEAR, LAST_YEAR
from sync.database import scope_clause

from server.core.auth import Principal
from server.core.models import as_utc
from server.services.calendar.periods import SHANGHAI, local_date, stamp, start_of_day
from server.services.calendar.status import LATE, MISSED, MISSING, ON_TIME, OPEN, OVERDUE, STATUSES

REVIEW_STATUSES = ("received", "has_issues", "approved", "sent_back")
OPEN_DISPUTE = ("registered", "mediating", "escalated")
KEY_RISKS = ("high", "key")
RISKS = ("low", "medium", "high", "key")
CATEGORIES = ("land", "homestead", "marriage_family", "neighbourhood", "labour", "debt", "property",
              "contract", "traffic_accident", "medical", "environment", "other")
MAX_ROWS = 20000  # bound on rows any one page or export computes over
FACT_FIELDS = ("area", "category", "risk_level", "status", "summary", "created_at", "created_by",
               "accepted_at", "resolved_at", "one_time_resolution", "satisfaction", "round_id")


def review_id(report_id: str) -> str:
    return f"review-{report_id}"


def domain(who: Principal):
    """The domain database as `who` sees it (scope-limited reads, rule-checked writes)."""
    from mobile_api.context import domain as mobile_domain

    return mobile_domain(who)


def today() -> dt.date:
    return local_date(dt.datetime.now(dt.timezone.utc))


def end_of(day: dt.date) -> dt.datetime:
    return start_of_day(day + dt.timedelta(days=1))


# -- names -----------------------------------------------------------------------------------------------

def area_names(codes) -> dict[str, str]:
    from server.services.calendar.rounds import area_names as names

    return names(current_app._get_current_object(), codes)


def areas_under(area: str, level: str | None = None) -> list[tuple[str, str, str]]:
    from server.core.models import Area

    t = Area.__table__
    stmt = sa.select(t.c.code, t.c.name, t.c.level).where(t.c.code.startswith(area)).order_by(t.c.code).limit(MAX_ROWS)
    if level:
        stmt = stmt.where(t.c.level == level)
    with _engine().connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def _engine() -> sa.Engine:
    return current_app.extensions["paicha_store"].engine


# -- rounds (the calendar's status) ----------------------------------------------------------------------

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


def _indexed() -> None:
    """Bring the calendar's report / round index up to date, once per request (a cheap read of the
    changes feed past its checkpoint when nothing changed)."""
    from flask import g

    from server.services.calendar.rounds import index_reports

    if not g.get("_paicha_ledger_indexed"):
        index_reports(current_app._get_current_object())
        g._paicha_ledger_indexed = True


def status_now(until: dt.date) -> dt.datetime:
    """The moment statuses are taken at: the end of `until`, or the clock if that is earlier."""
    return min(dt.datetime.now(dt.timezone.utc), end_of(until) - dt.timedelta(seconds=1))


def _round_filter(area: str, since: dt.date, until: dt.date, *, level: str | None = None,
                  status: str | None = None, review: str | None = None):
    """(status expression, WHERE conditions) over `calendar_rounds`: rounds under `area` due from
    `since` whose period started by `until`, status at `status_now(until)` (`status.status_at_sql`)."""
    from server.services.calendar import tables
    from server.services.calendar.rounds import STARTED, get_state
    from server.services.calendar.status import status_at_sql

    _indexed()
    r = tables.rounds
    app = current_app._get_current_object()
    state = status_at_sql(r.c.settled, r.c.due_at, status_now(until))
    conds = [r.c.db_name == app.config["PAICHA_DOMAIN_DB"], r.c.due_date >= since, r.c.period_start <= until]
    if area:
        conds.append(scope_clause(r.c.area, (area,)))
    started = get_state(app, STARTED)
    if started:  # a deleted round of a period before the calendar's first tick was never expected
        conds.append(sa.or_(r.c.live == sa.true(), r.c.period_end >= dt.date.fromisoformat(started)))
    if level:
        conds.append(r.c.level == level)
    if status == "not_submitted":
        conds.append(state.in_((OVERDUE, MISSED, MISSING)))
    elif status:
        conds.append(state == status)
    if review == "none":
        conds.extend([r.c.report_id.is_not(None), r.c.review.is_(None)])
    elif review:
        conds.append(r.c.review == review)
    return state, conds


def round_count(area: str, since: dt.date, until: dt.date, **filters) -> int:
    state, conds = _round_filter(area, since, until, **filters)
    from server.services.calendar import tables

    with _engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.rounds).where(*conds)).scalar()


def iter_round_rows(area: str, since: dt.date, until: dt.date, *, offset: int = 0, limit: int | None = None,
                    chunk: int = 2000, **filters):
    """Rounds under `area` due from `since` whose period started by `until`, with the calendar's
    status as of the end of `until` (or now); newest period first, then by area. Read in chunks
    (keyset on the sort key), so an export streams; needs no request context once called."""
    from server.services.calendar import tables
    from server.services.calendar.rounds import area_names as names_of

    r = tables.rounds
    state, conds = _round_filter(area, since, until, **filters)
    app, engine = current_app._get_current_object(), _engine()
    order = (r.c.period_start.desc(), r.c.area, r.c.level, r.c.round_id)
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
            else:
                start, code, level, rid = after
                stmt = stmt.where(sa.or_(r.c.period_start < start, sa.and_(
                    r.c.period_start == start,
                    sa.tuple_(r.c.area, r.c.level, r.c.round_id) > sa.tuple_(code, level, rid))))
            with engine.connect() as conn:
                batch = conn.execute(stmt).all()
            if not batch:
                return
            names = names_of(app, {b.area for b in batch})
            for b in batch:
                yield RoundRow(
                    area=b.area, name=names.get(b.area, ""), level=b.level, round_id=b.round_id, title=b.title,
                    period_start=b.period_start, period_end=b.period_end, due=b.due_date, status=b.status,
                    report_id=b.report_id, submitted_at=as_utc(b.submitted_at), time_used=b.time_used,
                    device_time=as_utc(b.device_time), received_at=as_utc(b.received_at), review=b.review)
            if len(batch) < size:
                return
            last = batch[-1]
            after = (last.period_start, last.area, last.level, last.round_id)
            if left is not None:
                left -= len(batch)

    return rows()


def round_rows(area: str, since: dt.date, until: dt.date, *, offset: int = 0, limit: int | None = MAX_ROWS,
               **filters) -> list[RoundRow]:
    return list(iter_round_rows(area, since, until, offset=offset, limit=limit, **filters))


def status_counts(area: str, since: dt.date, until: dt.date, *, by: str | tuple[str, ...] = "area") -> dict:
    """{key: Counter(status: n)} for the rounds of `_round_filter`, counted in SQL (GROUP BY); `by`
    is a column of calendar_rounds (area, level, due_date), or a tuple of them (tuple keys)."""
    from server.services.calendar import tables

    r = tables.rounds
    state, conds = _round_filter(area, since, until)
    keys = [r.c[b] for b in ((by,) if isinstance(by, str) else by)]
    out: dict = defaultdict(Counter)
    with _engine().connect() as conn:
        for row in conn.execute(sa.select(*keys, state, sa.func.count()).where(*conds).group_by(*keys, state)):
            k = row[0] if isinstance(by, str) else tuple(row[:len(keys)])
            out[k][row[-2]] += row[-1]
    return out


def rollup(by_area: dict[str, Counter], area: str) -> list[dict]:
    """Per township and village under `area` (and the area itself): counts of each status; a
    township's line counts its own rounds plus its villages'."""
    codes = sorted(set(by_area) | {c for c, _, lvl in areas_under(area) if lvl in ("township", "village")})
    names = area_names(codes)
    rolled: dict[str, Counter] = defaultdict(Counter)
    for other, c in by_area.items():
        for prefix in {other[:9], other} if len(other) >= 9 else ():
            rolled[prefix].update(c)
    out = []
    for code in codes:
        if len(code) == 6:
            continue
        counts = rolled.get(code, Counter())
        total = sum(counts.values())
        out.append({"area": code, "name": names.get(code, ""), "level": "township" if len(code) == 9 else "village",
                    "counts": counts, "total": total,
                    "not_submitted": counts[OVERDUE] + counts[MISSED] + counts[MISSING]})
    return out


# -- documents in SQL -------------------------------------------------------------------------------------

def _records(database, doc_type: str, area: str, *extra):
    """WHERE conditions over `ledger_records`: live documents of a type in the handle's database,
    inside its scope and `area` (index ranges, the same prefix rule as the engine's reads)."""
    from server.services.ledger.index import ensure_backfilled
    from server.services.ledger.tables import records

    ensure_backfilled(database.store, database.name)
    d = records.c
    conds = [d.db_name == database.name, d.type == doc_type, d.deleted == sa.false(), *extra]
    for clause in (scope_clause(d.area, database.access.read_prefixes), scope_clause(d.area, (area,)) if area else None):
        if clause is not None:
            conds.append(clause)
    return conds


def open_dispute_matrix(database, area: str) -> dict:
    """Open disputes (registered / mediating / escalated) under `area`, counted by category and risk."""
    from server.services.ledger.tables import records as disputes

    d = disputes.c
    query = (sa.select(d.category, d.risk_level, sa.func.count())
             .where(*_records(database, "dispute", area, d.status.in_(OPEN_DISPUTE))).group_by(d.category, d.risk_level))
    cells: dict[str, Counter] = defaultdict(Counter)
    with database.store.reading() as conn:
        for category, risk, n in conn.execute(query):
            cells[category or "other"][risk or "low"] += n
    return {"cells": cells, "categories": [c for c in CATEGORIES if c in cells],
            "totals": sum((c for c in cells.values()), Counter())}


def dispute_list(database, area: str, *, status: str | None = None, risk: str | None = None,
                 category: str | None = None, open_only: bool = False, key_only: bool = False,
                 offset: int = 0, limit: int = 50) -> list[dict]:
    """One page of disputes under `area` (id order), only the listed fields."""
    from server.services.ledger.tables import records as disputes

    d = disputes.c
    extra = []
    if status:
        extra.append(d.status == status)
    if risk:
        extra.append(d.risk_level == risk)
    if category:
        extra.append(d.category == category)
    if open_only:
        extra.append(d.status.in_(OPEN_DISPUTE))
    if key_only:
        extra.append(d.risk_level.in_(KEY_RISKS))
    query = (sa.select(disputes).where(*_records(database, "dispute", area, *extra))
             .order_by(d.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        return [_fact(r) for r in conn.execute(query)]


def _fact(row) -> dict:
    out = {"id": row.doc_id}
    mapping = row._mapping
    for f in FACT_FIELDS:
        out[f] = mapping.get(f)
    out["one_time_resolution"] = bool(out["one_time_resolution"])
    for f in ("created_at", "accepted_at", "resolved_at"):
        out[f] = as_utc(out[f])
        out[f + "_dt"] = out[f]
    return out


def dispute_facts(database, area: str, since: dt.date | None = None, until: dt.date | None = None,
                  *, key_only: bool = False, open_before: dt.date | None = None) -> list[dict]:
    """The small facts of the disputes under `area` that the figures need (bounded by MAX_ROWS):
    with a window, only those registered or resolved in it (and, with `open_before`, those still
    open that were registered before the end of that day)."""
    from server.services.ledger.tables import records as disputes

    d = disputes.c
    extra = []
    if since is not None and until is not None:
        lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
        window = [sa.and_(d.created_at >= lo, d.created_at < hi), sa.and_(d.resolved_at >= lo, d.resolved_at < hi)]
        if open_before is not None:
            window.append(sa.and_(d.status.in_(OPEN_DISPUTE), d.created_at < as_utc(end_of(open_before))))
        extra.append(sa.or_(*window))
    if key_only:
        extra.append(d.risk_level.in_(KEY_RISKS))
    query = sa.select(disputes).where(*_records(database, "dispute", area, *extra)).order_by(d.doc_id).limit(MAX_ROWS)
    with database.store.reading() as conn:
        return [_fact(r) for r in conn.execute(query)]


def notices(database, area: str, limit: int = 20) -> list[dict]:
    """The latest supervision notices under `area` (newest first)."""
    from server.services.ledger.tables import records

    d = records.c
    query = (sa.select(records).where(*_records(database, "supervision_notice", area))
             .order_by(d.created_at.desc(), d.doc_id).limit(limit))
    with database.store.reading() as conn:
        rows = conn.execute(query).all()
    return [{"id": r.doc_id, "target_area": r.area, "subject": r.summary, "deadline": r.deadline,
             "status": r.status, "created_at": as_utc(r.created_at), "created_by": r.created_by} for r in rows]


# -- devices and visits ----------------------------------------------------------------------------------

def stale_accounts(area: str, days: int) -> list[dict]:
    from server.services.devices import not_synced_since
    from server.core.db import db

    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    out = []
    for account, last in not_synced_since(cutoff):
        if account.scope.startswith(area):
            out.append({"name": account.name, "display_name": account.display_name, "role": account.role,
                        "scope": account.scope, "last_sync": last})
    db.session.rollback()  # no read transaction held on (SQLite writers)
    return out


def coverage(area: str, since: dt.date, until: dt.date) -> list[dict]:
    from server.interfaces.geo_api import coverage as geo_coverage

    with _engine().connect() as conn:
        return geo_coverage(conn, area, since=start_of_day(since), until=end_of(until))


def flagged_visits(area: str, since: dt.date, until: dt.date, limit: int = 50) -> list[dict]:
    from server.interfaces.geo_api import visit_row
    from server.services.geo.tables import visit_checks

    c = visit_checks.c
    stmt = (sa.select(visit_checks).where(c.area.startswith(area), c.flags != "[]",
                                          c.visited_at >= start_of_day(since), c.visited_at < end_of(until))
            .order_by(c.visited_at.desc(), c.visit_id).limit(limit))
    with _engine().connect() as conn:
        return [visit_row(r) for r in conn.execute(stmt)]


def map_data(area: str, since: dt.date, until: dt.date, limit: int = 2000) -> dict:
    """The newest `limit` visit fixes in the window (only what the map draws) and the villages."""
    from server.services.geo.tables import geo_villages, visit_checks

    c = visit_checks.c
    stmt = (sa.select(c.visit_id, c.visitor, c.visited_at, c.lat, c.lon, c.flags)
            .where(c.area.startswith(area), c.visited_at >= start_of_day(since), c.visited_at < end_of(until))
            .order_by(c.visited_at.desc(), c.visit_id).limit(limit))
    with _engine().connect() as conn:
        points = [{"visit_id": v.visit_id, "visitor": v.visitor, "visited_at": fmt_local(v.visited_at),
                   "wgs84": {"lat": v.lat, "lon": v.lon} if v.lat is not None else None,
                   "flags": json.loads(v.flags)} for v in conn.execute(stmt)]
        villages = conn.execute(sa.select(geo_villages.c.code, geo_villages.c.name, geo_villages.c.centre_lat,
                                          geo_villages.c.centre_lon, geo_villages.c.boundary)
                                .where(geo_villages.c.code.startswith(area))
                                .order_by(geo_villages.c.code).limit(MAX_ROWS)).all()
    return {"visits": points, "villages": [
        {"code": v.code, "name": v.name, "centre": (v.centre_lat, v.centre_lon) if v.centre_lat is not None else None,
         "boundary": json.loads(v.boundary) if v.boundary else None} for v in villages]}


def fmt_local(moment: dt.datetime | None) -> str:
    """A stored UTC time as YYYY-MM-DD HH:MM in Asia/Shanghai."""
    moment = as_utc(moment)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


# -- figures ---------------------------------------------------------------------------------------------

def _rate(num: int, den: int) -> float | None:
    return None if not den else num / den


def in_window(moment: dt.datetime | None, since: dt.date, until: dt.date) -> bool:
    return moment is not None and start_of_day(since) <= moment < end_of(until)


def figure_members(facts: list[dict], metric: str, since: dt.date, until: dt.date, *, accept_days: int,
                   resolve_days: int) -> list[tuple[dict, bool]]:
    """The disputes behind a figure: (dispute, counts towards the numerator), for the denominator set.

        timely_acceptance   registered in the window; accepted within `accept_days` of registration
        on_time_resolution  registered in the window; resolved within `resolve_days` of acceptance
        one_time_rate       resolved in the window; resolved at the first attempt
        satisfaction_rate   resolved in the window with a satisfaction recorded; satisfied or basically
    """
    lo, hi = start_of_day(since), end_of(until)
    accept, resolve = dt.timedelta(days=accept_days), dt.timedelta(days=resolve_days)
    out = []
    for f in facts:
        created, accepted, resolved = f["created_at_dt"], f["accepted_at_dt"], f["resolved_at_dt"]
        if metric == "timely_acceptance" and created is not None and lo <= created < hi:
            out.append((f, accepted is not None and accepted - created <= accept))
        elif metric == "on_time_resolution" and created is not None and lo <= created < hi:
            start = accepted or created
            out.append((f, resolved is not None and resolved - start <= resolve))
        elif metric == "one_time_rate" and resolved is not None and lo <= resolved < hi:
            out.append((f, bool(f["one_time_resolution"])))
        elif metric == "satisfaction_rate" and resolved is not None and lo <= resolved < hi and f["satisfaction"]:
            out.append((f, f["satisfaction"] in ("satisfied", "basically")))
    return out


DISPUTE_METRICS = ("timely_acceptance", "on_time_resolution", "one_time_rate", "satisfaction_rate")


def metric_sql(metric: str, since: dt.date, until: dt.date, *, accept_days: int, resolve_days: int):
    """`figure_members` as SQL over ledger_records: (in the denominator, counts in the numerator)."""
    from server.services.ledger.tables import records

    d = records.c
    lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
    created_in = sa.and_(d.created_at.is_not(None), d.created_at >= lo, d.created_at < hi)
    resolved_in = sa.and_(d.resolved_at.is_not(None), d.resolved_at >= lo, d.resolved_at < hi)
    day = 86400 * 10 ** 6
    if metric == "timely_acceptance":
        return created_in, sa.and_(d.accept_us.is_not(None), d.accept_us <= accept_days * day)
    if metric == "on_time_resolution":
        return created_in, sa.and_(d.resolve_us.is_not(None), d.resolve_us <= resolve_days * day)
    if metric == "one_time_rate":
        return resolved_in, d.one_time_resolution == sa.true()
    if metric == "satisfaction_rate":
        return (sa.and_(resolved_in, d.satisfaction.is_not(None), d.satisfaction != ""),
                d.satisfaction.in_(("satisfied", "basically")))
    raise ValueError(metric)


def dispute_figures(database, area: str, since: dt.date, until: dt.date, *, accept_days: int,
                    resolve_days: int) -> dict:
    """{metric: {num, den, rate}}, counted in one SQL statement."""
    from server.services.ledger.tables import records

    columns = []
    for metric in DISPUTE_METRICS:
        den, num = metric_sql(metric, since, until, accept_days=accept_days, resolve_days=resolve_days)
        columns += [sa.func.coalesce(sa.func.sum(sa.case((den, 1), else_=0)), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((sa.and_(den, num), 1), else_=0)), 0)]
    with database.store.reading() as conn:
        row = conn.execute(sa.select(*columns).select_from(records).where(*_records(database, "dispute", area))).one()
    out = {}
    for i, metric in enumerate(DISPUTE_METRICS):
        den, num = int(row[2 * i]), int(row[2 * i + 1])
        out[metric] = {"num": num, "den": den, "rate": _rate(num, den)}
    return out


def dispute_members(database, area: str, metric: str, since: dt.date, until: dt.date, *, accept_days: int,
                    resolve_days: int, offset: int = 0, limit: int = 50) -> list[tuple[dict, bool]]:
    """One page (id order) of the disputes behind a figure, each with whether it counts."""
    from server.services.ledger.tables import records

    den, _ = metric_sql(metric, since, until, accept_days=accept_days, resolve_days=resolve_days)
    query = (sa.select(records).where(*_records(database, "dispute", area, den))
             .order_by(records.c.doc_id).offset(offset).limit(limit))
    with database.store.reading() as conn:
        page = [_fact(r) for r in conn.execute(query)]
    return figure_members(page, metric, since, until, accept_days=accept_days, resolve_days=resolve_days)


def _local_month(column):
    """YYYY-MM of a UTC timestamp column in Asia/Shanghai (UTC+8 all year: no DST since 1991)."""
    if _engine().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


def dispute_months(database, area: str, since: dt.date, until: dt.date) -> dict[str, dict[str, int]]:
    """{month: {"registered": n, "resolved": n}} for the window (Asia/Shanghai months), in SQL."""
    from server.services.ledger.tables import records

    d = records.c
    lo, hi = as_utc(start_of_day(since)), as_utc(end_of(until))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with database.store.reading() as conn:
        for key, column in (("registered", d.created_at), ("resolved", d.resolved_at)):
            month = _local_month(column)
            query = (sa.select(month, sa.func.count())
                     .where(*_records(database, "dispute", area, column >= lo, column < hi)).group_by(month))
            for m, n in conn.execute(query):
                out[m][key] = n
    return out


def figures(database, area: str, since: dt.date, until: dt.date, *, accept_days: int, resolve_days: int) -> dict:
    by_level_due = status_counts(area, since, until, by=("level", "due_date"))
    levels: dict[str, Counter] = defaultdict(Counter)
    for (level, _due), counts in by_level_due.items():
        levels[level].update(counts)
    per_level = {}
    for level, counts in sorted(levels.items()):
        total = sum(n for st, n in counts.items() if st != OPEN)
        submitted = counts[ON_TIME] + counts[LATE]
        per_level[level] = {"total": total, "submitted": submitted, "on_time": counts[ON_TIME],
                            "completion": _rate(submitted, total), "on_time_rate": _rate(counts[ON_TIME], total)}
    metrics = dispute_figures(database, area, since, until, accept_days=accept_days, resolve_days=resolve_days)
    # trend by month (Asia/Shanghai): rounds due that month and their on-time rate; disputes
    # registered and resolved that month
    trend: dict[str, dict] = defaultdict(lambda: {"rounds": 0, "on_time": 0, "registered": 0, "resolved": 0})
    for (_level, due), counts in by_level_due.items():
        m = trend[_as_date(due).strftime("%Y-%m")]
        m["rounds"] += sum(n for st, n in counts.items() if st != OPEN)
        m["on_time"] += counts[ON_TIME]
    for month, counts in dispute_months(database, area, since, until).items():
        for key, n in counts.items():
            trend[month][key] += n
    months = sorted(trend)
    for m in months:
        trend[m]["on_time_rate"] = _rate(trend[m]["on_time"], trend[m]["rounds"])
    return {"levels": per_level, "metrics": metrics, "trend": [(m, trend[m]) for m in months]}


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def parse_day(text: str) -> dt.date | None:
    """A YYYY-MM-DD day the ledger can show (1900 to 2100: a day's bounds, windows and quarters then
    stay inside what datetime handles); None for anything else."""
    if not (len(text) == 10 and text.isascii() and text[4] == text[7] == "-"):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def quarter_bounds(text: str | None) -> tuple[str, dt.date, dt.date]:
    """(label, first day, last day) of the quarter `text` (YYYYQn, 1900 to 2100), or of today's
    when `text` is empty; ValueError for anything else."""
    day = today()
    year, q = day.year, (day.month - 1) // 3 + 1
    if text:
        if not (len(text) == 6 and text.isascii() and text[:4].isdigit() and text[4] in "Qq"
                and text[5] in "1234" and FIRST_YEAR <= int(text[:4]) <= LAST_YEAR):
            raise ValueError(f"not a quarter from {FIRST_YEAR}Q1 to {LAST_YEAR}Q4: {text!r}")
        year, q = int(text[:4]), int(text[5])
    start = dt.date(year, 3 * q - 2, 1)
    end = (dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - dt.timedelta(days=1)
    return f"{year}Q{q}", start, end


__all__ = ["STATUSES", "REVIEW_STATUSES"]
