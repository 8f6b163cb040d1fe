"""Tiny queries over the domain database, each given the user-bound `Database` handle.

SQL only finds candidate ids (documents of a type in the reader's scope, in id order); the documents
themselves are then loaded through the handle, whose reads the engine limits to the reader's scope,
and checked in Python. The SQL filter is a plain text match on the stored JSON (`"type":"..."`): a
prefilter, never the final word, so it cannot let a wrong document through, and it works the same on
SQLite and PostgreSQL whatever a document contains.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import sqlalchemy as sa

from sync.sql import scope_clause
from sync.tables import documents, revisions

BATCH = 200
LOOKUP_CHUNK = 500


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(value: str):
    return revisions.c.body.like(f"%{_like(value)}%", escape="\\")


def _type_clause(doc_type: str):
    # The engine stores compact JSON; the pattern also allows a space after the colon.
    return revisions.c.body.like(f'%"type":%"{_like(doc_type)}"%', escape="\\")


def candidate_ids(database, doc_type: str, *, after: str | None = None, limit: int | None = None,
                  area: str | None = None, mentions: Iterable[str] = (), text: str | None = None) -> list[str]:
    """Ids of live documents that may be of `doc_type`, inside the reader's scope (and `area`), in id
    order after `after`. `mentions`: the JSON text quotes one of these strings; `text`: contains it
    (case-insensitive)."""
    joined = documents.join(revisions, sa.and_(
        revisions.c.db_id == documents.c.db_id, revisions.c.doc_id == documents.c.doc_id,
        revisions.c.rev == documents.c.winning_rev))
    stmt = (sa.select(documents.c.doc_id).select_from(joined)
            .where(documents.c.db_id == database.id, documents.c.deleted == sa.false(), _type_clause(doc_type)))
    for clause in (scope_clause(documents.c.scope, database.access.read_prefixes),
                   scope_clause(documents.c.scope, (area,)) if area else None):
        if clause is not None:
            stmt = stmt.where(clause)
    mentions = list(mentions)
    if mentions:
        stmt = stmt.where(sa.or_(*[_contains(f'"{m}"') for m in mentions]))
    if text:
        stmt = stmt.where(revisions.c.body.ilike(f"%{_like(text)}%", escape="\\"))
    if after is not None:
        stmt = stmt.where(documents.c.doc_id > after)
    stmt = stmt.order_by(documents.c.doc_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with database.store.reading() as conn:
        return list(conn.execute(stmt).scalars())


def load(database, ids: list[str]) -> list[dict]:
    """The current documents for these ids, in the same order; deleted or invisible ones left out."""
    out = []
    for start in range(0, len(ids), LOOKUP_CHUNK):
        rows = database.all_docs(keys=ids[start:start + LOOKUP_CHUNK], include_docs=True).rows
        out.extend(r.doc for r in rows if r.doc and not r.deleted)
    return out


@dataclass
class Page:
    items: list[dict]
    next_after: str | None  # the id to continue after, None at the end


def page(database, doc_type: str, *, limit: int, after: str | None = None, area: str | None = None,
         text: str | None = None, keep: Callable[[dict], bool] = lambda doc: True) -> Page:
    """One page of documents of `doc_type` in id order, filtered by `keep`."""
    found: list[dict] = []
    cursor = after
    while True:
        ids = candidate_ids(database, doc_type, after=cursor, limit=BATCH, area=area, text=text)
        for doc in load(database, ids):
            if doc.get("type") == doc_type and keep(doc):
                found.append(doc)
                if len(found) > limit:
                    return Page(found[:limit], found[limit - 1]["_id"])
        if len(ids) < BATCH:
            return Page(found, None)
        cursor = ids[-1]


def all_of_type(database, doc_type: str, *, area: str | None = None, mentions: Iterable[str] = (),
                keep: Callable[[dict], bool] = lambda doc: True) -> list[dict]:
    mentions = list(mentions)
    out: list[dict] = []
    cursor = None
    while True:
        ids = candidate_ids(database, doc_type, after=cursor, limit=BATCH, area=area, mentions=mentions)
        out.extend(d for d in load(database, ids) if d.get("type") == doc_type and keep(d))
        if len(ids) < BATCH:
            return out
        cursor = ids[-1]


def household_matches(query: str) -> Callable[[dict], bool]:
    """Household search: the words of `query` each appear in the address or the head's name."""
    words = [w.casefold() for w in query.split()]

    def keep(doc: dict) -> bool:
        text = " ".join(str(doc.get(k) or "") for k in ("address", "head_name")).casefold()
        return all(w in text for w in words)

    return keep
