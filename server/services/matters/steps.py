"""The server's writes of a matter's steps (the ledger's forms, the field app's API): a `matter_step`
document in the matter's area, through the user-bound store with `server.services.records`, so the
write rules (`schemas.rules`: the kind for the role, the scope, create only) decide exactly as for
a phone. Before writing, what the step needs of the matter's other steps
(`schemas.rules.check_step_context`) is checked against the steps that count: a step that breaks it
is refused here (a phone's, come by sync, is kept but not counted by the derived stage).

A step's id is `step-<matter id>~<time>-<random>`; a retry with the same id and fields is the same step.
"""
from __future__ import annotations

import datetime as dt

from schemas.errors import WriteRefused
from schemas.rules import check_step_context
from sync.access import WriteAttempt

from server.services import records
from server.services.collections import DISPUTES, STEPS, child_id, fill
from server.services.matters import queries, stages

PREFIX = "step-"
#: What a client may send for a step (the server fills type, area, matter_id, created_by, created_at).
FIELDS = ("at", "reason", "note", "unit", "unit_account", "responsible_area", "deadline", "leader", "to_area",
          "to_department", "days", "method", "participants", "conclusion", "content", "channel", "date",
          "result", "collected_via", "collected_by")


def new_step_id(matter_id: str, now: dt.datetime) -> str:
    return child_id(PREFIX, matter_id, now)


def read_matter(database, matter_id: str) -> dict:
    """The dispute as the handle's user may see it, or 404 record_not_found."""
    return records.read(database, DISPUTES, matter_id)


def record(database, matter_id: str, kind: str, fields: dict, *, user: str, now: dt.datetime,
           terms: stages.Terms, step_id: str | None = None) -> records.Outcome:
    matter = read_matter(database, matter_id)
    step = {k: v for k, v in fields.items() if k in FIELDS}
    step.update(id=step_id or new_step_id(matter_id, now), area=matter["area"], matter_id=matter_id, kind=kind)
    doc = fill(STEPS, step, user=user, now=now)
    # Who may record this kind is said before what the matter's stage allows.
    role_refusal = database.access.check_write(WriteAttempt(step["id"], None, doc, False, True)) \
        if database.access.check_write is not None else None
    if role_refusal:
        raise WriteRefused(role_refusal)
    counted = [s for s, refusal in queries.life(database, matter, terms).trail if refusal is None]
    refusal = check_step_context(doc, matter, counted, extend_max_days=terms.extend_max_days)
    if refusal and not _retry(database, step["id"]):
        raise WriteRefused(refusal)
    return records.create(database, STEPS, step, user=user, now=now)


def _retry(database, step_id: str) -> bool:
    """The step is stored already (a retry): `records.create` answers with it, or 409 id_taken."""
    try:
        database.get(step_id)
    except Exception:  # noqa: BLE001 - not found (or not readable): not a retry
        return False
    return True
