"""The calendar's read model: every round and every report in two small tables, so a round's status
needs no scan over the documents (a projection, see `server.core.projections`).

    calendar_reports   one row per `screening_report`: its round, the earliest device time seen
                       for it, when the server first received it (the audit trail) and its review
                       state: the status of its latest `report_review`, or `resubmitted` once the
                       report is corrected after being sent back (`server.services.reviews`)
    calendar_rounds    one row per `screening_round`: its dates, and its status once due
                       (`status.settled_status`) with the report that counts; the ledger filters,
                       counts and pages rounds on it in SQL (`status.status_at_sql`)

Kept inside the transaction of each write (`project`), so a report counts from the moment it is
stored, whoever wrote it. A deleted report stops counting; a deleted round shows as missing.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from schemas.vocabulary import RESUBMITTED, SENT_BACK
from server.core import clock
from server.core.models import AuditEntry, as_utc
from server.core.projections import DocumentState, Projection
from server.core.upsert import upsert
from server.services.calendar import tables
from server.services.calendar.periods import CalendarConfig, as_aware, due_instant, parse_timestamp, start_of_day
from server.services.calendar.status import OVERDUE, ReportTimes, settled_status
from server.services.reviews import report_of

REPORT, ROUND, REVIEW = "screening_report", "screening_round", "report_review"
CHUNK = 500


def projection(app: Flask) -> Projection:
    """The projection for `server.core.projections.register_projection`."""
    def index_reports_and_rounds(conn: sa.Connection, db_name: str, states: list[DocumentState]) -> None:
        project(conn, db_name, states, CalendarConfig.from_config(app.config).clock_skew)

    return index_reports_and_rounds


def project(conn: sa.Connection, db_name: str, states: list[DocumentState], skew: dt.timedelta) -> None:
    """Bring both tables up to date with these documents, on the write's connection."""
    incoming: dict[str, dict] = {}  # report id -> its facts
    deleted: dict[str, int] = {}  # deleted document id -> seq
    round_rows: dict[str, dict] = {}
    reviews: dict[str, str | None] = {}  # report id -> review status (None: review deleted)
    for state in states:
        doc = state.body
        if doc is None:
            deleted[state.doc_id] = state.seq
            reviewed = report_of(state.doc_id)
            if reviewed is not None:  # a review deleted (by an administrator): the report shows unreviewed
                reviews[reviewed] = None
        elif doc.get("type") == REPORT and isinstance(doc.get("round_id"), str):
            incoming[state.doc_id] = {
                "round_id": doc["round_id"], "area": str(doc.get("area") or ""), "seq": state.seq,
                "device_time": parse_timestamp(doc.get("submitted_at")) or parse_timestamp(doc.get("created_at")),
            }
        elif doc.get("type") == ROUND:
            row = round_values(db_name, state.doc_id, doc, state.seq)
            if row is not None:
                round_rows[state.doc_id] = row
        elif doc.get("type") == REVIEW and isinstance(doc.get("report_id"), str):
            reviews[doc["report_id"]] = str(doc.get("status") or "")[:20] or None
    affected: set[str] = set(round_rows)
    if incoming or deleted:
        affected |= _index_reports(conn, db_name, incoming, deleted)
    t = tables.reports
    for report_id, review in reviews.items():
        affected.update(conn.execute(
            t.update().where(t.c.db_name == db_name, t.c.doc_id == report_id).values(review=review)
            .returning(t.c.round_id)).scalars())
    if round_rows or deleted or affected:
        _index_rounds(conn, db_name, list(round_rows.values()), deleted, affected, skew)


