"""The ledger's reads. Round status comes from the calendar (`server.calendar.rounds.status_report`),
visit coverage and flags from `server.geo.ledger`, stale devices from `server.devices`; documents are
read through the viewer's user-bound store handle (the engine limits every read to their scope).

Aggregates over documents (open disputes by category and risk, dispute lists and figures) run in SQL
on the winning revision's JSON, restricted to the viewer's scope and the requested area by the same
index ranges the changes feed uses (`sync.database.scope_clause`), and always with a LIMIT.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from sync.database import scope_clause
from sync.tables import documents, revisions

from ..auth import Principal
from ..calendar.periods import SHANGHAI, local_date, parse_timestamp, stamp, start_of_day
from ..calendar.status import LATE, MISSED, MISSING, ON_TIME, OPEN, OVERDUE, STATUSES

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
    from ..calendar.rounds import area_names as names

    return names(current_app._get_current_object(), codes)


def areas_under(area: str, level: str | None = None) -> list[tuple[str, str, str]]:
    from ..models import Area

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


def round_rows(area: str, since: dt.date, until: dt.date, *, level: str | None = None,
               status: str | None = None) -> list[RoundRow]:
    """Rounds under `area` due from `since` whose period started by `until`, with the calendar's
    status as of the end of `until` (or now). Newest period first, then by area."""
    from ..calendar.rounds import status_report

    app = current_app._get_current_object()
    states = status_report(app, day=until, since=since, area_prefix=area)
    names = area_names([s.planned.area for s in states])
    rows = []
    for s in states:
        p, st = s.planned, s.status
        if level and p.level != level:
            continue
        if status and st.status != status and not (status == "not_submitted" and st.status in (OVERDUE, MISSED, MISSING)):
            continue
        sub = st.submission
        rows.append(RoundRow(
            area=p.area, name=names.get(p.area, ""), level=p.level, round_id=p.id,
            title=(s.doc or {}).get("title") or p.title, period_start=s.period_start, period_end=p.period.end,
            due=s.due_date, status=st.status, report_id=sub.doc_id if sub else None,
            submitted_at=sub.at if sub else None, time_used=sub.source if sub else None,
            device_time=sub.device_time if sub else None, received_at=sub.received_at if sub else None))
        if len(rows) >= MAX_ROWS:
            break
    rows.sort(key=lambda r: (-r.period_start.toordinal(), r.area, r.level))
    return rows


def attach_reviews(database, rows: list[RoundRow]) -> None:
    """Each row's review status (the deterministic review document of its report), via the handle."""
    ids = [review_id(r.report_id) for r in rows if r.report_id]
    found = {}
    for start in range(0, len(ids), 500):
        _, result, _ = database.all_docs(keys=ids[start:start + 500], include_docs=True)
        for row in result:
            doc = row.get("doc")
            if doc and not row.get("value", {}).get("deleted"):
                found[row["id"]] = doc.get("status")
    for r in rows:
        if r.report_id:
            r.review = found.get(review_id(r.report_id))


def status_counts(rows: list[RoundRow], key=lambda r: r.area) -> dict[str, Counter]:
    out: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        out[key(r)][r.status] += 1
    return out


def rollup(rows: list[RoundRow], area: str) -> list[dict]:
    """Per township and village under `area` (and the area itself): counts of each status; a
    township's line counts its own rounds plus its villages'."""
    by_area = status_counts(rows)
    codes = sorted({r.area for r in rows} | {c for c, _, lvl in areas_under(area) if lvl in ("township", "village")})
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

