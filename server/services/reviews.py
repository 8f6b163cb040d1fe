"""A report's reviews, every one kept: a re-review is a new `report_review` document, never an edit
of the last (the write rules allow district supervisors to create reviews only).

A report's review state is its latest review's status, except that a report corrected after being
sent back is `resubmitted` (awaiting a new review): kept by the calendar's read model
(`calendar_reports.review`, in `report_index`) in the order the server stored the writes.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from schemas.vocabulary import SENT_BACK
from server.services.calendar import tables
from server.services.collections import CHILD_SEPARATOR, child_id

REVIEW = "report_review"
PREFIX = "review-"
# A report's first review had the id review-<report id>; each later one is its child
# (`collections.child_id`), so all of a report's reviews are one range of ids.
ID_RANGE_END = "\ufff0"


def new_review_id(report_id: str, now: dt.datetime) -> str:
    return child_id(PREFIX, report_id, now)


def report_of(review_doc_id: str) -> str | None:
    """The report a review's id names (for a deleted review, whose body is gone)."""
    if not review_doc_id.startswith(PREFIX):
        return None
    rest = review_doc_id[len(PREFIX):]
    return rest.rsplit(CHILD_SEPARATOR, 1)[0] if CHILD_SEPARATOR in rest else rest


def trail(database, report_id: str) -> list[dict]:
    """Every review of the report the reader may see, oldest first (by review time, then id)."""
    first = PREFIX + report_id
    rows = database.all_docs(start=first, end=first + CHILD_SEPARATOR + ID_RANGE_END, include_docs=True).rows
    found = [r.doc for r in rows if r.doc and not r.deleted and r.doc.get("type") == REVIEW
             and r.doc.get("report_id") == report_id]
    return sorted(found, key=lambda d: (str(d.get("reviewed_at") or d.get("created_at") or ""), d["_id"]))


def state(conn, db_name: str, report_id: str) -> str | None:
    """The report's review state as the read model keeps it (None: not reviewed)."""
    t = tables.reports
    return conn.execute(sa.select(t.c.review).where(t.c.db_name == db_name, t.c.doc_id == report_id)).scalar()


def sent_back(conn, db_name: str, scope: str, limit: int = 100) -> list[tuple[str, str, str]]:
    """(report id, round id, area) of the live reports under `scope` whose latest review sent them
    back and that are not corrected yet."""
    t = tables.reports
    query = (sa.select(t.c.doc_id, t.c.round_id, t.c.area)
             .where(t.c.db_name == db_name, t.c.review == SENT_BACK, t.c.deleted == sa.false())
             .order_by(t.c.doc_id).limit(limit))
    if scope:
        query = query.where(t.c.area.startswith(scope, autoescape=True))
    return [tuple(row) for row in conn.execute(query)]
