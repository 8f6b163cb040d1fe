"""Reminders: "due soon" and "overdue" to the round's area, and an escalation to the area above it
once a round is overdue for PAICHA_ESCALATE_AFTER_DAYS. Each is a `reminder` document with a
deterministic id (`periods.reminder_id`), written once (`documents.write_missing`); which are due
is `status.reminders_due`."""
from __future__ import annotations

import datetime as dt

from flask import Flask

from schemas.areas import AreaCode

from server.services.calendar.documents import SERVER_ACCOUNT, WriteSummary, domain_database, write_missing
from server.services.calendar.periods import (ESCALATES, CalendarConfig, due_instant, local_date, month_day,
                                              reminder_id, stamp)
from server.services.calendar.status import reminders_due
from server.services.calendar.tracking import RoundState, area_names, planned_due_between, round_states


def reminder_document(state: RoundState, kind: str, now: dt.datetime, names: dict[str, str],
                      days_overdue: int) -> dict:
    p, due = state.planned, state.due_date
    title = (state.doc or {}).get("title") or p.title
    if kind == "escalated":
        target = AreaCode(p.area).parent
        who = f"{names.get(p.area, p.area)}（{p.area}）"
        message = (f"{who}{title}已逾期 {days_overdue} 天仍未提交（截止 {month_day(due)}），"
                   f"请督促落实。")
    elif kind == "overdue":
        target = p.area
        message = f"{title}已于 {month_day(due)} 截止，尚未收到报告，请尽快提交（无矛盾纠纷请提交零报告）。"
    else:
        target = p.area
        message = f"{title}将于 {month_day(due)} 截止，请按时提交（无矛盾纠纷请提交零报告）。"
    target = str(target)
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
    config = CalendarConfig.from_config(app.config)
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
                             can_escalate=ESCALATES[s.planned.level] and AreaCode(s.planned.area).parent is not None)
        for kind in plan.kinds():
            docs.append(reminder_document(s, kind, now, names, s.status.days_overdue(now)))
    return write_missing(domain_database(app), docs)
