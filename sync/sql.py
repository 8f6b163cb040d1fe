"""The statements the engine runs on every request, built once, per dialect where the dialects
differ, and the lookups that run them: a document's row, revision bodies, the counters, the
`_local` documents.

Building a SQLAlchemy expression costs more than running it on a small table (a checkpoint read is
one of four requests per replication batch), so what the hot paths run is built here at import.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from . import jsonio, treecodec
from .tables import databases, documents, local_docs, revisions

IN_CHUNK = 500  # bound on ids per IN (...) clause
PAIRS_CHUNK = 200  # pairs per query (SQLite's parser nests each OR one level deeper; its limit is 1000)


@dataclass
class DocRow:
    """A document's row: where it is read, its winner, its revision tree."""
    doc_id: str
    scope: str
    seq: int | None
    winning_rev: str
    deleted: bool
    tree: list
    exists: bool = True  # False until first inserted
    was_deleted: bool | None = None
    changed: bool = False

    @classmethod
    def from_sql(cls, row) -> "DocRow":
        return cls(row.doc_id, row.scope, row.seq, row.winning_rev, row.deleted, treecodec.decode(row.rev_tree),
                   was_deleted=row.deleted)


def scope_clause(column, prefixes: tuple[str, ...] | None):
    """Prefix match as index ranges: scope >= p AND scope < next(p)."""
    if prefixes is None or "" in prefixes:
        return None
    if not prefixes:
        return sa.false()
    ranges = []
    for p in prefixes:
        upper = p[:-1] + chr(ord(p[-1]) + 1)
        ranges.append(sa.and_(column >= p, column < upper))
    return ranges[0] if len(ranges) == 1 else sa.or_(*ranges)


# -- documents by id -------------------------------------------------------------------------------
_ROWS_BY_ID = (sa.select(documents).where(documents.c.db_id == sa.bindparam("k_db"),
                                          documents.c.doc_id.in_(sa.bindparam("k_ids", expanding=True)))
               .order_by(documents.c.doc_id))
_ROWS_BY_ID_FOR_UPDATE = _ROWS_BY_ID.with_for_update()


def _pg_rows_by_id(lock: str) -> sa.TextClause:
    """PostgreSQL takes the ids as one array: a short statement that psycopg converts and PostgreSQL
    parses once, where an expanded IN of 100 parameters was rebuilt by both for every batch.

    Each id is one primary-key probe whatever the statistics say (a LATERAL subquery with a LIMIT is
    not flattened into a join): with `doc_id = ANY(:ids)` and stale statistics (autovacuum off, or a
    table grown since its last ANALYZE) the planner read the database's every document and filtered,
    1.4 ms for 100 ids among 10 000 and growing with the store. The ids come sorted, so FOR UPDATE
    locks rows in id order, as every writer does."""
    columns = ", ".join(c.name for c in documents.c)
    return sa.text(
        f"SELECT d.* FROM unnest(:k_ids) AS p(doc_id) CROSS JOIN LATERAL (SELECT {columns} FROM "
        f"{documents.name} WHERE db_id = :k_db AND doc_id = p.doc_id LIMIT 1 {lock}) AS d ORDER BY d.doc_id"
    ).bindparams(sa.bindparam("k_ids", type_=ARRAY(sa.Text)))


_PG_ROWS_BY_ID = _pg_rows_by_id("")
_PG_ROWS_BY_ID_FOR_UPDATE = _pg_rows_by_id("FOR UPDATE")


