"""Write rules: which role may create, change or delete which document type, in which scope.

Everything a role may do is declared once, in :data:`WRITE_RULES`; :func:`check_write` applies that
table plus the invariants every write must keep (scope, immutable fields, append-only history).
Pure functions: the sync engine and the REST API call :func:`check_write` for every write and give
the engine :func:`scope_of` as its scope function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ._loader import DOC_TYPES
from .areas import DISTRICT, LENGTH, TOWNSHIP, VILLAGE, is_area_prefix
from .vocabulary import (HEARING, STEP_ACCEPT, STEP_ASSIGN, STEP_CLOSE, STEP_CONCLUDE, STEP_EVALUATE,
                         STEP_EXTEND, STEP_HANDLE, STEP_KINDS, STEP_REJECT, STEP_REOPEN, STEP_REPLY,
                         STEP_TRANSFER)

# -- roles and operations ---------------------------------------------------------------------

VILLAGE_CADRE = "village_cadre"
TOWNSHIP_STAFF = "township_staff"
DISTRICT_SUPERVISOR = "district_supervisor"
ADMIN = "admin"
SERVER = "server"
ROLES: frozenset[str] = frozenset({VILLAGE_CADRE, TOWNSHIP_STAFF, DISTRICT_SUPERVISOR, ADMIN, SERVER})

#: The roles of people's accounts (the server's own role is not one).
ACCOUNT_ROLES: tuple[str, ...] = (VILLAGE_CADRE, TOWNSHIP_STAFF, DISTRICT_SUPERVISOR, ADMIN)

#: Roles that are not a person on a device: exempt from "created_by must be you" and
#: "only the creator may delete".
PRIVILEGED_ROLES: frozenset[str] = frozenset({ADMIN, SERVER})

#: Roles that supervise the areas in their scope: the ledger pages and the visit checks are theirs.
SUPERVISOR_ROLES: tuple[str, ...] = (TOWNSHIP_STAFF, DISTRICT_SUPERVISOR, ADMIN)

#: A person's scope is the code of their area; its level is fixed by the role.
SCOPE_LEVEL: Mapping[str, str] = MappingProxyType(
    {VILLAGE_CADRE: VILLAGE, TOWNSHIP_STAFF: TOWNSHIP, DISTRICT_SUPERVISOR: DISTRICT}
)
SCOPE_LENGTH: Mapping[str, int] = MappingProxyType({role: LENGTH[level] for role, level in SCOPE_LEVEL.items()})

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
ESCALATE = "escalate"  # append to a dispute's escalation trail (in addition to UPDATE)
MEDIATE = "mediate"  # append to a dispute's mediation records (in addition to UPDATE)
OPERATIONS: frozenset[str] = frozenset({CREATE, UPDATE, DELETE, ESCALATE, MEDIATE})

#: Types only the server (its calendar, its refusal notices) or an administrator writes; devices
#: only read them.
SERVER_OWNED_TYPES: frozenset[str] = frozenset({"screening_round", "reminder", "refusal_notice"})

_CRUD = frozenset({CREATE, UPDATE, DELETE})
_FIELD_WORK = MappingProxyType(
    {
        "household": _CRUD,
        "screening_report": _CRUD,
        "dispute": _CRUD | {ESCALATE, MEDIATE},
        "household_visit": _CRUD,
    }
)
#: The unit's answer to a supervision notice: created, never changed or deleted (a further answer
#: is a new reply), so the supervisor reads exactly what the unit said and when.
_FIELD_WORK_AND_REPLIES = MappingProxyType({**_FIELD_WORK, "notice_reply": frozenset({CREATE}),
                                            "matter_step": frozenset({CREATE})})

#: A matter's steps (事项办理), each a `matter_step` document: who may write which kind (on top of
#: WRITE_RULES, which lets them create steps at all). The area's office (township staff, the
#: district) decides and steers: 受理 / 不予受理, 交办 / 转送, 延期, 办结 / 终结, 重新办理. The
#: responsible unit (the village cadre, township staff) records the handling and the reply. The
#: evaluation is collected by anyone in scope, except the one who replied (check_step_context).
#: Every step is created once and kept: no update for anyone, a delete only by an administrator
#: (never an evaluation's).
_OFFICE = frozenset({TOWNSHIP_STAFF, DISTRICT_SUPERVISOR, ADMIN})
_UNIT = frozenset({VILLAGE_CADRE, TOWNSHIP_STAFF, ADMIN})
_ANYONE = frozenset({VILLAGE_CADRE, TOWNSHIP_STAFF, DISTRICT_SUPERVISOR, ADMIN})
STEP_RULES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        STEP_ACCEPT: _OFFICE, STEP_REJECT: _OFFICE, STEP_ASSIGN: _OFFICE, STEP_TRANSFER: _OFFICE,
        STEP_EXTEND: _OFFICE, STEP_HANDLE: _UNIT, STEP_REPLY: _UNIT, STEP_EVALUATE: _ANYONE,
        STEP_CLOSE: _OFFICE, STEP_CONCLUDE: _OFFICE, STEP_REOPEN: _OFFICE,
    }
)
assert set(STEP_RULES) == set(STEP_KINDS), "every kind of step has its roles"

#: role -> document type -> allowed operations. A type missing for a role means "never".
#: Scope is separate: every write must also be inside the actor's scope (see check_write).
WRITE_RULES: Mapping[str, Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # own village (scope = 12-digit village code). Cadres may mediate (village mediation
        # committees settle most disputes: 小事不出村) and escalate from their village up (上报);
        # to make that township-only, drop ESCALATE / MEDIATE from this one entry.
        # They reply to the supervision notices of their area (the township's staff for its villages too).
        VILLAGE_CADRE: _FIELD_WORK_AND_REPLIES,
        # the same work across the township and its villages (scope = 9-digit township code)
        TOWNSHIP_STAFF: _FIELD_WORK_AND_REPLIES,
        # whole district, but writes only the matters it registers, its own reviews (each kept: a re-review is a new one) and
        # supervision records (a notice's chases, close and withdrawal are edits of the notice; the
        # unit's replies are not theirs to write), and the reports of
        # the district's own rounds (the monthly screening, the quarterly round-up); no deletes (a
        # notice is withdrawn by setting status "withdrawn", so the ledger keeps it)
        DISTRICT_SUPERVISOR: MappingProxyType(
            {
                "report_review": frozenset({CREATE}),  # each review kept as written: a new one for a re-review
                "supervision_notice": frozenset({CREATE, UPDATE}),
                "screening_report": frozenset({CREATE, UPDATE}),
                "matter_step": frozenset({CREATE}),  # the office's steps and evaluations (STEP_RULES)
                "dispute": frozenset({CREATE}),  # what comes to the district's office is registered there
            }
        ),
        # the scheduler: calendar rounds and reminders only; it never edits device documents. And
        # the notices that tell a writer an edit was refused (created, then marked resolved).
        SERVER: MappingProxyType({"screening_round": _CRUD, "reminder": _CRUD,
                                  "refusal_notice": frozenset({CREATE, UPDATE})}),
        # everything, within the admin's scope ("" = everywhere)
        # (a matter's steps are kept as written: an administrator may delete a mistaken one, never
        # change one)
        ADMIN: MappingProxyType({t: OPERATIONS - ({UPDATE} if t == "matter_step" else set())
                                 for t in sorted(DOC_TYPES)}),
    }
)


def allowed_operations(role: str, doc_type: str) -> frozenset[str]:
    """What the table allows ``role`` to do to ``doc_type`` (ignoring scope)."""
    return WRITE_RULES.get(role, {}).get(doc_type, frozenset())


# -- actor, refusal, scope --------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who is writing. ``scope`` is an area-code prefix: a person's own area code; for ``admin`` and
    ``server`` it may be ``""`` (everything). ``server`` is the scheduler / system itself."""

    name: str
    role: str
    scope: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {sorted(ROLES)}")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("an actor needs a non-empty name")
        if not isinstance(self.scope, str) or (self.scope and not (self.scope.isascii() and self.scope.isdigit())):
            raise ValueError(f"scope must be a string of digits, got {self.scope!r}")
        need = SCOPE_LENGTH.get(self.role)
        if need is not None and len(self.scope) != need:
            raise ValueError(f"a {self.role} needs a {need}-digit area code as scope, got {self.scope!r}")
        if need is None and not is_area_prefix(self.scope):
            raise ValueError(f"scope must be '' or a 6, 9 or 12-digit area code, got {self.scope!r}")

    def covers(self, area: object) -> bool:
        """True if ``area`` is inside this actor's scope (scope prefix match)."""
        return isinstance(area, str) and bool(area) and area.startswith(self.scope)


