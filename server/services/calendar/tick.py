"""The calendar's job: one `tick(app, now)` creates the rounds due by now and writes the reminders due
(about rounds, and about matters whose acceptance, handling or reply is overdue).

Idempotent: run it twice, or in two processes at once, and the store ends the same (the documents
have deterministic ids and are written once, see `documents`). The reports need no tick: the report
index follows every write (`report_index`).

Catch-up: `calendar_state` keeps the last date a tick covered. The next tick creates every round
whose period overlaps [that date, today], so rounds whose periods passed while the server was down
are created too; if they were already past due when created, their status is `missed` (derived from
the round's `created_at` vs. its due instant; the title says so too) and they get no reminders.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field

from flask import Flask

from server.core import clock
from server.services.calendar.documents import WriteSummary
from server.services.calendar.periods import CalendarConfig, as_aware, local_date
from server.services.calendar.matter_reminders import send_matter_reminders
from server.services.calendar.reminders import send_reminders
from server.services.calendar.rounds import ensure_rounds
from server.services.calendar.state import WATERMARK, get_state, raise_watermark

log = logging.getLogger(__name__)

# One tick at a time in a process (embedded scheduler, CLI). Also held across fork() by the
# embedded scheduler so a forked worker never inherits a lock taken mid-tick (see scheduler.py).
TICK_LOCK = threading.RLock()


@dataclass
class TickSummary:
    now: dt.datetime
    first: dt.date
    last: dt.date
    rounds: WriteSummary
    reminders: WriteSummary
    missed: list[str] = field(default_factory=list)
    matter_reminders: WriteSummary = field(default_factory=WriteSummary)

    @property
    def errors(self) -> list[dict]:
        return self.rounds.errors + self.reminders.errors + self.matter_reminders.errors

    def line(self) -> str:
        return (f"calendar {self.first}..{self.last}: {len(self.rounds.created)} rounds created "
                f"({len(self.missed)} missed), {self.rounds.existing} already there; "
                f"{len(self.reminders.created)} reminders, {len(self.matter_reminders.created)} about matters"
                + (f"; {len(self.errors)} errors" if self.errors else ""))


def tick(app: Flask, now: dt.datetime | None = None) -> TickSummary:
    """Everything the calendar does at `now` (default: the clock), idempotently: create the rounds
    of every period from the last covered date (or PAICHA_CALENDAR_START, or today) to today, and
    write due-soon / overdue / escalation reminders."""
    now = as_aware(now or clock.now())
    today = local_date(now)
    with TICK_LOCK, app.app_context():
        config = CalendarConfig.from_config(app.config)
        mark = get_state(app, WATERMARK)
        if mark:
            first = min(dt.date.fromisoformat(mark), today)
        else:
            first = min(config.start, today) if config.start else today
        rounds, missed = ensure_rounds(app, first, today, now)
        reminders = send_reminders(app, now, first)
        matter_reminders = send_matter_reminders(app, now)
        if not rounds.errors:
            raise_watermark(app, today, first)
        summary = TickSummary(now=now, first=first, last=today, rounds=rounds, reminders=reminders, missed=missed,
                              matter_reminders=matter_reminders)
    log.info("%s", summary.line())
    return summary


def generate(app: Flask, until: dt.date, first: dt.date | None = None,
             now: dt.datetime | None = None, area_prefix: str = "") -> TickSummary:
    """Backfill: create the rounds of every period overlapping [first, until] (idempotent). `first`
    defaults to PAICHA_CALENDAR_START, else the tick's last covered date, else `until`. Rounds
    already past due at `now` are marked missed. Does not move the tick's watermark."""
    now = as_aware(now or clock.now())
    with TICK_LOCK, app.app_context():
        config = CalendarConfig.from_config(app.config)
        if first is None:
            mark = get_state(app, WATERMARK)
            first = config.start or (dt.date.fromisoformat(mark) if mark else until)
        first = min(first, until)
        rounds, missed = ensure_rounds(app, first, until, now, area_prefix)
        summary = TickSummary(now=now, first=first, last=until, rounds=rounds, reminders=WriteSummary(),
                              missed=missed)
    log.info("%s", summary.line())
    return summary
