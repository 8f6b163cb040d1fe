"""A matter's steps (事项办理) for the field app: the trail of a dispute of my scope with its derived
stage and deadlines (`server.services.matters`), and a step of mine, written through the same store
and write rules as a replicated `matter_step`."""
from __future__ import annotations

import re

from flask import current_app

from schemas.errors import PaichaError
from schemas.vocabulary import MATTER_STAGES, STEP_KINDS

from server.core import clock
from server.core.access import domain_database
from server.services import privacy
from server.services.matters import index, queries, stages, steps

from mobile_api.api import bp, invalid, ok
from mobile_api.context import json_body, now, principal
from mobile_api.openapi import operation, response_schema
from mobile_api.payloads import DOC_ID_SCHEMA, ID_PATTERN, valid_doc_id
from mobile_api.resources.records import present

_ID = re.compile(ID_PATTERN)
TEXT_LIMIT = 10000
_DATE = {"type": ["string", "null"], "format": "date"}


@response_schema("MatterTrail")
def _trail_schema():
    return {"type": "object", "required": ["matter_id", "number", "stage", "deadlines", "overdue", "steps"],
            "properties": {
                "matter_id": {"type": "string"},
                "number": {"type": ["string", "null"], "description": "the registration number, district-year-sequence"},
                "stage": {"enum": list(MATTER_STAGES), "description": "derived from the steps that count, in time order"},
                "deadlines": {"type": "object", "properties": {"registered": _DATE, "accept": _DATE,
                                                               "handle": _DATE, "reply": _DATE}},
                "extended_days": {"type": "integer"},
                "overdue": {"type": "object", "description": "on today's Asia/Shanghai day",
                            "properties": {"accept": {"type": "boolean"}, "handle": {"type": "boolean"},
                                           "reply": {"type": "boolean"}, "long_pending": {"type": "boolean"}}},
                "today": {"type": "string", "format": "date"},
                "leader": {"type": ["object", "null"], "description": "the 包案领导: the latest 交办's, else the area's "
                           "(`area`: the area whose leader it is; null for the matter's own)",
                           "properties": {"name": {"type": "string"}, "area": {"type": ["string", "null"]}}},
                "collective": {"type": "boolean", "description": "a collective matter (集体): people_involved at least "
                               "the server's threshold"},
                "repeats": {"type": "object", "description": "the same main party's other matters I may see (重复)",
                            "properties": {"total": {"type": "integer"}, "items": {"type": "array", "items": {
                                "type": "object", "properties": {
                                    "id": {"type": "string"}, "number": {"type": ["string", "null"]},
                                    "area": {"type": "string"}, "registered_on": _DATE,
                                    "stage": {"enum": list(MATTER_STAGES)},
                                    "same_subject": {"type": "boolean"}}}}}},
                "steps": {"type": "array", "items": {"type": "object", "required": ["id", "kind", "at", "counts"],
                          "properties": {"id": {"type": "string"}, "kind": {"enum": list(STEP_KINDS)},
                                         "at": {"type": "string"}, "created_by": {"type": "string"},
                                         "counts": {"type": "boolean"},
                                         "refusal": {"type": ["string", "null"],
                                                     "description": "why the step does not count (a refusal code)"}}}}}}


@response_schema("MatterStepCreate")
def _step_body_schema():
    text = {"type": "string", "minLength": 1, "maxLength": TEXT_LIMIT}
    return {"type": "object", "required": ["kind"], "additionalProperties": False,
            "description": "the fields of a matter_step of that kind (schemas/matter_step.schema.json); the "
                           "server fills type, area (the matter's), matter_id, created_by, created_at and at",
            "properties": {"id": {"type": "string", "pattern": ID_PATTERN}, "kind": {"enum": list(STEP_KINDS)},
                           "days": {"type": "integer", "minimum": 1},
                           **{name: text for name in steps.FIELDS if name != "days"}}}


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def _terms() -> stages.Terms:
    return index.terms_of(current_app.config)


def _matter(database, dispute_id: str) -> dict:
    if not valid_doc_id(dispute_id):
        raise PaichaError("invalid_parameter", name="dispute_id", reason="not a record id")
    return steps.read_matter(database, dispute_id)