@dataclass(frozen=True)
class Refusal:
    """Why a write is refused: ``code`` is a stable short identifier for programs (see
    :data:`REFUSAL_CODES`; its words are in ``schemas.errors.REFUSALS``), ``reason`` the English
    sentence with the particulars."""

    code: str
    reason: str

    def __str__(self) -> str:
        return self.reason


REFUSAL_CODES: frozenset[str] = frozenset(
    {
        "bad_document",  # not a JSON object
        "unknown_type",  # no or unknown `type`
        "type_changed",  # an update changed `type`
        "server_owned",  # a device wrote a server-owned type
        "role_not_allowed",  # the role never writes this type
        "operation_not_allowed",  # the role may write this type, but not this way (delete, escalate...)
        "bad_area",  # no usable `area`
        "out_of_scope",  # the document (old or new) is outside the actor's scope
        "area_changed",  # an update or delete tried to move the document to another area
        "created_by_mismatch",  # created_by on create is not the actor
        "visitor_mismatch",  # household_visit.visitor on create is not the actor
        "immutable_field",  # created_by / created_at / visitor changed on update
        "not_creator",  # a device may delete only documents it created
        "history_rewritten",  # escalation / mediation entries edited or removed
        "escalation_by_mismatch",  # new escalation entry not signed by the actor
        "escalation_out_of_scope",  # new escalation entry escalates from outside the actor's scope
        "nothing_to_delete",  # delete of a document the server does not have
        "invalid_document",  # the document does not match its JSON Schema
        "malformed_document",  # not a document the store can keep as sent (bad JSON, ids, names)
        "half_character",  # text holds half of a character (a lone surrogate: a rare character cut)
        "bad_coordinates",  # a GPS fix or location that cannot be real (0,0, out of range, ...)
        "not_own_level",  # a district supervisor's report must be for the district's own round
        "chase_by_mismatch",  # new chase (催办) entry of a supervision notice not signed by the actor
        "step_not_allowed",  # the role may write matter steps, but not this kind (STEP_RULES)
        "evaluation_kept",  # an evaluation (评价) is never deleted, by anyone
        # what a step needs of its matter and the matter's other steps (check_step_context)
        "no_matter",  # the step's matter does not exist (or is not a dispute)
        "step_area_mismatch",  # a step's area is not its matter's
        "self_evaluation",  # the evaluation written by the account that wrote the reply
        "second_extension",  # a matter's handling deadline is extended once
        "extension_too_long",  # more days than the limit
        "no_hearing",  # 终结 needs a hearing (听证) recorded first
        "out_of_order",  # a step its matter's stage does not allow yet, or any more
    }
)

