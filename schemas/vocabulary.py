"""The documents' enumerations, read from their JSON Schemas (the contract shared with the phones),
so the server's lists cannot drift from what the phones may write; and the few named subsets the
server's rules use, checked against them."""
from __future__ import annotations

from ._loader import load_schema


def enum_of(doc_type: str, field: str) -> tuple[str, ...]:
    """The values a top-level field of a document type may take, in the schema's order."""
    values = load_schema(doc_type)["properties"][field].get("enum")
    if not values:
        raise LookupError(f"{doc_type}.{field} has no enum in its schema")
    return tuple(values)


def _subset(of: tuple[str, ...], *values: str) -> tuple[str, ...]:
    missing = [v for v in values if v not in of]
    if missing:
        raise LookupError(f"{missing} are not among {of}: the schema changed")
    return values


DISPUTE_CATEGORIES = enum_of("dispute", "category")
RISK_LEVELS = enum_of("dispute", "risk_level")
DISPUTE_STATUSES = enum_of("dispute", "status")
SATISFACTION = enum_of("dispute", "satisfaction")
REVIEW_STATUSES = enum_of("report_review", "status")
NOTICE_STATUSES = enum_of("supervision_notice", "status")
ROUND_LEVELS = enum_of("screening_round", "level")
REMINDER_KINDS = enum_of("reminder", "kind")
NOTICE_KINDS = enum_of("supervision_notice", "kind")
NOTICE_PRIORITIES = enum_of("supervision_notice", "priority")
NOTICE_METHODS = tuple(load_schema("supervision_notice")["$defs"]["method"]["enum"])

#: A dispute still being handled.
OPEN_DISPUTE_STATUSES = _subset(DISPUTE_STATUSES, "registered", "mediating", "escalated")
#: The risks the ledger's key-dispute lists and the quarterly round-up follow.
KEY_RISK_LEVELS = _subset(RISK_LEVELS, "high", "key")
#: A resolution the parties were satisfied with (the satisfaction rate's numerator).
SATISFIED = _subset(SATISFACTION, "satisfied", "basically")
#: Reviews that send a report back with a comment.
REVIEWS_NEEDING_COMMENT = _subset(REVIEW_STATUSES, "has_issues", "sent_back")
SENT_BACK = _subset(REVIEW_STATUSES, "sent_back")[0]
#: A report's review state besides its latest review's status: corrected after being sent back,
#: awaiting a new review (derived, never written in a review).
RESUBMITTED = "resubmitted"
REVIEW_STATES = REVIEW_STATUSES + (RESUBMITTED,)
#: A notice's state as the ledger and the API show it: its written status (issued, closed,
#: withdrawn), except that an issued notice is `replied` once it has a reply, else `overdue` once its
#: deadline has passed (both derived, never written).
NOTICE_ISSUED, NOTICE_CLOSED, NOTICE_WITHDRAWN = _subset(NOTICE_STATUSES, "issued", "closed", "withdrawn")
NOTICE_REPLIED, NOTICE_OVERDUE = "replied", "overdue"
NOTICE_STATES = (NOTICE_ISSUED, NOTICE_REPLIED, NOTICE_OVERDUE, NOTICE_CLOSED, NOTICE_WITHDRAWN)

#: A matter's steps (事项办理: each its own `matter_step` document), their enumerations.
STEP_KINDS = enum_of("matter_step", "kind")
(STEP_ACCEPT, STEP_REJECT, STEP_ASSIGN, STEP_TRANSFER, STEP_EXTEND, STEP_HANDLE, STEP_REPLY, STEP_EVALUATE,
 STEP_CLOSE, STEP_CONCLUDE, STEP_REOPEN) = STEP_KINDS
HANDLE_METHODS = enum_of("matter_step", "method")
HEARING = _subset(HANDLE_METHODS, "hearing")[0]
REPLY_CHANNELS = enum_of("matter_step", "channel")
EVALUATION_RESULTS = enum_of("matter_step", "result")
EVALUATION_VIA = enum_of("matter_step", "collected_via")
#: A matter's stage, derived from its steps in time order (never written): registered until a
#: step moves it; a reopened matter is back to handling.
MATTER_STAGES = ("registered", "accepted", "rejected", "assigned", "transferred", "handling", "replied",
                 "evaluated", "closed", "concluded")
#: Stages in which the matter is no longer handled by the office (no handling deadline runs).
FINISHED_STAGES = ("rejected", "transferred", "closed", "concluded")