def json_text(column, key: str):
    """A top-level field of a JSON text column, as text, on SQLite and PostgreSQL."""
    if _engine().dialect.name == "postgresql":
        return sa.cast(column, postgresql.JSONB).op("->>")(key)
    return sa.func.json_extract(column, f"$.{key}")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def docs_select(database, doc_type: str, area: str, fields: tuple[str, ...]):
    """SELECT doc_id, scope and the given JSON fields of live documents of a type, inside the handle's
    scope and `area` (both index ranges on (db, scope, ...))."""
    joined = documents.join(revisions, sa.and_(
        revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
        revisions.c.rev == documents.c.winning_rev))
    columns = [documents.c.doc_id, documents.c.scope] + [json_text(revisions.c.body, f).label(f) for f in fields]
    stmt = (sa.select(*columns).select_from(joined)
            .where(documents.c.db_id == database.id, documents.c.deleted == sa.false(),
                   revisions.c.body.like(f'%"type":%"{_like(doc_type)}"%', escape="\\"),
                   json_text(revisions.c.body, "type") == doc_type))
    for clause in (scope_clause(documents.c.scope, database.access.read_prefixes),
                   scope_clause(documents.c.scope, (area,)) if area else None):
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def open_dispute_matrix(database, area: str) -> dict:
    """Open disputes (registered / mediating / escalated) under `area`, counted by category and risk."""
    stmt = docs_select(database, "dispute", area, ("category", "risk_level", "status")).subquery()
    query = (sa.select(stmt.c.category, stmt.c.risk_level, sa.func.count())
             .where(stmt.c.status.in_(OPEN_DISPUTE)).group_by(stmt.c.category, stmt.c.risk_level))
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
    sub = docs_select(database, "dispute", area, FACT_FIELDS).subquery()
    query = sa.select(sub)
    if status:
        query = query.where(sub.c.status == status)
    if risk:
        query = query.where(sub.c.risk_level == risk)
    if category:
        query = query.where(sub.c.category == category)
    if open_only:
        query = query.where(sub.c.status.in_(OPEN_DISPUTE))
    if key_only:
        query = query.where(sub.c.risk_level.in_(KEY_RISKS))
    query = query.order_by(sub.c.doc_id).offset(offset).limit(limit)
    with database.store.reading() as conn:
        return [_fact(r) for r in conn.execute(query)]


def _fact(row) -> dict:
    out = {"id": row.doc_id}
    for f in FACT_FIELDS:
        out[f] = getattr(row, f)
    one = out["one_time_resolution"]
    out["one_time_resolution"] = one in (True, 1, "1", "true")
    for f in ("created_at", "accepted_at", "resolved_at"):
        out[f + "_dt"] = parse_timestamp(out[f]) if out[f] else None
    return out


def dispute_facts(database, area: str) -> list[dict]:
    """The small facts of every dispute under `area` that the figures need (bounded by MAX_ROWS)."""
    sub = docs_select(database, "dispute", area, FACT_FIELDS).subquery()
    with database.store.reading() as conn:
        return [_fact(r) for r in conn.execute(sa.select(sub).order_by(sub.c.doc_id).limit(MAX_ROWS))]