#: The refusal codes that need the matter and its other steps (check_step_context): the service
#: checks them before it writes; a step that came by sync and breaks one is kept but not counted.
CONTEXT_CODES: frozenset[str] = frozenset(
    {"no_matter", "step_area_mismatch", "self_evaluation", "second_extension", "extension_too_long", "no_hearing",
     "out_of_order"}
)


def scope_of(doc: Mapping[str, Any]) -> str | None:
    """The scope of a document: its ``area`` code. Given to the sync engine (``DbRules.scope_of``).

    ``None`` when the body has no usable area, e.g. a bare CouchDB tombstone
    (``{_id, _rev, _deleted}``): the engine then keeps the scope of the revision it replaces.
    Documents with an area are validated before this matters, so no other None reaches the engine.
    """
    area = doc.get("area")
    return area if isinstance(area, str) and area else None


# -- the check --------------------------------------------------------------------------------

_NOUN = {
    "household": "household",
    "screening_round": "screening round",
    "screening_report": "screening report",
    "dispute": "dispute",
    "household_visit": "household visit",
    "supervision_notice": "supervision notice",
    "notice_reply": "notice reply",
    "matter_step": "matter step",
    "reminder": "reminder",
    "report_review": "report review",
    "refusal_notice": "refusal notice",
}
_ROLE_NOUN = {
    VILLAGE_CADRE: "village cadre",
    TOWNSHIP_STAFF: "township staff member",
    DISTRICT_SUPERVISOR: "district supervisor",
    ADMIN: "administrator",
    SERVER: "server",
}
_VERB = {
    CREATE: "create",
    UPDATE: "change",
    DELETE: "delete",
    ESCALATE: "escalate",
    MEDIATE: "record mediation on",
}
_HINT = {
    ("supervision_notice", DELETE): " Withdraw the notice instead by setting its status to 'withdrawn'.",
    ("report_review", DELETE): " Add a new review instead: every review is kept.",
    ("report_review", UPDATE): " Add a new review instead: every review is kept.",
    ("notice_reply", DELETE): " A reply is kept as written: send a further reply instead.",
    ("notice_reply", UPDATE): " A reply is kept as written: send a further reply instead.",
    ("matter_step", UPDATE): " A step is kept as written: record a further step instead.",
    ("matter_step", DELETE): " A step is kept as written: record a further step instead.",
}


