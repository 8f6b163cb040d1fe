"""My work: due rounds and overdue reminders, households of my area."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from schemas.errors import PaichaError
from server.core.access import domain_database
from server.services.calendar.periods import local_date
from server.core.db import reading
from server.core.models import Area
from server.services import reviews
from sync import errors

from mobile_api import queries, tasks
from mobile_api.api import bp, ok
from mobile_api.context import area_filter, cursor, encode_cursor, limit, now, principal, text_param
from mobile_api.openapi import operation, param, response_schema
from mobile_api.payloads import DOC_ID_SCHEMA, valid_doc_id
from mobile_api.resources.records import PAGE_PARAMS, present
from mobile_api.resources.session import PRINTABLE

DEFAULT_LOOKBACK_DAYS = 31
SEARCH = param("q", {"type": "string", "maxLength": 100, "pattern": PRINTABLE},
               "words that must all appear in the address or the head of household's name")


@response_schema("Tasks")
def _tasks_schema():
    return {
        "type": "object", "required": ["today", "rounds", "reminders", "returned", "matters"],
        "properties": {
            "today": {"type": "string", "format": "date"},
            "returned": {"type": "array", "items": {"$ref": "#/components/schemas/ReturnedReport"}},
            "matters": {"type": "array", "items": {
                "type": "object", "required": ["id", "matter_id", "step", "kind", "area"],
                "properties": {"id": {"type": "string"}, "matter_id": {"type": "string"},
                               "step": {"enum": ["accept", "handle", "reply"]}, "kind": {"type": "string"},
                               "area": {"type": "string"}, "area_name": {"type": ["string", "null"]},
                               "due_date": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]}}}},
            "rounds": {"type": "array", "items": {
                "type": "object", "required": ["id", "area", "due_date", "status", "own"],
                "properties": {"id": {"type": "string"}, "area": {"type": "string"},
                               "area_name": {"type": ["string", "null"]}, "level": {"type": ["string", "null"]},
                               "title": {"type": ["string", "null"]}, "period_start": {"type": "string"},
                               "period_end": {"type": ["string", "null"]}, "due_date": {"type": "string"},
                               "status": {"enum": ["open", "overdue", "missed"]},
                               "days_overdue": {"type": "integer", "minimum": 0}, "own": {"type": "boolean"}}}},
            "reminders": {"type": "array", "items": {
                "type": "object", "required": ["id", "area", "round_id", "kind"],
                "properties": {"id": {"type": "string"}, "area": {"type": "string"},
                               "area_name": {"type": ["string", "null"]}, "round_id": {"type": "string"},
                               "kind": {"type": "string"}, "due_date": {"type": ["string", "null"]},
                               "message": {"type": ["string", "null"]},
                               "created_at": {"type": ["string", "null"]}}}},
        },
    }


_REVIEW_FIELDS = {"id": {"type": "string"}, "report_id": {"type": "string"}, "area": {"type": "string"},
                  "status": {"type": "string"}, "comment": {"type": ["string", "null"]},
                  "reviewed_at": {"type": ["string", "null"]}, "reviewed_by": {"type": ["string", "null"]}}


@response_schema("Review")
def _review_schema():
    return {"type": "object", "required": ["id", "report_id", "status"], "properties": _REVIEW_FIELDS}


@response_schema("ReviewTrail")
def _review_trail_schema():
    return {"type": "object", "required": ["report_id", "state", "items"],
            "properties": {"report_id": {"type": "string"},
                           "state": {"type": ["string", "null"],
                                     "description": "the latest review's status, or resubmitted (corrected "
                                                    "after being sent back, awaiting a new review)"},
                           "items": {"type": "array", "items": {"$ref": "#/components/schemas/Review"}}}}


@response_schema("ReturnedReport")
def _returned_schema():
    return {"type": "object", "required": ["report_id", "round_id", "area", "review"],
            "properties": {"report_id": {"type": "string"}, "round_id": {"type": "string"},
                           "area": {"type": "string"}, "area_name": {"type": ["string", "null"]},
                           "review": {"$ref": "#/components/schemas/Review"}}}


def _present_review(doc: dict) -> dict:
    return {"id": doc["_id"], "report_id": doc.get("report_id"), "area": doc.get("area"), "status": doc.get("status"),
            "comment": doc.get("comment"), "reviewed_at": doc.get("reviewed_at"), "reviewed_by": doc.get("created_by")}


def _returned(database, who) -> list[dict]:
    """My scope's reports whose latest review sent them back and that are not corrected yet."""
    with database.store.reading() as conn:
        found = reviews.sent_back(conn, current_app.config["PAICHA_DOMAIN_DB"], who.scope or "")
    out = []
    for report_id, round_id, area in found:
        trail = reviews.trail(database, report_id)
        if trail:
            out.append({"report_id": report_id, "round_id": round_id, "area": area,
                        "review": _present_review(trail[-1])})
    return out


@bp.get("/reports/<doc_id>/reviews")
@operation(summary="A report's reviews, oldest first", tag="work", ok={200: "ReviewTrail"}, problems=(404,),
           path={"doc_id": DOC_ID_SCHEMA},
           description="Every review of the report is kept (a re-review is a new review). `state` is what the "
                       "report awaits: the latest review's status, or `resubmitted` once corrected after being "
                       "sent back.")