def _index_reports(conn: sa.Connection, db_name: str, incoming: dict[str, dict], deleted: dict[str, int]) -> set[str]:
    """Upsert the report rows; returns the rounds whose reports changed."""
    t = tables.reports
    ids = sorted(set(incoming) | set(deleted))
    existing, received = {}, {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for row in conn.execute(sa.select(t).where(t.c.db_name == db_name, t.c.doc_id.in_(chunk))):
            existing[row.doc_id] = row
        fresh = [i for i in chunk if i in incoming and i not in existing]
        if fresh:  # first received: the audit trail's first entry (this write's, if it is the first)
            audit = AuditEntry.__table__
            received.update(conn.execute(
                sa.select(audit.c.doc_id, sa.func.min(audit.c.at))
                .where(audit.c.db_name == db_name, audit.c.doc_id.in_(fresh))
                .group_by(audit.c.doc_id)).all())
    affected: set[str] = set()
    rows = []
    for doc_id in ids:
        old = existing.get(doc_id)
        if old is not None:
            affected.add(old.round_id)
        if doc_id in deleted:
            if old is not None and not old.deleted:
                rows.append({**_row_values(old), "deleted": True, "seq": deleted[doc_id]})
            continue
        new = incoming[doc_id]
        affected.add(new["round_id"])
        device_time = new["device_time"]
        if old is not None and old.device_time is not None:
            old_time = as_aware(old.device_time)
            device_time = old_time if device_time is None else min(old_time, device_time)
        received_at = as_aware(old.received_at) if old is not None else as_aware(received.get(doc_id) or clock.now())
        review = old.review if old is not None else None
        if review == SENT_BACK:  # corrected after being sent back: awaiting a new review
            review = RESUBMITTED
        rows.append({"db_name": db_name, "doc_id": doc_id, "round_id": new["round_id"], "area": new["area"],
                     "device_time": as_utc(device_time), "received_at": as_utc(received_at),
                     "deleted": False, "seq": new["seq"], "review": review})
    for start in range(0, len(rows), CHUNK):
        upsert(conn, t, rows[start:start + CHUNK], ("db_name", "doc_id"))
    return affected


def _row_values(row) -> dict:
    return {"db_name": row.db_name, "doc_id": row.doc_id, "round_id": row.round_id, "area": row.area,
            "device_time": as_utc(row.device_time), "received_at": as_utc(row.received_at),
            "deleted": row.deleted, "seq": row.seq, "review": row.review}


def doc_date(doc: dict | None, key: str) -> dt.date | None:
    """A date field of a document (YYYY-MM-DD); None if absent or unreadable."""
    try:
        return dt.date.fromisoformat(doc[key]) if doc and isinstance(doc.get(key), str) else None
    except ValueError:
        return None


def round_values(db_name: str, doc_id: str, doc: dict, seq: int) -> dict | None:
    """A `calendar_rounds` row from a round document (its settled status is filled in later)."""
    start, end, due = (doc_date(doc, k) for k in ("period_start", "period_end", "due_date"))
    if start is None or due is None or not isinstance(doc.get("area"), str):
        return None
    return {"db_name": db_name, "round_id": doc_id, "area": doc["area"][:64], "level": str(doc.get("level") or "")[:20],
            "title": str(doc.get("title") or ""), "period_start": start, "period_end": end or start,
            "due_date": due, "due_at": as_utc(due_instant(due)),
            "created_at": as_utc(parse_timestamp(doc.get("created_at"))),
            "live": True, "settled": OVERDUE, "report_id": None, "submitted_at": None, "time_used": None,
            "device_time": None, "received_at": None, "review": None, "seq": seq}


def _index_rounds(conn: sa.Connection, db_name: str, rows: list[dict], deleted: dict[str, int],
                  affected: set[str], skew: dt.timedelta) -> None:
    """Upsert the round rows, mark deleted rounds, then settle every affected round."""
    r = tables.rounds
    for start in range(0, len(rows), CHUNK):
        upsert(conn, r, rows[start:start + CHUNK], ("db_name", "round_id"))
    gone = sorted(deleted)
    for start in range(0, len(gone), CHUNK):
        chunk = gone[start:start + CHUNK]
        affected.update(conn.execute(r.update().where(r.c.db_name == db_name, r.c.round_id.in_(chunk),
                                                      r.c.live == sa.true())
                                     .values(live=False).returning(r.c.round_id)).scalars())
    settle(conn, db_name, sorted(affected), skew)


def settle(conn: sa.Connection, db_name: str, round_ids: list[str], skew: dt.timedelta) -> None:
    """Recompute the settled status (`status.settled_status`) of these rounds from their reports."""
    r, t = tables.rounds, tables.reports
    fields = ("settled", "report_id", "submitted_at", "time_used", "device_time", "received_at", "review")
    update = (r.update().where(r.c.db_name == sa.bindparam("b_db"), r.c.round_id == sa.bindparam("b_round"))
              .values({f: sa.bindparam(f"b_{f}") for f in fields}))
    for start in range(0, len(round_ids), CHUNK):
        chunk = round_ids[start:start + CHUNK]
        rows = conn.execute(sa.select(r).where(r.c.db_name == db_name, r.c.round_id.in_(chunk))).all()
        if not rows:
            continue
        reports: dict[str, list] = {}
        for rep in conn.execute(sa.select(t).where(t.c.db_name == db_name, t.c.round_id.in_(chunk),
                                                   t.c.deleted == sa.false()).order_by(t.c.doc_id)):
            reports.setdefault(rep.round_id, []).append(rep)
        changed = []
        for row in rows:
            mine = [rep for rep in reports.get(row.round_id, []) if rep.area == row.area]
            status = settled_status(
                due=as_aware(row.due_at), period_start=start_of_day(row.period_start),
                created_at=as_aware(row.created_at) if row.created_at else None,
                reports=[_times(rep) for rep in mine], skew=skew, exists=row.live)
            sub = status.submission
            review = next((rep.review for rep in mine if sub and rep.doc_id == sub.doc_id), None)
            values = {"settled": status.status, "report_id": sub.doc_id if sub else None,
                      "submitted_at": as_utc(sub.at) if sub else None, "time_used": sub.source if sub else None,
                      "device_time": as_utc(sub.device_time) if sub else None,
                      "received_at": as_utc(sub.received_at) if sub else None, "review": review}
            if any(_differs(getattr(row, k), v) for k, v in values.items()):
                changed.append({"b_db": db_name, "b_round": row.round_id, **{f"b_{k}": v for k, v in values.items()}})
        if changed:
            conn.execute(update, changed)  # one executemany per chunk


def _times(rep) -> ReportTimes:
    return ReportTimes(rep.doc_id, as_aware(rep.device_time) if rep.device_time else None, as_aware(rep.received_at))


def _differs(old, new) -> bool:
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return as_aware(old) != as_aware(new)
    return old != new


def reports_for(app: Flask, round_ids: list[str]) -> dict[str, list[tuple[str, ReportTimes]]]:
    """{round_id: [(report area, ReportTimes), ...]} for the live reports of these rounds."""
    t = tables.reports
    db_name = app.config["PAICHA_DOMAIN_DB"]
    out: dict[str, list[tuple[str, ReportTimes]]] = {}
    ids = sorted(set(round_ids))
    with app.extensions["paicha_store"].engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(sa.select(t).where(
                    t.c.db_name == db_name, t.c.round_id.in_(ids[start:start + CHUNK]),
                    t.c.deleted == sa.false()).order_by(t.c.doc_id)):
                out.setdefault(row.round_id, []).append((row.area, _times(row)))
    return out
