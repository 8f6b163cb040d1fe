"""Read models: tables derived from the domain database's documents, kept inside the write
transaction.

A read model (the calendar's report and round index, the ledger's records, ...) is kept by a
*projection*: a function that is given the documents a write changed, each as it stands once the
write is applied (its winning revision: a replicated losing branch changes nothing; None once
deleted), and brings its table up to date on the write's own connection. The table then commits or
rolls back with the documents, and no reader has to bring it up to date first. Every write path
projects, because every path runs the write hooks (`server.core.hooks`): CouchDB `_bulk_docs` / PUT
/ DELETE and replication with `new_edits=false`, the REST API, the bridge, the server's own jobs.
Writers of one database queue on its counter row before the hooks run, so projections of two
writes never interleave.

Documents written before a projection existed, or a table emptied by hand, are filled in by
`rebuild` (`flask projections rebuild`): it projects every stored document again. A projection
must therefore be idempotent: projecting the same state twice leaves its table as once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import Flask

from sync.access import AcceptedWrite
from sync.jsonio import loads_stored
from sync.tables import databases, documents, revisions

from server.core.hooks import WriteContext, register_write_hook

EXTENSION = "paicha_projections"
PREPARE_EXTENSION = "paicha_projection_prepares"
REBUILD_BATCH = 500


@dataclass(frozen=True)
class DocumentState:
    """A document as a write left it."""
    doc_id: str
    seq: int
    scope: str
    rev: str | None  # the winning revision
    body: dict | None  # the winning revision's fields; None: the document is deleted
    written_type: str | None = None  # `type` of the revision the write stored (a tombstone's is often None)

    @property
    def type(self) -> str | None:
        return self.body.get("type") if self.body else None

    @property
    def deleted(self) -> bool:
        return self.body is None


Projection = Callable[[sa.Connection, str, list[DocumentState]], None]
#: Run once at the start of a rebuild, before any document is projected (on the domain database).
Prepare = Callable[[sa.Connection, str], None]


def register_projection(app: Flask, projection: Projection, prepare: Prepare | None = None) -> None:
    """Keep a read model from now on (in registration order, after the write hooks registered
    before the first projection: the audit trail a projection may read is written by then).
    `prepare` is what a rebuild does first for it (a read model whose rows depend on an order the
    batches of a rebuild do not follow, such as first receipt)."""
    projections: list[Projection] = app.extensions.setdefault(EXTENSION, [])
    if not projections:
        register_write_hook(app, _project_writes(app))
    if projection not in projections:
        projections.append(projection)
        if prepare is not None:
            app.extensions.setdefault(PREPARE_EXTENSION, []).append(prepare)


def projections(app: Flask) -> list[Projection]:
    return list(app.extensions.get(EXTENSION, []))


def _project_writes(app: Flask):
    def project_writes(conn: sa.Connection, context: WriteContext, writes: list[AcceptedWrite]) -> None:
        if not writes or context.db_name != app.config["PAICHA_DOMAIN_DB"]:
            return
        states = states_after(conn, context.db_name, writes)
        for projection in projections(app):
            projection(conn, context.db_name, states)

    return project_writes


def states_after(conn: sa.Connection, db_name: str, writes: list[AcceptedWrite]) -> list[DocumentState]:
    """Each written document once the batch is applied. The engine tells every write which revision
    won (the last write of a document carries its final seq and scope); a winner the write did not
    bring is read from the store."""
    latest: dict[str, AcceptedWrite] = {}
    for w in writes:
        latest[w.doc_id] = w
    elsewhere = [w for w in latest.values() if not w.winner_deleted and w.winning_rev != w.rev]
    bodies = _winning_bodies(conn, db_name, elsewhere) if elsewhere else {}
    states = []
    for doc_id, w in latest.items():
        if w.winner_deleted:
            body = None
        elif w.winning_rev == w.rev:
            body = w.body
        else:
            body = bodies.get(doc_id)
        states.append(DocumentState(doc_id, w.seq, w.scope, w.winning_rev, body, (w.body or {}).get("type")))
    return states


def _winning_bodies(conn: sa.Connection, db_name: str, writes: list[AcceptedWrite]) -> dict[str, dict]:
    db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
    wanted = sa.tuple_(revisions.c.doc_id, revisions.c.rev).in_([(w.doc_id, w.winning_rev) for w in writes])
    rows = conn.execute(sa.select(revisions.c.doc_id, revisions.c.body)
                        .where(revisions.c.db_id == db_id, wanted)).all()
    return {doc_id: loads_stored(text) for doc_id, text in rows if text}


def rebuild(app: Flask, store, batch: int = REBUILD_BATCH) -> int:
    """Project every document of the domain database again (deleted ones too), in seq order, one
    transaction per batch; returns how many documents were projected. Writers keep writing
    meanwhile: a batch holds the database's counter row like a write, and a document written after
    its batch was read is projected by its own write."""
    db_name = app.config["PAICHA_DOMAIN_DB"]
    winner = sa.and_(revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
                     revisions.c.rev == documents.c.winning_rev)
    done, after = 0, 0
    prepares = list(app.extensions.get(PREPARE_EXTENSION, []))
    if prepares:
        with store.writing() as conn:
            exists = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)
                                  .with_for_update()).scalar()
            if exists is not None:
                for prepare in prepares:
                    prepare(conn, db_name)
    while True:
        with store.writing() as conn:
            db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)
                                 .with_for_update()).scalar()
            if db_id is None:
                return done
            rows = conn.execute(
                sa.select(documents.c.doc_id, documents.c.seq, documents.c.scope, documents.c.winning_rev,
                          documents.c.deleted, revisions.c.body)
                .select_from(documents.outerjoin(revisions, winner))
                .where(documents.c.db_id == db_id, documents.c.seq > after)
                .order_by(documents.c.seq).limit(batch)).all()
            states = []
            for row in rows:
                body = None if row.deleted or not row.body else loads_stored(row.body)
                states.append(DocumentState(row.doc_id, row.seq, row.scope, row.winning_rev, body,
                                            body.get("type") if body else None))
            for projection in projections(app):
                projection(conn, db_name, states)
        done += len(rows)
        if len(rows) < batch:
            return done
        after = rows[-1].seq
