"""Whether a round was submitted on time: derived, never stored in a document a phone edits.

A round's status at a moment `now`, from the round (its due date, when the server created it) and the
reports made for it (their device time and the time the server received them):

    on_time   a report was made before the round's due instant (end of the due date, Asia/Shanghai)
    late      the first report was made after it
    open      no report yet, and the round is not due yet
    overdue   no report, past due, and the round was issued in time
    missed    no report, past due, and the round was only created after its due instant (the server
              was down or the calendar was backfilled): nobody could have seen it in time
    missing   (`flask rounds status` only) the calendar expects the round but there is no document

When was a report made? Offline work counts when it was done, not when it synced, so the device's
own time (`submitted_at`, else `created_at`) is used, unless the device clock is evidently wrong:

    * device time later than the receive time (+ a tolerance for clock skew, default 10 minutes):
      the device's clock is ahead -> the receive time is used;
    * device time before the round's period started (a phone whose clock reset to 2000-01-01 after
      the battery ran flat, or a typo): absurdly early -> the receive time is used.

Between those bounds the device time is trusted (a phone that is a few hours slow cannot be told
apart from one that was offline). The receive time is the server's clock when it first accepted the
report (the audit trail), so it is always an upper bound. Both times are shown by
`flask rounds status`, with which one was used.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.services.calendar.periods import as_aware

ON_TIME, LATE, OPEN, OVERDUE, MISSED, MISSING = "on_time", "late", "open", "overdue", "missed", "missing"
STATUSES = (ON_TIME, LATE, OPEN, OVERDUE, MISSED, MISSING)

DEVICE = "device"
RECEIVE_NO_DEVICE_TIME = "receive (no device time)"
RECEIVE_CLOCK_AHEAD = "receive (device clock ahead)"
RECEIVE_CLOCK_EARLY = "receive (device clock before the period)"


@dataclass(frozen=True)
class ReportTimes:
    doc_id: str
    device_time: dt.datetime | None  # submitted_at (or created_at) as the device stamped it
    received_at: dt.datetime  # when the server first accepted the report


@dataclass(frozen=True)
class Submission:
    doc_id: str
    at: dt.datetime  # the time that counts
    source: str  # DEVICE or one of the RECEIVE_* reasons
    device_time: dt.datetime | None
    received_at: dt.datetime


@dataclass(frozen=True)
class RoundStatus:
    status: str
    submission: Submission | None = None  # the report that counts (the earliest)
    overdue_since: dt.datetime | None = None  # the due instant, when overdue / missed / late

    def days_overdue(self, now: dt.datetime) -> int:
        if self.overdue_since is None or self.status not in (OVERDUE, MISSED):
            return 0
        return max(0, (as_aware(now) - self.overdue_since).days)


def submission_time(report: ReportTimes, period_start: dt.datetime,
                    skew: dt.timedelta = dt.timedelta(minutes=10)) -> Submission:
    """The moment a report counts as made, with the wrong-clock rule (see the module docstring)."""
    received = as_aware(report.received_at)
    device = as_aware(report.device_time) if report.device_time is not None else None
    if device is None:
        at, source = received, RECEIVE_NO_DEVICE_TIME
    elif device > received + skew:
        at, source = received, RECEIVE_CLOCK_AHEAD
    elif device < as_aware(period_start):
        at, source = received, RECEIVE_CLOCK_EARLY
    else:
        at, source = device, DEVICE
    return Submission(report.doc_id, at, source, device, received)


def round_status(*, due: dt.datetime, period_start: dt.datetime, created_at: dt.datetime | None,
                 reports: list[ReportTimes], now: dt.datetime,
                 skew: dt.timedelta = dt.timedelta(minutes=10), exists: bool = True) -> RoundStatus:
    """The status of one round at `now`. `due` is the due instant (first overdue moment),
    `created_at` when the server created the round document (None: unknown, taken as in time).

    Computed in two steps, so the ledger can keep the first in a table and do the second in SQL:
    `settled_status` (everything but the clock) and `status_at` (what `now` changes: a round with no
    report is only open, not overdue / missed, before its due instant)."""
    settled = settled_status(due=due, period_start=period_start, created_at=created_at, reports=reports,
                             skew=skew, exists=exists)
    return status_at(settled, due, now)


def settled_status(*, due: dt.datetime, period_start: dt.datetime, created_at: dt.datetime | None,
                   reports: list[ReportTimes], skew: dt.timedelta = dt.timedelta(minutes=10),
                   exists: bool = True) -> RoundStatus:
    """The status once the round is due: on_time / late (the earliest report), missing, missed or
    overdue. Does not depend on the clock."""
    due = as_aware(due)
    if reports:
        first = min((submission_time(r, period_start, skew) for r in reports), key=lambda s: (s.at, s.doc_id))
        if first.at < due:
            return RoundStatus(ON_TIME, first)
        return RoundStatus(LATE, first, overdue_since=due)
    if not exists:
        return RoundStatus(MISSING)
    if generated_late(created_at, due):
        return RoundStatus(MISSED, overdue_since=due)
    return RoundStatus(OVERDUE, overdue_since=due)


def status_at(settled: RoundStatus, due: dt.datetime, now: dt.datetime) -> RoundStatus:
    """The status at `now` of a round whose settled status is `settled` (`status_at_sql` is the same
    rule as an SQL expression)."""
    if settled.status in (OVERDUE, MISSED) and as_aware(now) < as_aware(due):
        return RoundStatus(OPEN)
    return settled


def status_at_sql(settled, due, now: dt.datetime):
    """`status_at` as an SQL expression over a settled-status column and a due-instant column (UTC)."""
    import sqlalchemy as sa

    now_utc = as_aware(now).astimezone(dt.timezone.utc)
    return sa.case((sa.and_(settled.in_((OVERDUE, MISSED)), due > now_utc), sa.literal(OPEN)), else_=settled)


def generated_late(created_at: dt.datetime | None, due: dt.datetime) -> bool:
    """A round the server created only after it was due (downtime, backfill): marked missed."""
    return created_at is not None and as_aware(created_at) >= as_aware(due)


@dataclass(frozen=True)
class ReminderPlan:
    due_soon: bool = False
    overdue: bool = False
    escalated: bool = False

    def kinds(self) -> list[str]:
        return [k for k in ("due_soon", "overdue", "escalated") if getattr(self, k)]


def reminders_due(status: RoundStatus, *, due: dt.datetime, now: dt.datetime, remind_days_before: int,
                  escalate_after_days: int, can_escalate: bool) -> ReminderPlan:
    """Which reminders a round should have at `now` (each is written once, by deterministic id):

    * due_soon   no report, and `now` is within `remind_days_before` days before the due instant
                 (only while that is true: a server that was down through the window does not send
                 a stale "due soon" for a round that is already overdue);
    * overdue    no report and past due (not for `missed` rounds: nobody had them in time);
    * escalated  overdue for `escalate_after_days` days: a reminder to the parent area.
    """
    now, due = as_aware(now), as_aware(due)
    if status.status == OPEN:
        return ReminderPlan(due_soon=now >= due - dt.timedelta(days=remind_days_before))
    if status.status == OVERDUE:
        return ReminderPlan(overdue=True,
                            escalated=can_escalate and now >= due + dt.timedelta(days=escalate_after_days))
    return ReminderPlan()