def notices(database, area: str, limit: int = 20) -> list[dict]:
    sub = docs_select(database, "supervision_notice", area,
                      ("target_area", "subject", "deadline", "status", "created_at", "created_by")).subquery()
    with database.store.reading() as conn:
        rows = conn.execute(sa.select(sub).order_by(sub.c.created_at.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


# -- devices and visits ----------------------------------------------------------------------------------

def stale_accounts(area: str, days: int) -> list[dict]:
    from ..devices import not_synced_since
    from ..extensions import db

    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    out = []
    for account, last in not_synced_since(cutoff):
        if account.scope.startswith(area):
            out.append({"name": account.name, "display_name": account.display_name, "role": account.role,
                        "scope": account.scope, "last_sync": last})
    db.session.rollback()  # no read transaction held on (SQLite writers)
    return out


def coverage(area: str, since: dt.date, until: dt.date) -> list[dict]:
    from ..geo.ledger import coverage as geo_coverage

    with _engine().connect() as conn:
        return geo_coverage(conn, area, since=start_of_day(since), until=end_of(until))


def flagged_visits(area: str, since: dt.date, until: dt.date, limit: int = 50) -> list[dict]:
    from ..geo.ledger import visit_row
    from ..geo.tables import visit_checks

    c = visit_checks.c
    stmt = (sa.select(visit_checks).where(c.area.startswith(area), c.flags != "[]",
                                          c.visited_at >= start_of_day(since), c.visited_at < end_of(until))
            .order_by(c.visited_at.desc(), c.visit_id).limit(limit))
    with _engine().connect() as conn:
        return [visit_row(r) for r in conn.execute(stmt)]


def map_data(area: str, since: dt.date, until: dt.date, limit: int = 2000) -> dict:
    from ..geo.ledger import visits
    from ..geo.tables import geo_villages

    with _engine().connect() as conn:
        points = visits(conn, area, since=start_of_day(since), until=end_of(until), limit=limit)
        villages = conn.execute(sa.select(geo_villages).where(geo_villages.c.code.startswith(area))
                                .order_by(geo_villages.c.code).limit(MAX_ROWS)).all()
    return {"visits": points, "villages": [
        {"code": v.code, "name": v.name, "centre": (v.centre_lat, v.centre_lon) if v.centre_lat is not None else None,
         "boundary": json.loads(v.boundary) if v.boundary else None} for v in villages]}


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
    out = []
    for f in facts:
        created, accepted, resolved = f["created_at_dt"], f["accepted_at_dt"], f["resolved_at_dt"]
        if metric == "timely_acceptance" and in_window(created, since, until):
            ok = accepted is not None and accepted - created <= dt.timedelta(days=accept_days)
            out.append((f, ok))
        elif metric == "on_time_resolution" and in_window(created, since, until):
            start = accepted or created
            ok = resolved is not None and resolved - start <= dt.timedelta(days=resolve_days)
            out.append((f, ok))
        elif metric == "one_time_rate" and in_window(resolved, since, until):
            out.append((f, bool(f["one_time_resolution"])))
        elif metric == "satisfaction_rate" and in_window(resolved, since, until) and f["satisfaction"]:
            out.append((f, f["satisfaction"] in ("satisfied", "basically")))
    return out


DISPUTE_METRICS = ("timely_acceptance", "on_time_resolution", "one_time_rate", "satisfaction_rate")


def figures(database, area: str, since: dt.date, until: dt.date, *, accept_days: int, resolve_days: int) -> dict:
    rows = round_rows(area, since, until)
    per_level = {}
    for level in sorted({r.level for r in rows}):
        mine = [r for r in rows if r.level == level and r.status != OPEN]
        submitted = sum(1 for r in mine if r.status in (ON_TIME, LATE))
        on_time = sum(1 for r in mine if r.status == ON_TIME)
        per_level[level] = {"total": len(mine), "submitted": submitted, "on_time": on_time,
                            "completion": _rate(submitted, len(mine)), "on_time_rate": _rate(on_time, len(mine))}
    facts = dispute_facts(database, area)
    metrics = {}
    for metric in DISPUTE_METRICS:
        members = figure_members(facts, metric, since, until, accept_days=accept_days, resolve_days=resolve_days)
        num = sum(1 for _, ok in members if ok)
        metrics[metric] = {"num": num, "den": len(members), "rate": _rate(num, len(members))}
    # trend by month (Asia/Shanghai): rounds due that month and their on-time rate; disputes
    # registered and resolved that month
    trend: dict[str, dict] = defaultdict(lambda: {"rounds": 0, "on_time": 0, "registered": 0, "resolved": 0})
    for r in rows:
        if r.status != OPEN:
            m = trend[r.due.strftime("%Y-%m")]
            m["rounds"] += 1
            m["on_time"] += r.status == ON_TIME
    for f in facts:
        if in_window(f["created_at_dt"], since, until):
            trend[f["created_at_dt"].astimezone(SHANGHAI).strftime("%Y-%m")]["registered"] += 1
        if in_window(f["resolved_at_dt"], since, until):
            trend[f["resolved_at_dt"].astimezone(SHANGHAI).strftime("%Y-%m")]["resolved"] += 1
    months = sorted(trend)
    for m in months:
        trend[m]["on_time_rate"] = _rate(trend[m]["on_time"], trend[m]["rounds"])
    return {"levels": per_level, "metrics": metrics, "trend": [(m, trend[m]) for m in months]}


def quarter_bounds(text: str | None) -> tuple[str, dt.date, dt.date]:
    day = today()
    year, q = day.year, (day.month - 1) // 3 + 1
    if text and len(text) == 6 and text[:4].isdigit() and text[4] in "Qq" and text[5] in "1234":
        year, q = int(text[:4]), int(text[5])
    start = dt.date(year, 3 * q - 2, 1)
    end = (dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - dt.timedelta(days=1)
    return f"{year}Q{q}", start, end


__all__ = ["STATUSES", "REVIEW_STATUSES"]
