"""A matter's stage, deadlines and what is overdue, derived from its steps (pure: no I/O).

Steps count in time order (`at`, then the order the server received them, then id). A step that
breaks what it needs of the matter's earlier steps (`schemas.rules.check_step_context`: one
extension, no self-evaluation, a hearing before 终结) is kept in the trail but does not count: the
server's own writes refuse such a step, a phone's comes by sync and is shown as not counted.

A dispute's own `accepted_at`, and its status resolved or closed with a `resolved_at`, count as
受理 and 办结, its own `satisfaction` as the evaluation (disputes recorded before steps existed);
steps go on from there.

Days are Asia/Shanghai calendar days. A deadline "N days from" a day is that day + N; the deadline's
own day is still on time, the next day is overdue:

    registered  the day of the dispute's created_at, never later than the server received it
    acceptance  due registered + accept_days; overdue when decided (受理 / 不予受理) after it, or
                undecided once it has passed
    handling    due (the 交办 deadline, else accepted + handle_days) + the extension's days;
                久拖不决 once past it while the matter is still handled (not rejected, transferred,
                closed or concluded)
    unit        the responsible unit's acceptance (签收办理): due accept_days after the latest 交办;
                done by the unit's first 办理 or 答复 on or after that day
    reply       due with the handling deadline; overdue when the first reply came after it, or
                there is none and the matter is still handled once it has passed
    finished    the day of the 办结 / 终结 (a legacy dispute's resolved_at) while the matter stays
                closed or concluded; a reopen clears it and is counted
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from schemas.rules import Refusal, check_step_context
from schemas.vocabulary import (EVALUATION_RESULTS, FINISHED_STAGES, STEP_ACCEPT, STEP_ASSIGN, STEP_CLOSE, STEP_CONCLUDE,
                                STEP_EVALUATE, STEP_EXTEND, STEP_HANDLE, STEP_REJECT, STEP_REOPEN, STEP_REPLY,
                                STEP_TRANSFER)

from server.core.clock import SHANGHAI

#: The stage each kind of step moves the matter to (an extension leaves it where it is).
STAGE_AFTER = {STEP_ACCEPT: "accepted", STEP_REJECT: "rejected", STEP_ASSIGN: "assigned",
               STEP_TRANSFER: "transferred", STEP_HANDLE: "handling", STEP_REPLY: "replied",
               STEP_EVALUATE: "evaluated", STEP_CLOSE: "closed", STEP_CONCLUDE: "concluded",
               STEP_REOPEN: "handling"}
_FAR = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
#: A dispute's own status that says it is finished (with its resolved_at), before any step says so.
LEGACY_FINISHED = ("resolved", "closed")


@dataclass(frozen=True)
class Terms:
    accept_days: int = 15
    handle_days: int = 60
    extend_max_days: int = 30


@dataclass(frozen=True)
class Life:
    stage: str
    registered_on: dt.date
    accept_due: dt.date
    decided_on: dt.date | None = None  # the first 受理 or 不予受理
    accepted_on: dt.date | None = None
    handle_due: dt.date | None = None
    extended_days: int = 0
    replied_on: dt.date | None = None  # the first reply's date
    evaluation: str | None = None  # the latest counted evaluation's result
    finished_on: dt.date | None = None  # the day of the 办结 / 终结 that finished it (None once reopened)
    reopened: int = 0  # counted reopens
    unit_due: dt.date | None = None  # the latest 交办's day + accept_days: the unit's own acceptance deadline
    unit_acted_on: dt.date | None = None  # the unit's first 办理 or 答复 since that 交办
    # every step in time order, with why it does not count (None: it counts)
    trail: tuple[tuple[Mapping[str, Any], Refusal | None], ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED_STAGES


@dataclass(frozen=True)
class Overdue:
    accept: bool
    handle: bool  # 久拖不决
    reply: bool

    @property
    def any(self) -> bool:
        return self.accept or self.handle or self.reply


def day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def moment(text: Any) -> dt.datetime | None:
    """A document's timestamp as an aware datetime (Shanghai wall time if it has no offset)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def in_order(steps: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Time order: `at`, then `_seq` (the order the server received them), then `_id`."""
    return sorted(steps, key=lambda s: (moment(s.get("at")) or _FAR, s.get("_seq") or 0, s.get("_id") or ""))


