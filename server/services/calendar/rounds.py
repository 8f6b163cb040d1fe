"""The calendar's work against the store: create rounds, index reports, derive status, remind.

One `tick(app, now)` does everything and is idempotent: run it twice, or in two processes at once,
and the store ends the same. Rounds and reminders have deterministic ids (see `periods`); before
writing, the tick looks the ids up and writes only what is missing, and a write that still meets an
existing document (another process got there first) is a `conflict`, counted as "already there".
A round (or reminder) an administrator deleted is never re-created.

Catch-up: `calendar_state` keeps the last date a tick covered. The next tick creates every round
whose period overlaps [that date, today], so rounds whose periods passed while the server was down
are created too; if they were already past due when created, their status is `missed` (derived from
the round's `created_at` vs. its due instant; the title says so too) and they get no reminders.

The server writes only `screening_round` and `reminder` documents, never a device's document.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa
from flask import Flask

import schemas
from sync.changes import ChangesOptions

from server.core.models import as_utc
from server.services.calendar import tables
from server.services.calendar.periods import (
    ESCALATES,
    CalendarConfig,
    PlannedRound,
    as_aware,
    due_instant,
    local_date,
    parent_area,
    parse_timestamp,
    planned_rounds,
    reminder_id,
    stamp,
    start_of_day,
)
from server.services.calendar.status import (
    OVERDUE,
    ReportTimes,
    RoundStatus,
    generated_late,
    reminders_due,
    round_status,
    settled_status,
)

log = logging.getLogger(__name__)

SERVER_ACCOUNT = "server"
WRITE_CHUNK = 200
CHANGES_BATCH = 1000
LOOKUP_CHUNK = 500
WATERMARK = "generated_through"  # the last date (Asia/Shanghai) a tick covered
STARTED = "started_on"  # the first date the first tick covered: rounds before it were never planned
REPORTS_SEQ = "reports_seq:"  # + db name: the report index's changes checkpoint

# One tick at a time in a process (embedded scheduler, CLI). Also held across fork() by the
# embedded scheduler so a forked worker never inherits a lock taken mid-tick (see scheduler.py).
TICK_LOCK = threading.RLock()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def calendar_config(app: Flask) -> CalendarConfig:
    return CalendarConfig.from_config(app.config)


# -- results -------------------------------------------------------------------------------------


@dataclass
class WriteSummary:
    created: list[str] = field(default_factory=list)
    existing: int = 0  # already there (looked up, or a conflict from a concurrent writer)
    skipped_deleted: int = 0  # deleted by an administrator: not re-created
    errors: list[dict] = field(default_factory=list)


@dataclass
class TickSummary:
    now: dt.datetime
    first: dt.date
    last: dt.date
    rounds: WriteSummary
    reminders: WriteSummary
    reports_indexed: int = 0
    missed: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[dict]:
        return self.rounds.errors + self.reminders.errors

    def line(self) -> str:
        return (f"calendar {self.first}..{self.last}: {len(self.rounds.created)} rounds created "
                f"({len(self.missed)} missed), {self.rounds.existing} already there; "
                f"{len(self.reminders.created)} reminders; {self.reports_indexed} reports indexed"
                + (f"; {len(self.errors)} errors" if self.errors else ""))


# -- store access --------------------------------------------------------------------------------


def _engine(app: Flask) -> sa.Engine:
    return app.extensions["paicha_store"].engine


def _domain(app: Flask):
    from server.core.access import server_access

    store = app.extensions["paicha_store"]
    name = app.config["PAICHA_DOMAIN_DB"]
    return store.open(name, server_access(app, SERVER_ACCOUNT))


def areas_by_level(app: Flask, prefix: str = "") -> dict[str, list[str]]:
    from server.core.models import Area

    out: dict[str, list[str]] = {}
    with _engine(app).connect() as conn:
        stmt = sa.select(Area.code, Area.level).order_by(Area.code)
        if prefix:
            stmt = stmt.where(Area.code.startswith(prefix))
        for code, level in conn.execute(stmt):
            out.setdefault(level, []).append(code)
    return out


def area_names(app: Flask, codes: Iterable[str]) -> dict[str, str]:
    from server.core.models import Area

    codes = sorted(set(codes))
    out = {}
    with _engine(app).connect() as conn:
        for start in range(0, len(codes), LOOKUP_CHUNK):
            out.update(conn.execute(sa.select(Area.code, Area.name).where(
                Area.code.in_(codes[start:start + LOOKUP_CHUNK]))).all())
    return out


def lookup(database, ids: list[str]) -> dict[str, dict | None]:
    """{id: current doc} for ids that exist, {id: None} for deleted ones; absent ids are left out."""
    found: dict[str, dict | None] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        _, rows, _ = database.all_docs(keys=ids[start:start + LOOKUP_CHUNK], include_docs=True)
        for row in rows:
            if "error" in row:
                continue
            found[row["id"]] = None if row["value"].get("deleted") else row["doc"]
    return found


def write_missing(database, docs: list[dict]) -> WriteSummary:
    """Write the documents whose ids do not exist yet (never over a deletion); a conflict means a
    concurrent writer created it first, which is just as good."""
    summary = WriteSummary()
    if not docs:
        return summary
    known = lookup(database, [d["_id"] for d in docs])
    fresh = []
    for doc in docs:
        if doc["_id"] not in known:
            fresh.append(doc)
        elif known[doc["_id"]] is None:
            summary.skipped_deleted += 1
        else:
            summary.existing += 1
    for start in range(0, len(fresh), WRITE_CHUNK):
        chunk = fresh[start:start + WRITE_CHUNK]
        for doc, result in zip(chunk, database.bulk_docs(chunk)):
            if "error" not in result:
                summary.created.append(doc["_id"])
            elif result["error"] == "conflict":
                summary.existing += 1
            else:
                summary.errors.append(result)
                log.error("calendar: %s refused: %s %s", doc["_id"], result.get("error"), result.get("reason"))
    return summary


# -- state ---------------------------------------------------------------------------------------


def get_state(app: Flask, key: str) -> str | None:
    with _engine(app).connect() as conn:
        return conn.execute(sa.select(tables.state.c.value).where(tables.state.c.key == key)).scalar()


def _raise_state(conn: sa.Connection, key: str, value: str, newer) -> None:
    """Set `key` to `value` unless the stored value is already newer (`newer(old, value)`)."""
    old = conn.execute(sa.select(tables.state.c.value).where(tables.state.c.key == key)
                       .with_for_update()).scalar()
    if old is None:
        conn.execute(_upsert(conn, tables.state, {"key": key, "value": value}, ["key"]))
    elif not newer(old, value):
        conn.execute(tables.state.update().where(tables.state.c.key == key).values(value=value))


def raise_watermark(app: Flask, day: dt.date, first: dt.date) -> None:
    store = app.extensions["paicha_store"]
    with store.writing() as conn:
        _raise_state(conn, WATERMARK, day.isoformat(), lambda old, new: old >= new)
        _raise_state(conn, STARTED, first.isoformat(), lambda old, new: old <= new)


def _upsert(conn: sa.Connection, table: sa.Table, values: dict | list[dict], keys: list[str]):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise NotImplementedError(conn.dialect.name)
    stmt = insert(table).values(values)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


# -- rounds --------------------------------------------------------------------------------------


def _schema_has(doc_type: str, name: str) -> bool:
    return name in schemas.load_schema(doc_type).get("properties", {})


def round_document(planned: PlannedRound, now: dt.datetime) -> dict:
    late = generated_late(now, planned.due_instant)
    doc = {
        "_id": planned.id,
        "type": "screening_round",
        "area": planned.area,
        "created_by": SERVER_ACCOUNT,
        "created_at": stamp(now),
        "level": planned.level,
        "period_start": planned.period.start.isoformat(),
        "period_end": planned.period.end.isoformat(),
        "due_date": planned.due_date.isoformat(),
        "round_key": planned.key,
        "title": planned.title + ("（系统补建，创建时已过截止日期）" if late else ""),
    }
    if late and _schema_has("screening_round", "generated_late"):
        doc["generated_late"] = True
    return doc


def ensure_rounds(app: Flask, first: dt.date, last: dt.date, now: dt.datetime,
                  area_prefix: str = "") -> tuple[WriteSummary, list[str]]:
    """Create every round of the calendar whose period overlaps [first, last]. Returns the write
    summary and the ids of the rounds created already past due (missed)."""
    config = calendar_config(app)
    planned = planned_rounds(config, areas_by_level(app, area_prefix), first, last)
    docs = [round_document(p, now) for p in planned]
    summary = write_missing(_domain(app), docs)
    created = set(summary.created)
    missed = [p.id for p in planned if p.id in created and generated_late(now, p.due_instant)]
    return summary, missed


# -- the report index ----------------------------------------------------------------------------


def index_reports(app: Flask, now: dt.datetime | None = None) -> int:
    """Bring `calendar_reports` up to date from the domain database's changes feed (checkpointed),
    with each report's first receive time from the audit trail. Returns how many report rows changed."""
    now = as_aware(now or utcnow())
    database = _domain(app)
    db_name = app.config["PAICHA_DOMAIN_DB"]
    key = REPORTS_SEQ + db_name
    since = int(get_state(app, key) or 0)
    changed = 0
    while True:
        entries, last_seq, pending = [], since, 0
        for event in database.changes(ChangesOptions(since=since, include_docs=True, limit=CHANGES_BATCH)):
            if event[0] == "change":
                entries.append(event[1])
            elif event[0] == "last_seq":
                last_seq, pending = int(event[1]), event[2]
        changed += _index_batch(app, db_name, entries, last_seq, now)
        if not entries or not pending or last_seq <= since:
            return changed
        since = last_seq


