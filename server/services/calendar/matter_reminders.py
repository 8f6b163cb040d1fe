"""Reminders about matters: an acceptance, a handling (久拖不决) or a reply whose deadline has passed
gets an "overdue" reminder to the matter's area, which reaches every phone that holds the matter
(its village's cadres, its township's staff); once overdue for PAICHA_ESCALATE_AFTER_DAYS, an
"escalated" one to the area above, as for an overdue round. Each is a `reminder` document with a
deterministic id, written once by the tick (`documents.write_missing`); what is overdue is the
matters' read model (`server.services.matters`), by the same rules as the ledger shows.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from schemas.areas import AreaCode

from server.services.calendar.documents import SERVER_ACCOUNT, WriteSummary, domain_database, write_missing
from server.services.calendar.periods import CalendarConfig, local_date, month_day, stamp
from server.services.matters.queries import pending_overdue
from server.services.matters.tables import numbers, states

WORDS = {"accept": "受理", "handle": "办理", "reply": "答复"}
MAX_MATTERS = 5000  # per tick: the oldest overdue first; the next tick takes the rest


def reminder_id(matter_id: str, step: str, kind: str) -> str:
    return f"reminder-matter-{matter_id}-{step}-{kind}"


def overdue_steps(conn, db_name: str, today: dt.date,
                  matter_ids: list[str] | None = None) -> list[tuple[str, str, str, str | None, dt.date]]:
    """(matter id, its area, step, registration number, due day) of every step still pending and
    past its deadline on `today`: undecided past the acceptance deadline; unfinished past the
    handling deadline; no reply and unfinished past it (a late reply already given is shown in the
    ledger, not reminded). `matter_ids`: only these matters."""
    m, n = states.c, numbers.c
    out = []
    for step, clause in pending_overdue(today).items():
        due = m.accept_due if step == "accept" else m.handle_due
        query = (sa.select(m.doc_id, m.area, n.number, due)
                 .select_from(states.outerjoin(numbers, sa.and_(n.db_name == m.db_name, n.doc_id == m.doc_id)))
                 .where(m.db_name == db_name, m.stage.not_in(("rejected", "transferred")), clause,
                        *([m.doc_id.in_(matter_ids)] if matter_ids is not None else []))
                 .order_by(due, m.doc_id).limit(MAX_MATTERS))
        out.extend((doc_id, area, step, number, due_day) for doc_id, area, number, due_day in conn.execute(query))
    return out


def reminder_document(matter_id: str, area: str, step: str, number: str | None, due: dt.date, kind: str,
                      today: dt.date, now: dt.datetime) -> dict:
    label = f"矛盾纠纷（登记编号 {number}）" if number else f"矛盾纠纷 {matter_id}"
    late = (today - due).days
    if kind == "escalated":
        target = str(AreaCode(area).parent)
        message = f"{area} 的{label}{WORDS[step]}期限 {month_day(due)} 已过 {late} 天仍未{WORDS[step]}，请督促落实。"
    else:
        target = area
        message = f"{label}{WORDS[step]}期限 {month_day(due)} 已过，尚未{WORDS[step]}，请尽快办理。"
    return {"_id": reminder_id(matter_id, step, kind), "type": "reminder", "area": target, "target_area": target,
            "created_by": SERVER_ACCOUNT, "created_at": stamp(now), "matter_id": matter_id, "step": step,
            "kind": kind, "due_date": due.isoformat(), "message": message}


def send_matter_reminders(app: Flask, now: dt.datetime) -> WriteSummary:
    config = CalendarConfig.from_config(app.config)
    today = local_date(now)
    database = domain_database(app)
    with database.store.reading() as conn:
        found = overdue_steps(conn, app.config["PAICHA_DOMAIN_DB"], today)
    docs = []
    for matter_id, area, step, number, due in found:
        docs.append(reminder_document(matter_id, area, step, number, due, "overdue", today, now))
        parent = AreaCode(area).parent if len(area) > 6 else None
        if parent is not None and (today - due).days > config.escalate_after_days:
            docs.append(reminder_document(matter_id, area, step, number, due, "escalated", today, now))
    return write_missing(database, docs)