def _plural(doc_type: str) -> str:
    noun = _NOUN[doc_type]
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def _scope_words(actor: Actor) -> str:
    return f"your area {actor.scope}" if actor.scope else "your scope"


def check_write(
    actor: Actor,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    deleting: bool = False,
) -> Refusal | None:
    """Refuse or allow one write. ``old`` is the current winning revision (``None`` on create),
    ``new`` the proposed one; ``deleting`` marks a delete (``new`` may then be a bare tombstone;
    ``new["_deleted"] is True`` also counts). Returns ``None`` if allowed, else a :class:`Refusal`.

    Shapes are the validator's job (:func:`schemas.validate_document`); this only needs ``type``
    and ``area`` to be present and never raises on a malformed document.
    """
    if not isinstance(new, Mapping) or (old is not None and not isinstance(old, Mapping)):
        return Refusal("bad_document", "This is not a valid document.")
    deleting = deleting or new.get("_deleted") is True

    if old is not None and old.get("_deleted") is True:
        # Writing on top of a tombstone: the document no longer exists, so this is a (re)create,
        # but it may not resurrect a document of somebody else's area.
        if "area" in old and not actor.covers(old["area"]):
            return _out_of_scope(actor, old)
        old = None

    if deleting:
        if old is None:
            if "type" in new and "area" in new:
                return _check_delete(actor, new, new)
            return Refusal("nothing_to_delete", "There is nothing to delete: the server does not have this document.")
        return _check_delete(actor, old, new)
    if old is None:
        return _check_create(actor, new)
    return _check_update(actor, old, new)


def _check_type(actor: Actor, doc_type: Any, op: str) -> Refusal | None:
    if not isinstance(doc_type, str) or doc_type not in DOC_TYPES:
        if doc_type is None:
            return Refusal("unknown_type", "This document has no type.")
        return Refusal("unknown_type", f"Unknown document type {doc_type!r}.")
    allowed = allowed_operations(actor.role, doc_type)
    if not allowed:
        if doc_type in SERVER_OWNED_TYPES:
            return Refusal(
                "server_owned",
                f"{_plural(doc_type).capitalize()} are written by the server"
                + ("'s calendar" if doc_type in ("screening_round", "reminder") else "")
                + "; a device cannot create, change or delete them.",
            )
        return Refusal(
            "role_not_allowed",
            f"As a {_ROLE_NOUN[actor.role]} you cannot write {_plural(doc_type)}.",
        )
    if op not in allowed:
        return Refusal(
            "operation_not_allowed",
            f"As a {_ROLE_NOUN[actor.role]} you cannot {_VERB[op]} {_plural(doc_type)}."
            + _HINT.get((doc_type, op), ""),
        )
    return None


