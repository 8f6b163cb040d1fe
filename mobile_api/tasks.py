"""The field app's to-do list: rounds still waiting for a report, and overdue reminders.

Derived on each request from the documents the caller may read (rounds and reminders come from the
server's calendar, reports from the phones), with the calendar's own rules for when a round is due,
overdue or missed (`server.services.calendar.status`). A round counts as reported once a live
`screening_report` of the round's own area names it; its reminders then drop off the list too.
"""
from __future__ import annotations

import datetime as dt

from server.services.calendar.periods import (
    due_instant,
    local_date,
    parse_round_id,
    parse_timestamp,
    start_of_day,
)
from server.services.calendar.matter_reminders import overdue_steps
from server.services.calendar.status import round_status

from mobile_api import queries

MENTIONS_CHUNK = 100
REMINDER_KINDS = ("overdue", "escalated")


def _date(doc: dict, key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(doc[key]) if isinstance(doc.get(key), str) else None
    except ValueError:
        return None


def reported(database, round_ids: list[str]) -> set[tuple[str, str]]:
    """(round id, area) of every live report naming one of these rounds."""
    out: set[tuple[str, str]] = set()
    wanted = set(round_ids)
    ids = sorted(wanted)
    for start in range(0, len(ids), MENTIONS_CHUNK):
        chunk = ids[start:start + MENTIONS_CHUNK]
        for doc in queries.all_of_type(database, "screening_report", mentions=chunk,
                                       keep=lambda d: d.get("round_id") in wanted):
            out.add((doc["round_id"], doc.get("area")))
    return out


def open_rounds(database, now: dt.datetime, lookback_days: int) -> list[dict]:
    """Rounds whose period has started, due at most `lookback_days` ago, with no report yet."""
    today = local_date(now)
    oldest = today - dt.timedelta(days=lookback_days)

    def current(doc: dict) -> bool:
        start, due = _date(doc, "period_start"), _date(doc, "due_date")
        return start is not None and due is not None and start <= today and due >= oldest

    rounds = queries.all_of_type(database, "screening_round", keep=current)
    done = reported(database, [r["_id"] for r in rounds])
    out = []
    for doc in rounds:
        if (doc["_id"], doc.get("area")) in done:
            continue
        due = _date(doc, "due_date")
        status = round_status(due=due_instant(due), period_start=start_of_day(_date(doc, "period_start")),
                              created_at=parse_timestamp(doc.get("created_at")), reports=[], now=now)
        out.append({"doc": doc, "status": status.status, "days_overdue": status.days_overdue(now)})
    out.sort(key=lambda r: (r["doc"]["due_date"], r["doc"].get("area", ""), r["doc"]["_id"]))
    return out


def overdue_reminders(database, now: dt.datetime, lookback_days: int) -> list[dict]:
    """Overdue and escalation reminders of the last `lookback_days` whose round is still unreported."""
    oldest = local_date(now) - dt.timedelta(days=lookback_days)

    def recent(doc: dict) -> bool:
        when = _date(doc, "due_date") or (parse_timestamp(doc.get("created_at")) or now).date()
        return doc.get("kind") in REMINDER_KINDS and when >= oldest and "matter_id" not in doc

    reminders = queries.all_of_type(database, "reminder", keep=recent)
    rounds = sorted({r["round_id"] for r in reminders if isinstance(r.get("round_id"), str)})
    done = reported(database, rounds)

    def answered(round_id) -> bool:
        parsed = parse_round_id(round_id) if isinstance(round_id, str) else None
        if parsed is None:  # not a calendar id: any report naming it will do
            return any(rid == round_id for rid, _ in done)
        return (round_id, parsed[1]) in done

    live = [r for r in reminders if not answered(r.get("round_id"))]
    live.sort(key=lambda r: (r.get("created_at") or "", r["_id"]), reverse=True)
    return live


def matter_reminders(database, db_name: str, now: dt.datetime, lookback_days: int) -> list[dict]:
    """Reminders about matters (an acceptance, handling or reply overdue) whose step is still pending:
    once the step is done, its reminder drops off the list."""
    oldest = local_date(now) - dt.timedelta(days=lookback_days)

    def recent(doc: dict) -> bool:
        when = _date(doc, "due_date") or (parse_timestamp(doc.get("created_at")) or now).date()
        return "matter_id" in doc and doc.get("kind") in REMINDER_KINDS and when >= oldest

    reminders = queries.all_of_type(database, "reminder", keep=recent)
    if not reminders:
        return []
    with database.store.reading() as conn:
        pending = {(matter_id, step) for matter_id, _area, step, _number, _due
                   in overdue_steps(conn, db_name, local_date(now), sorted({r["matter_id"] for r in reminders}))}
    live = [r for r in reminders if (r["matter_id"], r.get("step")) in pending]
    live.sort(key=lambda r: (r.get("due_date") or "", r["_id"]))
    return live