def _index_batch(app: Flask, db_name: str, entries: list[dict], last_seq: int, now: dt.datetime) -> int:
    """Index one batch of changes: reports (`calendar_reports`), rounds and their settled status
    (`calendar_rounds`), review statuses; all in one transaction with the checkpoint."""
    from server.core.models import AuditEntry

    incoming: dict[str, dict] = {}
    deleted: dict[str, int] = {}
    round_docs: dict[str, dict] = {}
    reviews: dict[str, str | None] = {}  # report id -> review status (None: review deleted)
    for entry in entries:
        doc = entry.get("doc") or {}
        if entry.get("deleted"):
            deleted[entry["id"]] = entry["seq"]
            if entry["id"].startswith(REVIEW_PREFIX):
                reviews[entry["id"][len(REVIEW_PREFIX):]] = None
        elif doc.get("type") == "screening_report" and isinstance(doc.get("round_id"), str):
            incoming[entry["id"]] = {
                "round_id": doc["round_id"], "area": str(doc.get("area") or ""), "seq": entry["seq"],
                "device_time": parse_timestamp(doc.get("submitted_at")) or parse_timestamp(doc.get("created_at")),
            }
        elif doc.get("type") == "screening_round":
            row = _round_values(db_name, entry["id"], doc, entry["seq"])
            if row is not None:
                round_docs[entry["id"]] = row
        elif doc.get("type") == "report_review" and isinstance(doc.get("report_id"), str):
            reviews[doc["report_id"]] = str(doc.get("status") or "")[:20] or None
    ids = sorted(set(incoming) | set(deleted))
    t = tables.reports
    store = app.extensions["paicha_store"]
    affected: set[str] = set(round_docs)
    with store.writing() as conn:
        existing = {}
        received = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start:start + LOOKUP_CHUNK]
            for row in conn.execute(sa.select(t).where(t.c.db_name == db_name, t.c.doc_id.in_(chunk))
                                    .with_for_update()):
                existing[row.doc_id] = row
            fresh = [i for i in chunk if i in incoming and i not in existing]
            if fresh:
                audit = AuditEntry.__table__
                received.update(conn.execute(
                    sa.select(audit.c.doc_id, sa.func.min(audit.c.at))
                    .where(audit.c.db_name == db_name, audit.c.doc_id.in_(fresh))
                    .group_by(audit.c.doc_id)).all())
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
            received_at = as_aware(old.received_at) if old is not None else as_aware(received.get(doc_id) or now)
            rows.append({"db_name": db_name, "doc_id": doc_id, "round_id": new["round_id"], "area": new["area"],
                         "device_time": as_utc(device_time), "received_at": as_utc(received_at),
                         "deleted": False, "seq": new["seq"], "review": old.review if old is not None else None})
        for start in range(0, len(rows), LOOKUP_CHUNK):
            conn.execute(_upsert(conn, t, rows[start:start + LOOKUP_CHUNK], ["db_name", "doc_id"]))
        for report_id, review in reviews.items():
            affected.update(conn.execute(
                t.update().where(t.c.db_name == db_name, t.c.doc_id == report_id).values(review=review)
                .returning(t.c.round_id)).scalars())
        _index_rounds(conn, db_name, list(round_docs.values()), deleted, affected, calendar_config(app).clock_skew)
        _raise_state(conn, REPORTS_SEQ + db_name, str(last_seq), lambda old, new: int(old) >= int(new))
    return len(rows)