def _check_area(actor: Actor, doc: Mapping[str, Any]) -> Refusal | None:
    area = doc.get("area")
    if not isinstance(area, str) or not area:
        return Refusal("bad_area", "This document has no area code.")
    if not actor.covers(area):
        return _out_of_scope(actor, doc)
    return None


def _out_of_scope(actor: Actor, doc: Mapping[str, Any]) -> Refusal:
    noun = _NOUN.get(doc.get("type"), "document") if isinstance(doc.get("type"), str) else "document"
    return Refusal(
        "out_of_scope",
        f"This {noun} belongs to area {doc.get('area')}, outside {_scope_words(actor)}.",
    )


def _check_create(actor: Actor, new: Mapping[str, Any]) -> Refusal | None:
    doc_type = new.get("type")
    refusal = _check_type(actor, doc_type, CREATE) or _check_area(actor, new)
    if refusal:
        return refusal
    if actor.role not in PRIVILEGED_ROLES:
        if new.get("created_by") != actor.name:
            return Refusal(
                "created_by_mismatch",
                f"The field created_by must be your own account name ({actor.name}).",
            )
        if doc_type == "household_visit" and new.get("visitor") != actor.name:
            return Refusal(
                "visitor_mismatch",
                f"You can only record your own visits: visitor must be {actor.name}.",
            )
    if doc_type == "dispute":
        return _check_history(actor, {}, new)
    if doc_type == "supervision_notice":
        return _check_chases(actor, {}, new)
    if doc_type == "matter_step":
        return _check_step_kind(actor, new)
    return _check_own_level(actor, new)


_KIND_NOUN = {STEP_ACCEPT: "accept", STEP_REJECT: "reject", STEP_ASSIGN: "assign", STEP_TRANSFER: "transfer",
              STEP_EXTEND: "extend the deadline of", STEP_HANDLE: "record the handling of",
              STEP_REPLY: "record the reply to", STEP_EVALUATE: "record the evaluation of", STEP_CLOSE: "close",
              STEP_CONCLUDE: "conclude", STEP_REOPEN: "reopen"}


def _check_step_kind(actor: Actor, step: Mapping[str, Any]) -> Refusal | None:
    kind = step.get("kind")
    if not isinstance(kind, str) or kind not in STEP_RULES:
        return None  # the validator refuses it
    if actor.role in STEP_RULES[kind] or actor.role == SERVER:
        return None
    who = "the area's office (township staff or the district)" if STEP_RULES[kind] == _OFFICE \
        else "the responsible unit (village cadre or township staff)"
    return Refusal("step_not_allowed",
                   f"As a {_ROLE_NOUN[actor.role]} you cannot {_KIND_NOUN[kind]} a matter: that is for {who}.")


def check_step_context(step: Mapping[str, Any], matter: Mapping[str, Any] | None,
                       earlier: list[Mapping[str, Any]], *, extend_max_days: int) -> Refusal | None:
    """What a matter step needs of its matter and of the matter's steps before it (`earlier`, the
    ones that count, in time order), which a write check of one document cannot see: the server's
    writes refuse with it, and the derived stage leaves out a step (come by sync) that breaks it."""
    if not matter or matter.get("type") != "dispute":
        return Refusal("no_matter", f"There is no matter {step.get('matter_id')!r} to record this step on.")
    if step.get("area") != matter.get("area"):
        return Refusal("step_area_mismatch",
                       f"A step belongs to its matter's area {matter.get('area')}, not {step.get('area')}.")
    kind = step.get("kind")
    if kind == STEP_EVALUATE:
        repliers = {s.get("created_by") for s in earlier if s.get("kind") == STEP_REPLY}
        if step.get("created_by") in repliers:
            return Refusal("self_evaluation",
                           "The evaluation cannot be recorded by the account that wrote the reply: "
                           "someone else collects it.")
    if kind == STEP_EXTEND:
        if any(s.get("kind") == STEP_EXTEND for s in earlier):
            return Refusal("second_extension", "The handling deadline of a matter is extended once only.")
        days = step.get("days")
        if isinstance(days, int) and days > extend_max_days:
            return Refusal("extension_too_long",
                           f"An extension is at most {extend_max_days} days, not {days}.")
    if kind == STEP_CONCLUDE and not any(s.get("kind") == STEP_HANDLE and s.get("method") == HEARING
                                         for s in earlier):
        return Refusal("no_hearing", "A matter is concluded (终结) only after a hearing is recorded.")
    return _out_of_order(kind, matter, earlier)


