"""What a CouchDB request did for a replication, as the HTTP views state it, for whoever counts
(the server's metrics); the views know, so no one has to guess it from endpoint names.

    checkpoint_read    a replicator read its checkpoint (found or not): a replication session starts
    checkpoint_write   a replicator wrote its checkpoint: a batch is done
    docs_sent          `docs` revisions went out (_bulk_get, GET of a document or its open_revs)
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

CHECKPOINT_READ = "checkpoint_read"
CHECKPOINT_WRITE = "checkpoint_write"
DOCS_SENT = "docs_sent"


@dataclass(frozen=True)
class ReplicationStep:
    db: str
    kind: str
    docs: int = 0


def state(db: str, kind: str, docs: int = 0) -> None:
    g.couch_replication_step = ReplicationStep(db, kind, docs)


def docs_sent(db: str, docs: int) -> None:
    if request.method != "HEAD":  # a HEAD answers without the documents
        state(db, DOCS_SENT, docs)


def stated() -> ReplicationStep | None:
    """The step the current request stated, if any."""
    return g.get("couch_replication_step")