REVIEW_PREFIX = "review-"  # a report's review has the deterministic id review-<report id>


def _round_values(db_name: str, doc_id: str, doc: dict, seq: int) -> dict | None:
    """A `calendar_rounds` row from a round document (its settled status is filled in later)."""
    start, end, due = (_doc_date(doc, k) for k in ("period_start", "period_end", "due_date"))
    if start is None or due is None or not isinstance(doc.get("area"), str):
        return None
    return {"db_name": db_name, "round_id": doc_id, "area": doc["area"][:64], "level": str(doc.get("level") or "")[:20],
            "title": str(doc.get("title") or ""), "period_start": start, "period_end": end or start,
            "due_date": due, "due_at": as_utc(due_instant(due)), "created_at": as_utc(parse_timestamp(doc.get("created_at"))),
            "live": True, "settled": OVERDUE, "report_id": None, "submitted_at": None, "time_used": None,
            "device_time": None, "received_at": None, "review": None, "seq": seq}


def _index_rounds(conn: sa.Connection, db_name: str, docs: list[dict], deleted: dict[str, int],
                  affected: set[str], skew: dt.timedelta) -> None:
    """Upsert the round rows, mark deleted rounds, then settle every affected round."""
    r = tables.rounds
    for start in range(0, len(docs), LOOKUP_CHUNK):
        conn.execute(_upsert(conn, r, docs[start:start + LOOKUP_CHUNK], ["db_name", "round_id"]))
    gone = sorted(deleted)
    for start in range(0, len(gone), LOOKUP_CHUNK):
        chunk = gone[start:start + LOOKUP_CHUNK]
        affected.update(conn.execute(r.update().where(r.c.db_name == db_name, r.c.round_id.in_(chunk))
                                     .values(live=False).returning(r.c.round_id)).scalars())
    settle(conn, db_name, sorted(affected), skew)