def report_reviews(doc_id: str):
    who = principal()
    database = domain_database(who)
    if not valid_doc_id(doc_id):
        raise PaichaError("invalid_parameter", name="id", reason="not a record id")
    try:
        report = database.get(doc_id)
    except errors.NotFound:
        raise PaichaError("record_not_found", id=doc_id)
    if report.get("type") != "screening_report":
        raise PaichaError("record_not_found", id=doc_id)
    with database.store.reading() as conn:
        state = reviews.state(conn, current_app.config["PAICHA_DOMAIN_DB"], doc_id)
    return ok({"report_id": doc_id, "state": state,
               "items": [_present_review(d) for d in reviews.trail(database, doc_id)]})


@response_schema("HouseholdPage")
def _household_page():
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                           "next_cursor": {"type": ["string", "null"]}}}


def _names(codes) -> dict[str, str]:
    codes = sorted(set(c for c in codes if isinstance(c, str)))
    if not codes:
        return {}
    with reading() as session:
        return dict(session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(codes))).all())


@bp.get("/tasks")
@operation(summary="My due rounds and overdue reminders", tag="work", ok={200: "Tasks"},
           description="Rounds of my scope whose period has started and that have no report yet (open, "
                       "overdue or missed, by the calendar's rules), and overdue / escalation reminders whose "
                       "round is still unreported. `own` marks rounds of my own area. `returned`: reports of my "
                       "scope sent back by their latest review and not corrected yet, with that review. "
                       "`matters`: reminders about matters of my scope whose acceptance, handling or reply is "
                       "overdue, while it still is.")
def list_tasks():
    who = principal()
    database = domain_database(who)
    moment = now()
    days = int(current_app.config.get("PAICHA_API_TASKS_LOOKBACK_DAYS", DEFAULT_LOOKBACK_DAYS))
    rounds = tasks.open_rounds(database, moment, days)
    reminders = tasks.overdue_reminders(database, moment, days)
    returned = _returned(database, who)
    matters = tasks.matter_reminders(database, current_app.config["PAICHA_DOMAIN_DB"], moment, days)
    names = _names([r["doc"].get("area") for r in rounds] + [r.get("area") for r in reminders]
                   + [r["area"] for r in returned] + [r["area"] for r in matters])
    return ok({
        "today": local_date(moment).isoformat(),
        "returned": [{**r, "area_name": names.get(r["area"])} for r in returned],
        "matters": [{"id": r["_id"], "matter_id": r["matter_id"], "step": r["step"], "kind": r["kind"],
                     "area": r["area"], "area_name": names.get(r["area"]), "due_date": r.get("due_date"),
                     "message": r.get("message")} for r in matters],
        "rounds": [{"id": r["doc"]["_id"], "area": r["doc"]["area"], "area_name": names.get(r["doc"]["area"]),
                    "level": r["doc"].get("level"), "title": r["doc"].get("title"),
                    "period_start": r["doc"]["period_start"], "period_end": r["doc"].get("period_end"),
                    "due_date": r["doc"]["due_date"], "status": r["status"], "days_overdue": r["days_overdue"],
                    "own": r["doc"]["area"] == who.scope} for r in rounds],
        "reminders": [{"id": r["_id"], "area": r["area"], "area_name": names.get(r["area"]),
                       "round_id": r["round_id"], "kind": r["kind"], "due_date": r.get("due_date"),
                       "message": r.get("message"), "created_at": r.get("created_at")} for r in reminders],
    })


def _search_words() -> str | None:
    q = (text_param("q") or "").strip()
    return q or None


def _sql_word(query: str) -> str | None:
    """The longest word, as the database prefilter, when it is stored as typed in the JSON text."""
    word = max(query.split(), key=len)
    return word if word.isprintable() and '"' not in word and "\\" not in word else None


@bp.get("/households")
@operation(summary="Households of my area, searchable by address or head of household", tag="work",
           ok={200: "HouseholdPage"}, problems=(403,), query=(SEARCH,) + PAGE_PARAMS)
def list_households():
    who = principal()
    area, size, after, query = area_filter(who), limit(), cursor(), _search_words()
    keep = queries.household_matches(query) if query else (lambda doc: True)
    found = queries.page(domain_database(who), "household", limit=size, after=after, area=area,
                         text=_sql_word(query) if query else None, keep=keep)
    return ok({"items": [present(d) for d in found.items], "next_cursor": encode_cursor(found.next_after)})


@bp.get("/households/<household_id>")
@operation(summary="One household", tag="work", ok={200: "Record"}, problems=(404,),
           path={"household_id": DOC_ID_SCHEMA})
def get_household(household_id: str):
    who = principal()
    if not valid_doc_id(household_id):
        raise PaichaError("invalid_parameter", name="household_id", reason="not a record id")
    try:
        doc = domain_database(who).get(household_id)
    except errors.NotFound:
        raise PaichaError("record_not_found", id=household_id) from None
    if doc.get("type") != "household":
        raise PaichaError("record_not_found", id=household_id)
    return ok(present(doc))