@bp.get("/disputes/<dispute_id>/steps")
@operation(summary="A dispute's steps (事项办理) in time order, with its stage and deadlines", tag="matters",
           ok={200: "MatterTrail"}, problems=(403, 404), path={"dispute_id": DOC_ID_SCHEMA},
           description="A step that breaks what it needs of the matter's other steps (a second extension, an "
                       "evaluation by the replier, 终结 without a hearing), come by sync, is listed with "
                       "`counts: false` and its `refusal`. A dispute outside my scope is 404.")
def matter_steps(dispute_id: str):
    who = principal()
    database = domain_database(who)
    matter = _matter(database, dispute_id)
    life = queries.life(database, matter, _terms())
    # the steps' text may quote the parties: masked like the matter for who does not handle it
    whole = privacy.handles(who, matter, (step for step, _ in life.trail))
    secrets = {} if whole else privacy.secrets_of(matter)
    today = clock.today()
    late = stages.overdue(life, today)
    leader = queries.leader(database, matter, life)
    repeats, repeat_total = queries.repeats(database, matter["_id"])
    return ok({"matter_id": matter["_id"], "number": queries.number_of(database, matter["_id"]), "stage": life.stage,
               "deadlines": {"registered": _iso(life.registered_on), "accept": _iso(life.accept_due),
                             "handle": _iso(life.handle_due), "reply": _iso(life.handle_due)},
               "extended_days": life.extended_days, "today": today.isoformat(),
               "overdue": {"accept": late.accept, "handle": late.handle, "reply": late.reply,
                           "long_pending": late.handle},
               "leader": {"name": leader.name, "area": leader.area} if leader else None,
               "collective": queries.collective(matter, current_app.config["PAICHA_MATTER_COLLECTIVE_PEOPLE"]),
               "repeats": {"total": repeat_total,
                           "items": [{"id": r.id, "number": r.number, "area": r.area,
                                      "registered_on": _iso(r.registered_on), "stage": r.stage,
                                      "same_subject": r.same_subject} for r in repeats]},
               "steps": [{**privacy.mask_strings({k: v for k, v in step.items() if not k.startswith("_")}, secrets),
                          "id": step["_id"],
                          "counts": refusal is None, "refusal": refusal.code if refusal else None}
                         for step, refusal in life.trail]})


@bp.post("/disputes/<dispute_id>/steps")
@operation(summary="Record a step of a dispute of my scope (idempotent with an id)", tag="matters",
           body="MatterStepCreate", ok={201: "Record", 200: "Record"}, problems=(403, 404, 409, 413, 415, 422),
           path={"dispute_id": DOC_ID_SCHEMA},
           description="Who may record which kind is the write rules' (403 write_refused with the refusal "
                       "`step_not_allowed`); what a step needs of the matter's other steps is checked too "
                       "(403 with `self_evaluation`, `second_extension`, `extension_too_long`, `no_hearing`). "
                       "A dispute outside my scope is 404. A step is kept as written: a correction is another step.")
def record_step(dispute_id: str):
    who = principal()
    database = domain_database(who)
    _matter(database, dispute_id)
    body = json_body()
    problems = _problems(body)
    if problems:
        raise invalid(problems)
    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in body.items() if k not in ("id", "kind")}
    outcome = steps.record(database, dispute_id, body["kind"], fields, user=who.name, now=now(), terms=_terms(),
                           step_id=body.get("id"))
    return ok(present(outcome.doc), 201 if outcome.created else 200)


def _problems(body) -> list[str]:
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = [f"unexpected field {k!r}" for k in body if k not in ("id", "kind") + steps.FIELDS]
    if body.get("kind") not in STEP_KINDS:
        problems.append("kind: one of " + ", ".join(STEP_KINDS))
    for name, value in body.items():
        if name == "days":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append("days: a whole number of days, at least 1")
        elif name in steps.FIELDS and not (isinstance(value, str) and value.strip() and len(value) <= TEXT_LIMIT):
            problems.append(f"{name}: a non-empty text of at most {TEXT_LIMIT} characters")
    if "id" in body and not (isinstance(body["id"], str) and _ID.match(body["id"])):
        problems.append("id: not a valid id (letters, digits, . _ : -; at most 200 characters)")
    return problems