def settle(conn: sa.Connection, db_name: str, round_ids: list[str], skew: dt.timedelta) -> None:
    """Recompute the settled status (`status.settled_status`) of these rounds from their reports."""
    r, t = tables.rounds, tables.reports
    fields = ("settled", "report_id", "submitted_at", "time_used", "device_time", "received_at", "review")
    update = (r.update().where(r.c.db_name == sa.bindparam("b_db"), r.c.round_id == sa.bindparam("b_round"))
              .values({f: sa.bindparam(f"b_{f}") for f in fields}))
    for start in range(0, len(round_ids), LOOKUP_CHUNK):
        chunk = round_ids[start:start + LOOKUP_CHUNK]
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
                reports=[ReportTimes(rep.doc_id, as_aware(rep.device_time) if rep.device_time else None,
                                     as_aware(rep.received_at)) for rep in mine],
                skew=skew, exists=row.live)
            sub = status.submission
            review = next((rep.review for rep in mine if sub and rep.doc_id == sub.doc_id), None)
            values = {"settled": status.status, "report_id": sub.doc_id if sub else None,
                      "submitted_at": as_utc(sub.at) if sub else None, "time_used": sub.source if sub else None,
                      "device_time": as_utc(sub.device_time) if sub else None,
                      "received_at": as_utc(sub.received_at) if sub else None, "review": review}
            current = {k: getattr(row, k) for k in values}
            if any(_differs(current[k], v) for k, v in values.items()):
                changed.append({"b_db": db_name, "b_round": row.round_id, **{f"b_{k}": v for k, v in values.items()}})
        if changed:
            conn.execute(update, changed)  # one executemany per chunk


def _differs(old, new) -> bool:
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return as_aware(old) != as_aware(new)
    return old != new


def _row_values(row) -> dict:
    return {"db_name": row.db_name, "doc_id": row.doc_id, "round_id": row.round_id, "area": row.area,
            "device_time": as_utc(row.device_time), "received_at": as_utc(row.received_at),
            "deleted": row.deleted, "seq": row.seq, "review": row.review}