_DECIDED, _FINISHED = (STEP_ACCEPT, STEP_REJECT), (STEP_CLOSE, STEP_CONCLUDE)
_STEP_WORDS = {STEP_ACCEPT: "accepted", STEP_REJECT: "rejected", STEP_ASSIGN: "assigned", STEP_TRANSFER: "transferred",
               STEP_EXTEND: "extended", STEP_HANDLE: "handled", STEP_REPLY: "replied to", STEP_EVALUATE: "evaluated",
               STEP_CLOSE: "closed", STEP_CONCLUDE: "concluded", STEP_REOPEN: "reopened"}


def _out_of_order(kind: Any, matter: Mapping[str, Any], earlier: list[Mapping[str, Any]]) -> Refusal | None:
    """The order of a matter's life: decided (受理 / 不予受理) once; assigned, extended and closed
    only once accepted; evaluated once replied to or closed (a return visit after 办结 collects it
    too); after 办结 / 终结 nothing but the
    evaluation and 重新办理, after 不予受理 / 转送 nothing but 重新办理, which reopens only those. A
    dispute's own accepted_at, and its resolved status with resolved_at, count as its acceptance and
    its closing (recorded before steps existed)."""
    accepted = decided = bool(matter.get("accepted_at"))
    closed = matter.get("status") in ("resolved", "closed") and bool(matter.get("resolved_at"))
    left = False  # 不予受理 or 转送: the matter left this office
    replied = False
    for s in earlier:
        k = s.get("kind")
        if k == STEP_REOPEN:
            closed = left = replied = False
            decided = accepted  # kept if it was accepted; a rejected matter is decided again
        elif k in _DECIDED:
            decided, accepted = True, k == STEP_ACCEPT
            left = left or k == STEP_REJECT
        elif k == STEP_TRANSFER:
            left = True
        elif k == STEP_REPLY:
            replied = True
        elif k in _FINISHED:
            closed = True
    if kind == STEP_REOPEN:
        return None if (closed or left) else Refusal(
            "out_of_order", "Only a closed, concluded, rejected or transferred matter is reopened.")
    if kind == STEP_EVALUATE:
        return None if (replied or closed) else Refusal(
            "out_of_order", "A matter is evaluated only once the person has had a reply.")
    if closed or left:
        return Refusal("out_of_order", f"This matter is finished: it is {_STEP_WORDS.get(kind, 'changed')} "
                                       "only after it is reopened.")
    if kind in _DECIDED and decided:
        return Refusal("out_of_order", "This matter is decided already (accepted or rejected).")
    if kind in (STEP_ASSIGN, STEP_EXTEND, STEP_CLOSE) and not accepted:
        return Refusal("out_of_order", f"A matter is {_STEP_WORDS[kind]} only once it is accepted.")
    return None


def _check_own_level(actor: Actor, doc: Mapping[str, Any]) -> Refusal | None:
    """District supervisors file only the district's own reports, not the villages' or townships'."""
    if actor.role == DISTRICT_SUPERVISOR and doc.get("type") == "screening_report" and doc.get("area") != actor.scope:
        return Refusal(
            "not_own_level",
            f"As a district supervisor you file only the district's own reports (area {actor.scope}), "
            f"not those of area {doc.get('area')}.",
        )
    return None


