"""The supervisor's writes (report reviews, supervision notices): documents written through the
user-bound store handle with `server.services.records`, so the schema, the role and scope rules, the
quarantine and the audit trail apply exactly as for a phone, and the document replicates to the
phones of the area (a sent-back review reaches the cadre's PouchDB)."""
from __future__ import annotations

import datetime as dt

from server.services import records
from mobile_api.payloads import Collection
from mobile_api.problems import ApiProblem, body as problem_body
from sync import errors

from server.core.auth import Principal
from server.interfaces.ledger.i18n import lang

REVIEWS = Collection("reviews", "report_review", "report review")
NOTICES = Collection("notices", "supervision_notice", "supervision notice")


def write(database, collection: Collection, doc_id: str, fields: dict, who: Principal,
          now: dt.datetime) -> str | None:
    """Create the document, or update it if it exists (a re-review); None, or what went wrong."""
    try:
        for _ in range(3):
            try:
                current = database.get(doc_id)
            except errors.NotFound:
                current = None
            try:
                if current is None:
                    records.create(database, collection, {**fields, "id": doc_id}, user=who.name, now=now)
                else:
                    records.update(database, collection, doc_id, {**fields, "rev": current["_rev"]},
                                   user=who.name, now=now)
                return None
            except ApiProblem as problem:
                if problem.code in ("id_taken", "edit_conflict"):
                    continue  # written meanwhile: read again and update that
                raise
        return "conflict"
    except ApiProblem as problem:
        detail = problem_body(problem, lang())
        return detail.get("detail") or detail.get("title") or problem.code