def reports_for(app: Flask, round_ids: list[str]) -> dict[str, list[tuple[str, ReportTimes]]]:
    """{round_id: [(report area, ReportTimes), ...]} for live reports in the index."""
    t = tables.reports
    db_name = app.config["PAICHA_DOMAIN_DB"]
    out: dict[str, list[tuple[str, ReportTimes]]] = {}
    ids = sorted(set(round_ids))
    with _engine(app).connect() as conn:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            for row in conn.execute(sa.select(t).where(
                    t.c.db_name == db_name, t.c.round_id.in_(ids[start:start + LOOKUP_CHUNK]),
                    t.c.deleted == sa.false()).order_by(t.c.doc_id)):
                times = ReportTimes(row.doc_id, as_aware(row.device_time) if row.device_time else None,
                                    as_aware(row.received_at))
                out.setdefault(row.round_id, []).append((row.area, times))
    return out


# -- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundState:
    planned: PlannedRound
    doc: dict | None  # None: no round document (missing, or deleted)
    status: RoundStatus

    @property
    def due_date(self) -> dt.date:
        """The due date the round document carries (what the phone shows), else the calendar's."""
        return _doc_date(self.doc, "due_date") or self.planned.due_date

    @property
    def period_start(self) -> dt.date:
        return _doc_date(self.doc, "period_start") or self.planned.period.start


