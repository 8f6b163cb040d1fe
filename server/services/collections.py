"""Collections of field records written as plain JSON, and what the server fills in for the writer.

A plain-JSON writer (the field app's API, the ledger's forms) sends a document's own fields; the
server fills in what it knows: `type` from the collection, `created_by` / `updated_by` (the caller),
`created_at` / `updated_at` (now), and a few per-type defaults (a report's `submitted_at`, a visit's
`visitor` and `visited_at`, a reply's `replied_at`).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from server.core.clock import SHANGHAI

SERVER_FILLED = ("type", "created_by", "created_at", "updated_by", "updated_at")


@dataclass(frozen=True)
class Collection:
    name: str  # URL segment: reports, disputes, visits
    doc_type: str
    noun: str  # for the OpenAPI text
    defaults: tuple[str, ...] = ()  # required fields the server can fill in

    @property
    def title(self) -> str:
        return "".join(part.capitalize() for part in self.doc_type.split("_"))


# The collections every interface writes through (the field app's API, the ledger's forms).
REPORTS = Collection("reports", "screening_report", "screening report", ("submitted_at",))
DISPUTES = Collection("disputes", "dispute", "dispute")
VISITS = Collection("visits", "household_visit", "household visit", ("visitor", "visited_at"))
REVIEWS = Collection("reviews", "report_review", "report review")
NOTICES = Collection("notices", "supervision_notice", "supervision notice")
REPLIES = Collection("replies", "notice_reply", "notice reply", ("replied_at",))
STEPS = Collection("steps", "matter_step", "matter step", ("at",))


CHILD_SEPARATOR = "~"


def child_id(prefix: str, parent_id: str, now: dt.datetime) -> str:
    """The id of a document that belongs to another (a review to its report, a reply to its notice, a
    step to its matter): `<prefix><parent id>~<UTC time to the microsecond>-<random>`, so all of one
    parent's are one range of ids, in the order they were written."""
    return f"{prefix}{parent_id}{CHILD_SEPARATOR}{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def fill(collection: Collection, fields: dict, *, user: str, now: dt.datetime, base: dict | None = None,
         updating: bool = False) -> dict:
    """The document to store: the client's fields, the type, and what the client left out taken
    from `base` (the stored document being retried or edited) or else from the caller and the clock.
    When `updating`, `updated_by` / `updated_at` are new, not taken from `base`."""
    doc = {k: v for k, v in fields.items() if k not in ("id", "rev")}
    doc.setdefault("type", collection.doc_type)
    keep_from_base = [k for k in SERVER_FILLED + collection.defaults if k != "type"]
    if updating:
        keep_from_base = [k for k in keep_from_base if k not in ("updated_by", "updated_at")]
    if base is not None:
        for key in keep_from_base:
            if key not in doc and key in base:
                doc[key] = base[key]
    doc.setdefault("created_by", user)
    doc.setdefault("created_at", stamp(now))
    if updating:
        doc.setdefault("updated_by", user)
        doc.setdefault("updated_at", stamp(now))
    defaults = {"submitted_at": doc["created_at"], "visitor": user, "visited_at": doc["created_at"],
                "replied_at": doc["created_at"], "at": doc["created_at"]}
    for key in collection.defaults:
        doc.setdefault(key, defaults[key])
    return doc