def _check_update(actor: Actor, old: Mapping[str, Any], new: Mapping[str, Any]) -> Refusal | None:
    doc_type = new.get("type")
    if old.get("type") != doc_type:
        return Refusal("type_changed", "A document's type cannot be changed.")
    refusal = _check_type(actor, doc_type, UPDATE) or _check_area(actor, old)
    if refusal:
        return refusal
    if new.get("area") != old.get("area"):
        if actor.role != ADMIN:
            return Refusal(
                "area_changed",
                f"This {_NOUN[doc_type]} belongs to area {old.get('area')} and cannot be moved to another area."
                + (" To hand a dispute to a higher level, escalate it." if doc_type == "dispute" else ""),
            )
        refusal = _check_area(actor, new)
        if refusal:
            return refusal
    if actor.role != ADMIN:
        frozen = ("created_by", "created_at") + (("visitor",) if doc_type == "household_visit" else ())
        for field in frozen:
            if old.get(field) != new.get(field):
                return Refusal(
                    "immutable_field", f"The field {field} cannot be changed once the {_NOUN[doc_type]} is saved."
                )
    if doc_type == "dispute":
        return _check_history(actor, old, new)
    if doc_type == "supervision_notice":
        return _check_chases(actor, old, new)
    return _check_own_level(actor, old)


def _check_delete(actor: Actor, current: Mapping[str, Any], tombstone: Mapping[str, Any]) -> Refusal | None:
    doc_type = current.get("type")
    refusal = _check_type(actor, doc_type, DELETE) or _check_area(actor, current)
    if refusal:
        return refusal
    if "area" in tombstone and tombstone["area"] != current.get("area"):
        return Refusal("area_changed", "A deletion cannot move the document to another area.")
    if doc_type == "matter_step" and current.get("kind") == STEP_EVALUATE:
        return Refusal("evaluation_kept", "An evaluation is kept as the person gave it: nobody can delete it.")
    if actor.role not in PRIVILEGED_ROLES and current.get("created_by") != actor.name:
        return Refusal(
            "not_creator",
            f"Only the person who created this {_NOUN[doc_type]} can delete it.",
        )
    return None


def _check_history(actor: Actor, old: Mapping[str, Any], new: Mapping[str, Any]) -> Refusal | None:
    """Dispute escalation trail and mediation records are append-only history."""
    for field, op in (("escalation", ESCALATE), ("mediation", MEDIATE)):
        before, after = old.get(field) or [], new.get(field) or []
        if not isinstance(before, list) or not isinstance(after, list):
            continue  # malformed: the validator refuses it
        if after[: len(before)] != before:
            if actor.role == ADMIN:
                continue
            return Refusal(
                "history_rewritten",
                f"Earlier {field} entries cannot be changed or removed; add a new entry instead.",
            )
        added = after[len(before):]
        if not added:
            continue
        refusal = _check_type(actor, "dispute", op)
        if refusal:
            return refusal
        if field == "escalation" and actor.role not in PRIVILEGED_ROLES:
            for step in added:
                if not isinstance(step, Mapping):
                    continue
                if step.get("by") != actor.name:
                    return Refusal(
                        "escalation_by_mismatch",
                        f"An escalation you add must be signed with your own account name ({actor.name}).",
                    )
                if not actor.covers(step.get("from_area")):
                    return Refusal(
                        "escalation_out_of_scope",
                        f"You can only escalate from {_scope_words(actor)}, not from {step.get('from_area')}.",
                    )
    return None


def _check_chases(actor: Actor, old: Mapping[str, Any], new: Mapping[str, Any]) -> Refusal | None:
    """A notice's chases (催办) are its supervision record: append-only and each signed by the person
    who added it, for everyone (an administrator too: the record is what the unit was told, by whom)."""
    before, after = old.get("chases") or [], new.get("chases") or []
    if not isinstance(before, list) or not isinstance(after, list):
        return None  # malformed: the validator refuses it
    if after[: len(before)] != before:
        return Refusal("history_rewritten", "Earlier chases cannot be changed or removed; add a new chase instead.")
    for chase in after[len(before):]:
        if isinstance(chase, Mapping) and chase.get("by") != actor.name:
            return Refusal(
                "chase_by_mismatch",
                f"A chase you add must be signed with your own account name ({actor.name}).",
            )
    return None