def _doc_date(doc: dict | None, key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(doc[key]) if doc and isinstance(doc.get(key), str) else None
    except ValueError:
        return None


def round_states(app: Flask, planned: list[PlannedRound], now: dt.datetime) -> list[RoundState]:
    """The status of each planned round at `now` (run `index_reports` first for fresh reports).
    A round document's own dates win over the calendar's (the configuration may have changed
    since it was issued; the cadre was told the document's)."""
    config = calendar_config(app)
    database = _domain(app)
    docs = lookup(database, [p.id for p in planned])
    reports = reports_for(app, [p.id for p in planned])
    out = []
    for p in planned:
        doc = docs.get(p.id)
        mine = [times for area, times in reports.get(p.id, []) if area == p.area]
        due = _doc_date(doc, "due_date") or p.due_date
        start = _doc_date(doc, "period_start") or p.period.start
        status = round_status(
            due=due_instant(due), period_start=start_of_day(start),
            created_at=parse_timestamp(doc.get("created_at")) if doc else None,
            reports=mine, now=now, skew=config.clock_skew, exists=doc is not None,
        )
        out.append(RoundState(p, doc, status))
    return out


def planned_due_between(app: Flask, first_due: dt.date, last_due: dt.date,
                        area_prefix: str = "", started_by: dt.date | None = None) -> list[PlannedRound]:
    """Planned rounds with a due date in [first_due, last_due] (and a period started by `started_by`)."""
    config = calendar_config(app)
    longest_due = max((r.due_days for r in config.rules), default=0)
    last_start = last_due if started_by is None else min(last_due, started_by)
    planned = planned_rounds(config, areas_by_level(app, area_prefix),
                             first_due - dt.timedelta(days=longest_due), last_start)
    return [p for p in planned if first_due <= p.due_date <= last_due and p.period.start <= last_start]


# -- reminders -----------------------------------------------------------------------------------


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def reminder_document(state: RoundState, kind: str, now: dt.datetime, names: dict[str, str],
                      days_overdue: int) -> dict:
    p, due = state.planned, state.due_date
    title = (state.doc or {}).get("title") or p.title
    if kind == "escalated":
        target = parent_area(p.area)
        who = f"{names.get(p.area, p.area)}（{p.area}）"
        message = (f"{who}{title}已逾期 {days_overdue} 天仍未提交（截止 {_md(due)}），"
                   f"请督促落实。")
    elif kind == "overdue":
        target = p.area
        message = f"{title}已于 {_md(due)} 截止，尚未收到报告，请尽快提交（无矛盾纠纷请提交零报告）。"
    else:
        target = p.area
        message = f"{title}将于 {_md(due)} 截止，请按时提交（无矛盾纠纷请提交零报告）。"
    return {
        "_id": reminder_id(p.id, kind),
        "type": "reminder",
        "area": target,
        "target_area": target,
        "created_by": SERVER_ACCOUNT,
        "created_at": stamp(now),
        "round_id": p.id,
        "kind": kind,
        "due_date": due.isoformat(),
        "message": message,
    }


def send_reminders(app: Flask, now: dt.datetime, since: dt.date) -> WriteSummary:
    """Write the reminders due at `now` for rounds due from `since` (minus the escalation delay) up to
    the due-soon horizon. Only rounds that exist get reminders."""
    config = calendar_config(app)
    today = local_date(now)
    first_due = since - dt.timedelta(days=config.escalate_after_days + 1)
    last_due = today + dt.timedelta(days=config.remind_days_before)
    states = [s for s in round_states(app, planned_due_between(app, first_due, last_due), now) if s.doc]
    names = area_names(app, [s.planned.area for s in states])
    docs = []
    for s in states:
        plan = reminders_due(s.status, due=due_instant(s.due_date), now=now,
                             remind_days_before=config.remind_days_before,
                             escalate_after_days=config.escalate_after_days,
                             can_escalate=ESCALATES[s.planned.level] and parent_area(s.planned.area) is not None)
        for kind in plan.kinds():
            docs.append(reminder_document(s, kind, now, names, s.status.days_overdue(now)))
    return write_missing(_domain(app), docs)


# -- the tick ------------------------------------------------------------------------------------


def tick(app: Flask, now: dt.datetime | None = None) -> TickSummary:
    """Everything the calendar does at `now` (default: the clock), idempotently: create the rounds
    of every period from the last covered date (or PAICHA_CALENDAR_START, or today) to today,
    update the report index, write due-soon / overdue / escalation reminders."""
    now = as_aware(now or utcnow())
    today = local_date(now)
    with TICK_LOCK, app.app_context():
        config = calendar_config(app)
        mark = get_state(app, WATERMARK)
        if mark:
            first = min(dt.date.fromisoformat(mark), today)
        else:
            first = min(config.start, today) if config.start else today
        rounds, missed = ensure_rounds(app, first, today, now)
        indexed = index_reports(app, now)
        reminders = send_reminders(app, now, first)
        if not rounds.errors:
            raise_watermark(app, today, first)
        summary = TickSummary(now=now, first=first, last=today, rounds=rounds, reminders=reminders,
                              reports_indexed=indexed, missed=missed)
    log.info("%s", summary.line())
    return summary


def generate(app: Flask, until: dt.date, first: dt.date | None = None,
             now: dt.datetime | None = None, area_prefix: str = "") -> TickSummary:
    """Backfill: create the rounds of every period overlapping [first, until] (idempotent). `first`
    defaults to PAICHA_CALENDAR_START, else the tick's last covered date, else `until`. Rounds
    already past due at `now` are marked missed. Does not move the tick's watermark."""
    now = as_aware(now or utcnow())
    with TICK_LOCK, app.app_context():
        config = calendar_config(app)
        if first is None:
            mark = get_state(app, WATERMARK)
            first = config.start or (dt.date.fromisoformat(mark) if mark else until)
        first = min(first, until)
        rounds, missed = ensure_rounds(app, first, until, now, area_prefix)
        summary = TickSummary(now=now, first=first, last=until, rounds=rounds, reminders=WriteSummary(),
                              missed=missed)
    log.info("%s", summary.line())
    return summary


def status_report(app: Flask, *, day: dt.date, since: dt.date, now: dt.datetime | None = None,
                  area_prefix: str = "") -> list[RoundState]:
    """The rounds due from `since` whose period started by `day`, with their status at `now`
    (default: the end of `day`, or the clock if that is earlier). Rounds of periods that ended
    before the calendar's first tick are left out unless they exist (backfilled)."""
    if now is None:
        now = min(utcnow(), start_of_day(day + dt.timedelta(days=1)) - dt.timedelta(seconds=1))
    now = as_aware(now)
    with app.app_context():
        index_reports(app, now)
        planned = planned_due_between(app, since, dt.date.max, area_prefix, started_by=day)
        planned.sort(key=lambda p: (p.area, p.level, p.period.start))
        states = round_states(app, planned, now)
        started = get_state(app, STARTED)
        if started:
            started_on = dt.date.fromisoformat(started)
            states = [s for s in states if s.doc is not None or s.planned.period.end >= started_on]
        return states
