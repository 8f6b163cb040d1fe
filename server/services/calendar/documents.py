"""The calendar's writes: the documents the server itself writes (`screening_round`, `reminder`),
each once.

Their ids are deterministic (see `periods`), so a write is "create what is missing": the ids are
looked up first, and a write that still meets an existing document (another process got there
first) is a `conflict`, counted as "already there". A document an administrator deleted is never
re-created. The server never writes a device's document.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask

from sync import errors
from sync.results import WriteResult

from server.core.access import server_access

log = logging.getLogger(__name__)

SERVER_ACCOUNT = "server"
WRITE_CHUNK = 200
LOOKUP_CHUNK = 500


@dataclass
class WriteSummary:
    created: list[str] = field(default_factory=list)
    existing: int = 0  # already there (looked up, or a conflict from a concurrent writer)
    skipped_deleted: int = 0  # deleted by an administrator: not re-created
    errors: list[WriteResult] = field(default_factory=list)  # the refused documents


def domain_database(app: Flask):
    """The domain database as the server's calendar writes it (role `server`, reads everything)."""
    return app.extensions["paicha_store"].open(app.config["PAICHA_DOMAIN_DB"], server_access(app, SERVER_ACCOUNT))


def lookup(database, ids: list[str]) -> dict[str, dict | None]:
    """{id: current doc} for ids that exist, {id: None} for deleted ones; absent ids are left out."""
    found: dict[str, dict | None] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        for row in database.all_docs(keys=ids[start:start + LOOKUP_CHUNK], include_docs=True).rows:
            if row.found:
                found[row.id] = None if row.deleted else row.doc
    return found


def write_missing(database, docs: list[dict]) -> WriteSummary:
    """Write the documents whose ids do not exist yet (never over a deletion); a conflict means a
    concurrent writer created it first, which is just as good."""
    summary = WriteSummary()
    if not docs:
        return summary
    known = lookup(database, [d["_id"] for d in docs])
    fresh = []
    for doc in docs:
        if doc["_id"] not in known:
            fresh.append(doc)
        elif known[doc["_id"]] is None:
            summary.skipped_deleted += 1
        else:
            summary.existing += 1
    for start in range(0, len(fresh), WRITE_CHUNK):
        chunk = fresh[start:start + WRITE_CHUNK]
        for doc, result in zip(chunk, database.bulk_docs(chunk)):
            if result.ok:
                summary.created.append(doc["_id"])
            elif isinstance(result.error, errors.Conflict):
                summary.existing += 1
            else:
                summary.errors.append(result)
                log.error("calendar: %s refused: %s %s", doc["_id"], result.error.error, result.error.reason)
    return summary
