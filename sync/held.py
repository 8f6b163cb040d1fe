"""Documents held back from the changes feed because a reader could not take them.

Today's writes are checked before they are stored (`docs.parse_incoming`), but a store can hold
older revisions: written by an earlier version, or brought in before a check existed. One such
document in a village's feed would stop every phone of that village at it. An administrator finds
them (`unreadable_documents`) and holds them back (`hold`): the feed then skips that revision,
with the reason kept, until a new revision replaces it or the hold is released.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa

from . import errors
from .docs import validate_attachment_name, validate_doc_id, validate_rev
from .jsonio import loads_stored, text_problem
from .tables import databases, documents, held_docs, revisions

SCAN_PAGE = 500


@dataclass(frozen=True)
class HeldDocument:
    doc_id: str
    rev: str
    reason: str
    held_at: dt.datetime | None = None


def held_revisions(conn: sa.Connection, db_id: int) -> dict[str, str]:
    """{doc id: held revision} of one database: read with every page of the feed (the table is
    empty but for the rare document an administrator held back)."""
    return dict(conn.execute(_HELD, {"db": db_id}).all())


_HELD = sa.select(held_docs.c.doc_id, held_docs.c.rev).where(held_docs.c.db_id == sa.bindparam("db"))


def unreadable_reason(doc_id: str, rev: str, body_text: str | None) -> str | None:
    """Why a reader could not take this revision, or None. The same checks a write passes today."""
    try:
        validate_doc_id(doc_id)
        validate_rev(rev)
    except errors.CouchError as exc:
        return exc.reason
    if body_text is None:
        return "The revision's body is missing from the store."
    try:
        body = loads_stored(body_text)
    except ValueError as exc:
        return f"The stored body is not JSON: {exc}"
    if not isinstance(body, dict):
        return "The stored body is not a JSON object."
    problem = text_problem(body)
    if problem:
        return f"The document cannot be sent as it is: {problem.message}."
    attachments = body.get("_attachments")
    if attachments is not None:
        if not isinstance(attachments, dict):
            return "_attachments is not a JSON object."
        for name in attachments:
            try:
                validate_attachment_name(name)
            except errors.CouchError as exc:
                return exc.reason
    return None


def unreadable_documents(store, db_name: str) -> Iterator[HeldDocument]:
    """Every live document of `db_name` whose winning revision a reader could not take, read page
    by page in id order (a whole province's store is never in memory at once)."""
    db_id = _db_id(store, db_name)
    after = ""
    while True:
        with store.reading() as conn:
            rows = conn.execute(
                sa.select(documents.c.doc_id, documents.c.winning_rev, documents.c.deleted, revisions.c.body)
                .select_from(documents.outerjoin(revisions, sa.and_(
                    revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
                    revisions.c.rev == documents.c.winning_rev)))
                .where(documents.c.db_id == db_id, documents.c.doc_id > after)
                .order_by(documents.c.doc_id).limit(SCAN_PAGE)
            ).all()
        for row in rows:
            if row.deleted and row.body is None:
                continue
            reason = unreadable_reason(row.doc_id, row.winning_rev, row.body)
            if reason:
                yield HeldDocument(row.doc_id, row.winning_rev, reason)
        if len(rows) < SCAN_PAGE:
            return
        after = rows[-1].doc_id


def hold(store, db_name: str, found: HeldDocument) -> None:
    """Hold back `found.rev` of the document (again, if it was held at another revision)."""
    db_id = _db_id(store, db_name)
    with store.writing() as conn:
        conn.execute(held_docs.delete().where(held_docs.c.db_id == db_id, held_docs.c.doc_id == found.doc_id))
        conn.execute(held_docs.insert().values(db_id=db_id, doc_id=found.doc_id, rev=found.rev,
                                               reason=found.reason, held_at=dt.datetime.now(dt.timezone.utc)))


def release(store, db_name: str, doc_id: str) -> bool:
    """Serve the document in the feed again; False when it was not held."""
    db_id = _db_id(store, db_name)
    with store.writing() as conn:
        return conn.execute(held_docs.delete().where(held_docs.c.db_id == db_id,
                                                     held_docs.c.doc_id == doc_id)).rowcount > 0


def held_documents(store, db_name: str) -> list[HeldDocument]:
    """The holds of a database, the ones a newer revision has replaced included (they no longer
    hold anything back; `release` tidies them)."""
    db_id = _db_id(store, db_name)
    with store.reading() as conn:
        rows = conn.execute(sa.select(held_docs.c.doc_id, held_docs.c.rev, held_docs.c.reason, held_docs.c.held_at)
                            .where(held_docs.c.db_id == db_id).order_by(held_docs.c.doc_id)).all()
    return [HeldDocument(r.doc_id, r.rev, r.reason, r.held_at) for r in rows]


def _db_id(store, db_name: str) -> int:
    with store.reading() as conn:
        db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == db_name)).scalar()
    if db_id is None:
        raise errors.DatabaseNotFound()
    return db_id