def registered_on(created_at: Any, received: dt.datetime | None) -> dt.date:
    """The registration day: the dispute's created_at, never later than its receipt by the server (a
    phone's clock set ahead does not push the deadlines back)."""
    days = [day(m) for m in (moment(created_at), received) if m is not None]
    return min(days) if days else day(dt.datetime.now(dt.timezone.utc))


def derive(matter: Mapping[str, Any], registered: dt.date, steps: list[Mapping[str, Any]], terms: Terms) -> Life:
    """The matter's life from its steps (any order; the deleted ones left out by the caller)."""
    stage, decided, accepted, assign_due, extended, replied, evaluation = "registered", None, None, None, 0, None, None
    # A dispute recorded before its life was kept in steps (or by a client that sets these fields
    # itself) counts its own acceptance and resolution: its steps, if any, go on from there.
    legacy_accepted = moment(matter.get("accepted_at"))
    if legacy_accepted is not None:
        stage, decided, accepted = "accepted", day(legacy_accepted), day(legacy_accepted)
    finished_on, reopened = None, 0
    assigned_on, unit_acted = None, None
    if matter.get("satisfaction") in EVALUATION_RESULTS:
        evaluation = matter["satisfaction"]  # a legacy dispute's own satisfaction, as its evaluation
    legacy_resolved = moment(matter.get("resolved_at"))
    if matter.get("status") in LEGACY_FINISHED and legacy_resolved is not None:
        stage, finished_on = "closed", day(legacy_resolved)
    counted: list[Mapping[str, Any]] = []
    trail = []
    for step in in_order(steps):
        refusal = check_step_context(step, matter, counted, extend_max_days=terms.extend_max_days)
        trail.append((step, refusal))
        if refusal:
            continue
        counted.append(step)
        kind = step.get("kind")
        when = moment(step.get("at"))
        stage = STAGE_AFTER.get(kind, stage)
        if kind in (STEP_ACCEPT, STEP_REJECT) and decided is None and when:
            decided = day(when)
        if kind == STEP_ACCEPT and accepted is None and when:
            accepted = day(when)
        if kind == STEP_ASSIGN and _date(step.get("deadline")):
            assign_due = _date(step.get("deadline"))
        if kind == STEP_ASSIGN and when:
            assigned_on, unit_acted = day(when), None  # a new assignment: the unit's clock starts again
        if kind in (STEP_HANDLE, STEP_REPLY) and assigned_on and unit_acted is None and when:
            unit_acted = max(day(when), assigned_on)
        if kind == STEP_EXTEND and isinstance(step.get("days"), int):
            extended += step["days"]
        if kind == STEP_REPLY and replied is None:
            replied = _date(step.get("date")) or (day(when) if when else None)
        if kind == STEP_EVALUATE:
            evaluation = step.get("result")
        if kind in (STEP_CLOSE, STEP_CONCLUDE) and when:
            finished_on = day(when)
        if kind == STEP_REOPEN:
            finished_on, reopened = None, reopened + 1
    base = assign_due or (accepted + dt.timedelta(days=terms.handle_days) if accepted else None)
    return Life(stage=stage, registered_on=registered,
                accept_due=registered + dt.timedelta(days=terms.accept_days), decided_on=decided,
                accepted_on=accepted, handle_due=base + dt.timedelta(days=extended) if base else None,
                extended_days=extended, replied_on=replied, evaluation=evaluation, finished_on=finished_on,
                reopened=reopened, trail=tuple(trail),
                unit_due=assigned_on + dt.timedelta(days=terms.accept_days) if assigned_on else None,
                unit_acted_on=unit_acted)


def overdue(life: Life, today: dt.date) -> Overdue:
    """What is overdue on `today` (an Asia/Shanghai day: `server.core.clock.today()`)."""
    accept = life.decided_on > life.accept_due if life.decided_on else today > life.accept_due
    due = life.handle_due
    handle = due is not None and not life.finished and today > due
    if due is None:
        reply = False
    elif life.replied_on is not None:
        reply = life.replied_on > due
    else:
        reply = not life.finished and today > due
    return Overdue(accept=accept, handle=handle, reply=reply)