def load_rows(conn, db_id: int, ids: Iterable[str], for_update: bool = False) -> dict[str, DocRow]:
    """The rows of the documents with these ids that exist, by id (locked for the write with
    `for_update`, in id order)."""
    ids = sorted({doc_id for doc_id in ids if "\x00" not in doc_id})  # never stored (PostgreSQL can't)
    found: dict[str, DocRow] = {}
    if conn.dialect.name == "postgresql":
        stmt = _PG_ROWS_BY_ID_FOR_UPDATE if for_update else _PG_ROWS_BY_ID
    else:
        stmt = _ROWS_BY_ID_FOR_UPDATE if for_update else _ROWS_BY_ID
    for start in range(0, len(ids), IN_CHUNK):
        for row in conn.execute(stmt, {"k_db": db_id, "k_ids": ids[start:start + IN_CHUNK]}).all():
            found[row.doc_id] = DocRow.from_sql(row)
    return found


# -- revision bodies -------------------------------------------------------------------------------
_REVISION_BODY = sa.select(revisions.c.deleted, revisions.c.body).where(
    revisions.c.db_id == sa.bindparam("k_db"), revisions.c.doc_id == sa.bindparam("k_doc"),
    revisions.c.rev == sa.bindparam("k_rev"))
_BODIES_OF_DOCUMENT = sa.select(revisions.c.body).where(
    revisions.c.db_id == sa.bindparam("k_db"), revisions.c.doc_id == sa.bindparam("k_doc"))


def load_body(conn, db_id: int, doc_id: str, rev: str) -> tuple[bool, dict] | None:
    """(deleted, body) of one revision, or None."""
    row = conn.execute(_REVISION_BODY, {"k_db": db_id, "k_doc": doc_id, "k_rev": rev}).first()
    return None if row is None else (row.deleted, jsonio.loads_stored(row.body))


def bodies_of_document(conn, db_id: int, doc_id: str) -> Iterable[dict]:
    """The stored bodies of every revision of a document, read as they are needed."""
    return (jsonio.loads_stored(body) for body in conn.execute(
        _BODIES_OF_DOCUMENT, {"k_db": db_id, "k_doc": doc_id}).scalars())


def load_revision_bodies(conn, db_id: int, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[bool, dict]]:
    """(deleted, body) of many revisions by (doc_id, rev), each found through the primary key.

    SQLite uses no index for a row-value `IN (VALUES ...)`: it scans every revision of the database
    (a village phone's `_bulk_get` then grows with the whole store). An OR of full-key equalities is
    one primary-key probe per pair there (each OR term must name db_id for that); PostgreSQL joins
    the pairs given as two arrays. Both statements are plain SQL made once per size: building them
    as SQLAlchemy expressions took half of a `_bulk_get`."""
    pairs = sorted(set(pairs))
    out = {}
    for start in range(0, len(pairs), PAIRS_CHUNK):
        chunk = pairs[start:start + PAIRS_CHUNK]
        if conn.dialect.name == "postgresql":
            result = conn.execute(_PG_REVISIONS_BY_PAIRS, {"db": db_id, "ids": [d for d, _ in chunk],
                                                           "revs": [r for _, r in chunk]})
        else:
            result = conn.exec_driver_sql(_sqlite_revisions_by_pairs(len(chunk)),
                                          tuple(v for doc_id, rev in chunk for v in (db_id, doc_id, rev)))
        for doc_id, rev, deleted, body in result:
            out[(doc_id, rev)] = (bool(deleted), jsonio.loads_stored(body))
    return out


# Each pair is one primary-key probe whatever the statistics say: a LATERAL subquery with a LIMIT is
# not flattened into a join. A plain join let the planner hash the database's every revision when its
# statistics were stale (autovacuum off, or a table grown since its last ANALYZE): 3 ms for 100 pairs
# among 3 000 revisions, and growing with the store.
_PG_REVISIONS_BY_PAIRS = sa.text(
    "SELECT r.doc_id, r.rev, r.deleted, r.body FROM unnest(:ids, :revs) AS p(doc_id, rev) "
    f"CROSS JOIN LATERAL (SELECT doc_id, rev, deleted, body FROM {revisions.name} "
    "WHERE db_id = :db AND doc_id = p.doc_id AND rev = p.rev LIMIT 1) AS r"
).bindparams(sa.bindparam("ids", type_=ARRAY(sa.Text)), sa.bindparam("revs", type_=ARRAY(sa.Text)))


