"""Where each round the calendar expects stands at a moment: its document (if any), the reports the
index holds for it, and its status (`status.round_status`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask

from server.core import areas, clock
from server.services.calendar.documents import domain_database, lookup
from server.services.calendar.periods import (
    CalendarConfig,
    PlannedRound,
    as_aware,
    due_instant,
    parse_timestamp,
    planned_rounds,
    start_of_day,
)
from server.services.calendar.report_index import doc_date, reports_for
from server.services.calendar.state import started_on
from server.services.calendar.status import RoundStatus, round_status


@dataclass(frozen=True)
class RoundState:
    planned: PlannedRound
    doc: dict | None  # None: no round document (missing, or deleted)
    status: RoundStatus

    @property
    def due_date(self) -> dt.date:
        """The due date the round document carries (what the phone shows), else the calendar's."""
        return doc_date(self.doc, "due_date") or self.planned.due_date

    @property
    def period_start(self) -> dt.date:
        return doc_date(self.doc, "period_start") or self.planned.period.start


def areas_by_level(app: Flask, prefix: str = "") -> dict[str, list[str]]:
    with app.extensions["paicha_store"].engine.connect() as conn:
        return areas.by_level(conn, prefix)


def area_names(app: Flask, codes) -> dict[str, str]:
    with app.extensions["paicha_store"].engine.connect() as conn:
        return areas.names(conn, codes)


def round_states(app: Flask, planned: list[PlannedRound], now: dt.datetime) -> list[RoundState]:
    """The status of each planned round at `now`. A round document's own dates win over the
    calendar's (the configuration may have changed since it was issued; the cadre was told the
    document's)."""
    config = CalendarConfig.from_config(app.config)
    docs = lookup(domain_database(app), [p.id for p in planned])
    reports = reports_for(app, [p.id for p in planned])
    out = []
    for p in planned:
        doc = docs.get(p.id)
        mine = [times for area, times in reports.get(p.id, []) if area == p.area]
        due = doc_date(doc, "due_date") or p.due_date
        start = doc_date(doc, "period_start") or p.period.start
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
    config = CalendarConfig.from_config(app.config)
    longest_due = max((r.due_days for r in config.rules), default=0)
    last_start = last_due if started_by is None else min(last_due, started_by)
    planned = planned_rounds(config, areas_by_level(app, area_prefix),
                             first_due - dt.timedelta(days=longest_due), last_start)
    return [p for p in planned if first_due <= p.due_date <= last_due and p.period.start <= last_start]


def status_report(app: Flask, *, day: dt.date, since: dt.date, now: dt.datetime | None = None,
                  area_prefix: str = "") -> list[RoundState]:
    """The rounds due from `since` whose period started by `day`, with their status at `now`
    (default: the end of `day`, or the clock if that is earlier). Rounds of periods that ended
    before the calendar's first tick are left out unless they exist (backfilled)."""
    if now is None:
        now = min(clock.now(), start_of_day(day + dt.timedelta(days=1)) - dt.timedelta(seconds=1))
    now = as_aware(now)
    with app.app_context():
        planned = planned_due_between(app, since, dt.date.max, area_prefix, started_by=day)
        planned.sort(key=lambda p: (p.area, p.level, p.period.start))
        states = round_states(app, planned, now)
        first = started_on(app)
        if first:
            states = [s for s in states if s.doc is not None or s.planned.period.end >= first]
        return states
