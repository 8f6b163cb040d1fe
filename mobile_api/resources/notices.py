"""Supervision notices (督办) for the field app: the notices of my scope with their derived state
(`server.services.ledger.notices`), and my unit's reply (答复) to one of them, written through the
same store and write rules as a replicated `notice_reply`."""
from __future__ import annotations

import re

from flask import request

from schemas.errors import PaichaError
from schemas.vocabulary import NOTICE_KINDS, NOTICE_STATES

from server.core.access import domain_database
from server.services import file_access, supervision
from server.services.ledger import notices as notice_queries
from server.core import clock

from mobile_api.api import bp, invalid, ok
from mobile_api.context import area_filter, json_body, limit, now, principal, query_int
from mobile_api.openapi import operation, param, response_schema
from mobile_api.payloads import DOC_ID_SCHEMA, ID_PATTERN, valid_doc_id
from mobile_api.resources.records import present

MAX_PAGE = 100000
_ID = re.compile(ID_PATTERN)
REPLY_LIMIT = supervision.TEXT_LIMIT
NOTICE_QUERY = (
    param("area", {"type": "string", "pattern": "^(?:[0-9]{6}|[0-9]{9}|[0-9]{12})$"},
          "only this area (and the areas below it); must be inside my scope"),
    param("state", {"enum": list(NOTICE_STATES)}, "only notices in this state"),
    param("kind", {"enum": list(NOTICE_KINDS)}, "only notices of this kind"),
    param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"),
    param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "page number, from 1"),
)


@response_schema("NoticeSummary")
def _notice_schema():
    return {"type": "object",
            "required": ["id", "area", "subject", "deadline", "status", "state", "replies", "replied_late"],
            "properties": {
                "id": {"type": "string"}, "area": {"type": "string"}, "subject": {"type": ["string", "null"]},
                "deadline": {"type": ["string", "null"]}, "status": {"type": ["string", "null"]},
                "state": {"enum": list(NOTICE_STATES),
                          "description": "the written status, except that an issued notice is `replied` once "
                                         "it has a reply, else `overdue` after its deadline (Asia/Shanghai)"},
                "kind": {"type": ["string", "null"]}, "priority": {"type": ["string", "null"]},
                "dispute_id": {"type": ["string", "null"]}, "created_at": {"type": ["string", "null"]},
                "replies": {"type": "integer", "minimum": 0},
                "first_reply_at": {"type": ["string", "null"]},
                "replied_late": {"type": "boolean", "description": "the first reply came after the deadline"}}}


@response_schema("NoticePage")
def _notice_page_schema():
    return {"type": "object", "required": ["today", "items", "more"],
            "properties": {"today": {"type": "string", "format": "date"},
                           "items": {"type": "array", "items": {"$ref": "#/components/schemas/NoticeSummary"}},
                           "more": {"type": "boolean"}}}


@response_schema("NoticeReplyCreate")
def _reply_body_schema():
    return {"type": "object", "required": ["body"], "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN,
                       "description": "the reply's id, chosen by the client; a retry with the same id and body "
                                      "answers with the stored reply. Left out: the server makes one"},
                "body": {"type": "string", "minLength": 1, "maxLength": REPLY_LIMIT, "pattern": "\\S"}}}


def _iso(moment) -> str | None:
    return moment.astimezone(clock.SHANGHAI).isoformat(timespec="seconds") if moment else None


def _summary(row: notice_queries.NoticeRow) -> dict:
    return {"id": row.id, "area": row.area, "subject": row.subject, "deadline": row.deadline, "status": row.status,
            "state": row.state, "kind": row.kind, "priority": row.priority, "dispute_id": row.dispute_id,
            "created_at": _iso(row.created_at), "replies": row.replies, "first_reply_at": _iso(row.first_reply_at),
            "replied_late": row.replied_late}


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise PaichaError("invalid_parameter", name=name, reason="must be one of " + ", ".join(allowed))
    return value


@bp.get("/notices")
@operation(summary="Supervision notices (督办) of my scope, newest first, with their state", tag="notices",
           ok={200: "NoticePage"}, problems=(403,), query=NOTICE_QUERY,
           description="`state` is derived at the moment asked: a notice replied to is `replied` (even if "
                       "late: `replied_late`), an issued one past its deadline without a reply `overdue`.")
def list_notices():
    who = principal()
    area = area_filter(who) or (who.scope or "")
    state, kind = _choice("state", NOTICE_STATES), _choice("kind", NOTICE_KINDS)
    size, page = limit(), query_int("page", 1, 1, MAX_PAGE)
    today = clock.today()
    database = domain_database(who)
    rows = notice_queries.notice_page(database, area, today, state=state, kind=kind,
                                      offset=(page - 1) * size, limit=size + 1)
    items = file_access.mask_about_matters(database, who, [(r.dispute_id, _summary(r)) for r in rows[:size]])
    return ok({"today": today.isoformat(), "items": items, "more": len(rows) > size})


@bp.post("/notices/<notice_id>/replies")
@operation(summary="Reply to a supervision notice of my scope (idempotent with an id)", tag="notices",
           body="NoticeReplyCreate", ok={201: "Record", 200: "Record"}, problems=(403, 404, 409, 413, 415),
           path={"notice_id": DOC_ID_SCHEMA},
           description="The server writes a notice_reply in the notice's area: created_by (you), created_at "
                       "and replied_at (now). A notice outside my scope is 404; a closed or withdrawn one 409 "
                       "notice_not_open. A reply is kept as written: another answer is another reply.")
def reply_to_notice(notice_id: str):
    who = principal()
    if not valid_doc_id(notice_id):
        raise PaichaError("invalid_parameter", name="notice_id", reason="not a record id")
    body = json_body()
    problems = _reply_problems(body)
    if problems:
        raise invalid(problems)
    outcome = supervision.reply(domain_database(who), notice_id, body=body["body"].strip(), user=who.name,
                                now=now(), reply_id=body.get("id"))
    return ok(present(outcome.doc), 201 if outcome.created else 200)


def _reply_problems(body) -> list[str]:
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = [f"unexpected field {k!r}" for k in body if k not in ("id", "body")]
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        problems.append("body: the reply's text is required")
    elif len(text) > REPLY_LIMIT:
        problems.append(f"body: at most {REPLY_LIMIT} characters")
    if "id" in body and not (isinstance(body["id"], str) and _ID.match(body["id"])):
        problems.append("id: not a valid id (letters, digits, . _ : -; at most 200 characters)")
    return problems