@functools.lru_cache(maxsize=PAIRS_CHUNK)
def _sqlite_revisions_by_pairs(count: int) -> str:
    terms = " OR ".join(["(db_id = ? AND doc_id = ? AND rev = ?)"] * count)
    return f"SELECT doc_id, rev, deleted, body FROM {revisions.name} WHERE {terms}"


# -- a write's statements --------------------------------------------------------------------------
_DOCUMENT_COLUMNS = ("seq", "scope", "winning_rev", "deleted", "rev_tree")
DOCUMENT_UPDATE = (documents.update()
                   .where(documents.c.db_id == sa.bindparam("k_db"), documents.c.doc_id == sa.bindparam("k_doc"))
                   .values({c: sa.bindparam(c) for c in _DOCUMENT_COLUMNS}))
DOCUMENT_INSERT = documents.insert().values(db_id=sa.bindparam("k_db"), doc_id=sa.bindparam("k_doc"),
                                            **{c: sa.bindparam(c) for c in _DOCUMENT_COLUMNS})
REVISION_INSERT = revisions.insert()
COUNTERS_ADVANCE = (databases.update().where(databases.c.id == sa.bindparam("k_db"))
                    .values(update_seq=databases.c.update_seq + sa.bindparam("changed", type_=sa.BigInteger),
                            doc_count=databases.c.doc_count + sa.bindparam("doc_delta", type_=sa.BigInteger),
                            doc_del_count=databases.c.doc_del_count + sa.bindparam("del_delta", type_=sa.BigInteger))
                    .returning(databases.c.update_seq))
# On PostgreSQL the same statement also queues the change notice for the other server processes
# (notify.py), which PostgreSQL delivers at commit: no statement of its own after the commit, on a
# connection that every writer of the process took turns on.
PG_COUNTERS_ADVANCE_WITH_NOTICE = COUNTERS_ADVANCE.returning(sa.func.pg_notify(
    sa.cast(sa.bindparam("k_channel"), sa.Text),
    sa.cast(sa.func.json_build_object(sa.literal_column("'p'"), sa.cast(sa.bindparam("k_token"), sa.Text),
                                      sa.literal_column("'db'"), databases.c.name,
                                      sa.literal_column("'seq'"), databases.c.update_seq), sa.Text)))


def delete_revisions(conn, db_id: int, doc_id: str, revs: Iterable[str]) -> None:
    """Drop revisions stemmed from a document's tree (past its revs limit)."""
    conn.execute(revisions.delete().where(revisions.c.db_id == db_id, revisions.c.doc_id == doc_id,
                                          revisions.c.rev.in_(list(revs))))


# -- `_local` documents ----------------------------------------------------------------------------
_LOCAL_WHERE = sa.and_(local_docs.c.db_id == sa.bindparam("k_db"), local_docs.c.owner == sa.bindparam("k_owner"),
                       local_docs.c.doc_id == sa.bindparam("k_doc"))
LOCAL_SELECT = sa.select(local_docs.c.rev, local_docs.c.body).where(_LOCAL_WHERE)
LOCAL_DELETE = local_docs.delete().where(_LOCAL_WHERE)
LOCAL_UPDATE_IF_AT = (local_docs.update().where(_LOCAL_WHERE, local_docs.c.rev == sa.bindparam("expected"))
                      .values(rev=sa.bindparam("rev"), body=sa.bindparam("body")).returning(local_docs.c.rev))


@functools.cache
def local_insert_new(dialect: str):
    """An insert of a new `_local` document that writes nothing when it is there already."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    return (insert(local_docs).values(db_id=sa.bindparam("k_db"), owner=sa.bindparam("k_owner"),
                                      doc_id=sa.bindparam("k_doc"), rev=sa.bindparam("rev"), body=sa.bindparam("body"))
            .on_conflict_do_nothing().returning(local_docs.c.rev))
