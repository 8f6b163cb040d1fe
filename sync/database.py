"""One database opened for one user: every read is limited to the user's scopes, every write is
checked by the host's rules, and the changes feed never skips a committed change."""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from schemas.rules import Refusal

from . import attachments as atts
from . import errors, jsonio, revtree, treecodec
from .access import Access, AcceptedWrite, DbRules, WriteAttempt
from .docs import (BODY_MEMBERS, MAX_DOCUMENT_BYTES, IncomingDoc, UnreadableDoc, canonical_json, claimed_id,
                   encoded_size, new_rev_hash, outgoing, parse_incoming, stored_body, validate_rev)
from .jsonio import dumps_stored
from .precompiled import execute_many
from .tables import databases, documents, local_docs, revisions

log = logging.getLogger(__name__)

IN_CHUNK = 500  # bound on ids per IN (...) clause
SCOPE_PROBE = 5000  # a scope with fewer documents than this is read through the scope index
WRITE_RETRIES = 5
NARROW_SCOPE_SECONDS = 60.0  # how long a store trusts a scope_is_narrow answer


@dataclass
class DocRow:
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


@dataclass
class WriteOutcome:
    results: list
    accepted: list[AcceptedWrite] = field(default_factory=list)
    refused: list[tuple[WriteAttempt, str]] = field(default_factory=list)
    # Revision rows written in one executemany at the end; readable before that by later edits
    # of the same document in the batch.
    new_revisions: dict[tuple[str, str], tuple[bool, dict]] = field(default_factory=dict)
    # Bodies of the edited documents' winners when the batch began, read together.
    winner_bodies: dict[tuple[str, str], tuple[bool, dict]] = field(default_factory=dict)
    # The commit carried the change notice to the other processes (notify.commit_notice).
    notice_sent: bool = False


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


PAIRS_CHUNK = 200  # pairs per query (SQLite's parser nests each OR one level deeper; its limit is 1000)
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


# Statements of the per-request hot paths, built once: building a SQLAlchemy expression costs more
# than running it on a small table (a checkpoint read is one of four requests per replication batch).
_LOCAL_WHERE = sa.and_(local_docs.c.db_id == sa.bindparam("k_db"), local_docs.c.owner == sa.bindparam("k_owner"),
                       local_docs.c.doc_id == sa.bindparam("k_doc"))
_LOCAL_SELECT = sa.select(local_docs.c.rev, local_docs.c.body).where(_LOCAL_WHERE)
_LOCAL_DELETE = local_docs.delete().where(_LOCAL_WHERE)
_LOCAL_UPDATE_IF_AT = (local_docs.update().where(_LOCAL_WHERE, local_docs.c.rev == sa.bindparam("expected"))
                       .values(rev=sa.bindparam("rev"), body=sa.bindparam("body")).returning(local_docs.c.rev))


@functools.cache
def _local_insert_new(dialect: str):
    from sqlalchemy.dialects import postgresql, sqlite

    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    return (insert(local_docs).values(db_id=sa.bindparam("k_db"), owner=sa.bindparam("k_owner"),
                                      doc_id=sa.bindparam("k_doc"), rev=sa.bindparam("rev"), body=sa.bindparam("body"))
            .on_conflict_do_nothing().returning(local_docs.c.rev))


# Members of a `_local` document read as CouchDB's couch_doc:transfer_fields reads them; none of
# them is kept in its body (attachments are not kept on a `_local` document).
_LOCAL_READ_MEMBERS = frozenset({"_id", "_rev", "_deleted", "_revisions", "_attachments", "_revs_info",
                                 "_conflicts", "_deleted_conflicts", "_local_seq"})


def _local_body(raw: dict) -> dict:
    body = {}
    for key, value in raw.items():
        if key in _LOCAL_READ_MEMBERS:
            wrong_type = (key == "_deleted" and not isinstance(value, bool)
                          or key == "_revisions" and not isinstance(value, dict))
            if wrong_type:  # CouchDB then reads it as an unknown member
                raise errors.DocValidation(f"Bad special document member: {key}")
            continue
        if key.startswith("_") and key not in BODY_MEMBERS:
            raise errors.DocValidation(f"Bad special document member: {key}")
        body[key] = value
    return body


def _local_rev(raw: dict) -> str | None:
    """The revision a `_local` write names: `_revisions` when given (CouchDB takes it over `_rev`),
    else `_rev`."""
    revisions = raw.get("_revisions")
    if revisions is None:
        return raw.get("_rev")
    start, ids = revisions.get("start"), revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool):
        raise errors.DocValidation("_revisions.start isn't an integer.")
    if not isinstance(ids, list):
        raise errors.DocValidation("_revisions.ids isn't a array.")
    if not all(isinstance(i, str) for i in ids):
        raise errors.DocValidation("RevId isn't a string")
    if not ids:
        return None if start == 0 else f"{start}-"
    return f"{start}-{ids[0]}"


def _local_number(rev) -> int | None:
    """N of a `_local` revision "0-N", or None when `rev` is not one (so matches none stored)."""
    if not isinstance(rev, str) or not rev.startswith("0-") or not rev[2:].isdigit():
        return None
    return int(rev[2:])


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
_DOCUMENT_COLUMNS = ("seq", "scope", "winning_rev", "deleted", "rev_tree")
_DOCUMENT_UPDATE = (documents.update()
                    .where(documents.c.db_id == sa.bindparam("k_db"), documents.c.doc_id == sa.bindparam("k_doc"))
                    .values({c: sa.bindparam(c) for c in _DOCUMENT_COLUMNS}))
_DOCUMENT_INSERT = documents.insert().values(db_id=sa.bindparam("k_db"), doc_id=sa.bindparam("k_doc"),
                                             **{c: sa.bindparam(c) for c in _DOCUMENT_COLUMNS})
_REVISION_INSERT = revisions.insert()
_COUNTERS_ADVANCE = (databases.update().where(databases.c.id == sa.bindparam("k_db"))
                     .values(update_seq=databases.c.update_seq + sa.bindparam("changed", type_=sa.BigInteger),
                             doc_count=databases.c.doc_count + sa.bindparam("doc_delta", type_=sa.BigInteger),
                             doc_del_count=databases.c.doc_del_count + sa.bindparam("del_delta", type_=sa.BigInteger))
                     .returning(databases.c.update_seq))
# On PostgreSQL the same statement also queues the change notice for the other server processes
# (notify.py), which PostgreSQL delivers at commit: no statement of its own after the commit, on a
# connection that every writer of the process took turns on.
_PG_COUNTERS_ADVANCE_WITH_NOTICE = _COUNTERS_ADVANCE.returning(sa.func.pg_notify(
    sa.cast(sa.bindparam("k_channel"), sa.Text),
    sa.cast(sa.func.json_build_object(sa.literal_column("'p'"), sa.cast(sa.bindparam("k_token"), sa.Text),
                                      sa.literal_column("'db'"), databases.c.name,
                                      sa.literal_column("'seq'"), databases.c.update_seq), sa.Text)))


class Database:
    def __init__(self, store, name: str, db_id: int, access: Access, rules: DbRules) -> None:
        self.store = store
        self.name = name
        self.id = db_id
        self.access = access
        self.rules = rules
        self._narrow: bool | None = None

    # -- shared helpers -------------------------------------------------------------------------
    def _scoped(self, stmt):
        clause = scope_clause(documents.c.scope, self.access.read_prefixes)
        return stmt if clause is None else stmt.where(clause)

    def scope_is_narrow(self, conn) -> bool:
        """Whether the reader's scope holds few documents, so a feed should walk the
        (db, scope, seq) index and sort, rather than walk every change in seq order filtering by
        scope. Decided by counting at most SCOPE_PROBE index entries: a village's first sync then
        costs the same in a store of ten thousand or ten million documents."""
        if scope_clause(documents.c.scope, self.access.read_prefixes) is None:
            return False
        if self._narrow is None:
            # Only a choice of plan (both give the same rows), so a store remembers it for a while
            # rather than probing on every request of a replicating phone.
            key = (self.id, self.access.read_prefixes)
            known = self.store.narrow_scopes.get(key)
            if known is not None and known[0] > time.monotonic():
                self._narrow = known[1]
                return self._narrow
            probe = self._scoped(sa.select(documents.c.seq).where(documents.c.db_id == self.id)).limit(SCOPE_PROBE)
            found = conn.execute(sa.select(sa.func.count()).select_from(probe.subquery())).scalar_one()
            self._narrow = found < SCOPE_PROBE
            self.store.narrow_scopes.remember(key, (time.monotonic() + NARROW_SCOPE_SECONDS, self._narrow))
        return self._narrow

    def _load_rows(self, conn, ids: Iterable[str], for_update: bool = False) -> dict[str, DocRow]:
        ids = sorted({doc_id for doc_id in ids if "\x00" not in doc_id})  # never stored (PostgreSQL can't)
        found: dict[str, DocRow] = {}
        if conn.dialect.name == "postgresql":
            stmt = _PG_ROWS_BY_ID_FOR_UPDATE if for_update else _PG_ROWS_BY_ID
        else:
            stmt = _ROWS_BY_ID_FOR_UPDATE if for_update else _ROWS_BY_ID
        for start in range(0, len(ids), IN_CHUNK):
            for row in conn.execute(stmt, {"k_db": self.id, "k_ids": ids[start:start + IN_CHUNK]}).all():
                found[row.doc_id] = DocRow.from_sql(row)
        return found

    def _visible_row(self, conn, doc_id: str) -> DocRow | None:
        row = self._load_rows(conn, [doc_id]).get(doc_id)
        if row is None or not self.access.can_read_scope(row.scope):
            return None
        return row

    def _row_at(self, conn, doc_id: str, rev: str | None) -> tuple[DocRow, str]:
        """The document and the revision a read asks for (the winner when `rev` is None), or 404."""
        row = self._visible_row(conn, doc_id)
        if row is None:
            raise errors.NotFound("missing")
        if rev is None:
            if row.deleted:
                raise errors.NotFound("deleted")
            return row, row.winning_rev
        if not revtree.rev_exists(row.tree, validate_rev(rev)):
            raise errors.NotFound("missing")
        return row, rev

    def _load_body(self, conn, doc_id: str, rev: str) -> tuple[bool, dict] | None:
        row = conn.execute(
            sa.select(revisions.c.deleted, revisions.c.body).where(
                revisions.c.db_id == self.id, revisions.c.doc_id == doc_id, revisions.c.rev == rev
            )
        ).first()
        return None if row is None else (row.deleted, jsonio.loads_stored(row.body))

    # -- info -----------------------------------------------------------------------------------
    def info(self) -> dict:
        with self.store.reading() as conn:
            db = conn.execute(sa.select(databases).where(databases.c.id == self.id)).one()
            doc_count, del_count = db.doc_count, db.doc_del_count
            if scope_clause(documents.c.scope, self.access.read_prefixes) is not None:
                doc_count, del_count = self._scoped_counts(conn, db.update_seq)
        return {
            "db_name": self.name,
            "update_seq": db.update_seq,
            "doc_count": doc_count,
            "doc_del_count": del_count,
            "purge_seq": 0,
            "compact_running": False,
            "disk_format_version": 8,
            "instance_start_time": "0",
            "sizes": {"active": 0, "external": 0, "file": 0},
            "props": {},
        }

    def _scoped_counts(self, conn, update_seq: int) -> tuple[int, int]:
        """The reader's own document counts. Counting a scope walks its index, and a replicating
        phone asks for the database info after every batch, so the counts are kept per
        (scope, update_seq): any write moves update_seq, which retires them. update_seq was read
        first, so counts that already include a later write are never reused under it."""
        key = (self.id, self.access.read_prefixes)
        cached = self.store.scoped_counts.get(key)
        if cached is not None and cached[0] == update_seq:
            return cached[1], cached[2]
        counts = conn.execute(self._scoped(
            sa.select(documents.c.deleted, sa.func.count()).where(documents.c.db_id == self.id)
            .group_by(documents.c.deleted)
        )).all()
        by_deleted = {bool(d): n for d, n in counts}
        doc_count, del_count = by_deleted.get(False, 0), by_deleted.get(True, 0)
        self.store.scoped_counts.remember(key, (update_seq, doc_count, del_count))
        return doc_count, del_count

    # -- single document reads ------------------------------------------------------------------
    def get(
        self, doc_id: str, *, rev: str | None = None, revs: bool = False, revs_info: bool = False,
        conflicts: bool = False, deleted_conflicts: bool = False, attachments: bool = False,
        atts_since: list[str] | None = None, latest: bool = False, local_seq: bool = False,
    ) -> dict:
        if latest and rev is not None:
            # CouchDB (chttpd_db:db_doc_req) then opens the winning revision, whatever `rev` is.
            validate_rev(rev)
            rev = None
        with self.store.reading() as conn:
            row, rev = self._row_at(conn, doc_id, rev)
            doc = self._shape(conn, row, rev, revs=revs, attachments=attachments, atts_since=atts_since)
            if doc is None:
                raise errors.NotFound("missing")
            if revs_info:
                doc["_revs_info"] = revtree.revs_info(row.tree, rev)
            if conflicts and rev == row.winning_rev:
                found = revtree.collect_conflicts(row.tree)
                if found:
                    doc["_conflicts"] = found
            if deleted_conflicts and rev == row.winning_rev:
                found = revtree.collect_deleted_conflicts(row.tree)
                if found:
                    doc["_deleted_conflicts"] = found
            if local_seq:
                doc["_local_seq"] = row.seq
            return doc

    def _shape(self, conn, row: DocRow, rev: str, *, revs: bool, attachments: bool,
               atts_since: list[str] | None = None, body: tuple[bool, dict] | None = None) -> dict | None:
        loaded = body or self._load_body(conn, row.doc_id, rev)
        if loaded is None:
            return None
        deleted, fields = loaded
        if attachments and "_attachments" in fields:
            fields["_attachments"] = atts.inline(conn, fields["_attachments"], self._since_pos(row, rev, atts_since))
        doc = outgoing(row.doc_id, rev, deleted, fields)
        if revs:
            doc["_revisions"] = revtree.path_revisions(row.tree, rev)
        return doc

    @staticmethod
    def _since_pos(row: DocRow, rev: str, atts_since: list[str] | None) -> int:
        """The newest ancestor of `rev` the client says it has: attachments up to it stay stubs."""
        if not atts_since:
            return 0
        path = revtree.path_revisions(row.tree, rev)
        ancestors = {f"{path['start'] - i}-{h}" for i, h in enumerate(path["ids"])}
        known = [revtree.parse_rev(r)[0] for r in atts_since if r in ancestors]
        return max(known, default=0)

    def open_revs(self, doc_id: str, which, *, revs: bool = False, attachments: bool = False,
                  latest: bool = False, atts_since: list[str] | None = None) -> list[dict]:
        with self.store.reading() as conn:
            row = self._visible_row(conn, doc_id)
            if which == "all":
                if row is None:
                    raise errors.NotFound("missing")
                found, missing = [leaf["rev"] for leaf in revtree.collect_leaves(row.tree)], []
            else:
                found, missing = self._revs_to_open(row, [validate_rev(r) for r in which], latest)
            entries = [self._open_rev(conn, row, r, revs, attachments, atts_since) for r in found]
            return _in_rev_order(entries + [{"missing": r} for r in missing])

    @staticmethod
    def _revs_to_open(row: DocRow | None, wanted: list[str], latest: bool) -> tuple[list[str], list[str]]:
        """(found, missing) as CouchDB's couch_db:open_doc_revs: the revisions asked for that the
        document has (with `latest`, the leaves at or below them, each once), and the others."""
        wanted = list(dict.fromkeys(wanted))
        if row is None:
            return [], wanted
        if latest:
            return revtree.key_leafs(row.tree, wanted)
        found = [rev for rev in wanted if revtree.rev_exists(row.tree, rev)]
        return found, [rev for rev in wanted if rev not in found]

    def _open_rev(self, conn, row, rev, revs, attachments, atts_since, bodies=None) -> dict:
        loaded = bodies.get((row.doc_id, rev)) if bodies else None
        body = (loaded[0], dict(loaded[1])) if loaded else None  # _shape may replace _attachments
        doc = self._shape(conn, row, rev, revs=revs, attachments=attachments, atts_since=atts_since, body=body)
        return {"missing": rev} if doc is None else {"ok": doc}

    def _load_bodies(self, conn, keys) -> dict[tuple[str, str], tuple[bool, dict]]:
        return load_revision_bodies(conn, self.id, keys)

    def _prefetch_bulk_get(self, conn, requests: list, latest: bool):
        """The visible rows and the bodies a `_bulk_get` will return, in two bulk reads (instead
        of two queries per requested document)."""
        ids = [req["id"] for req in requests if isinstance(req, dict) and isinstance(req.get("id"), str)]
        rows = {doc_id: row for doc_id, row in self._load_rows(conn, ids).items()
                if self.access.can_read_scope(row.scope)}
        wanted = []
        for req in requests:
            row = rows.get(req.get("id")) if isinstance(req, dict) and isinstance(req.get("id"), str) else None
            if row is None:
                continue
            rev = req.get("rev")
            if rev is None:
                if not row.deleted:
                    wanted.append((row.doc_id, row.winning_rev))
                continue
            try:
                found, _missing = self._revs_to_open(row, [validate_rev(rev)], latest)
            except (errors.CouchError, ValueError):
                continue  # reported per request below
            wanted.extend((row.doc_id, r) for r in found)
        return rows, self._load_bodies(conn, wanted)

    def bulk_get(self, requests: list, *, revs: bool = False, attachments: bool = False,
                 latest: bool = False) -> list[dict]:
        results = []
        with self.store.reading() as conn:
            rows, bodies = self._prefetch_bulk_get(conn, requests, latest)
            for req in requests:
                doc_id = req.get("id") if isinstance(req, dict) else None
                rev = req.get("rev") if isinstance(req, dict) else None
                if not isinstance(doc_id, str):
                    err = {"id": doc_id, "rev": rev, "error": "bad_request", "reason": "Missing or invalid id"}
                    results.append({"id": doc_id, "docs": [{"error": err}]})
                    continue
                row = rows.get(doc_id)
                since = req.get("atts_since") if isinstance(req.get("atts_since"), list) else None
                if rev is None:
                    if row is None or row.deleted:
                        reason = "deleted" if row is not None else "missing"
                        entries = [{"error": {"id": doc_id, "rev": None, "error": "not_found", "reason": reason}}]
                    else:
                        entries = [self._open_rev(conn, row, row.winning_rev, revs, attachments, since, bodies)]
                else:
                    try:
                        found, missing = self._revs_to_open(row, [validate_rev(rev)], latest)
                        entries = _in_rev_order(
                            [self._open_rev(conn, row, r, revs, attachments, since, bodies) for r in found]
                            + [{"missing": r} for r in missing])
                    except errors.CouchError as exc:
                        entries = [{"error": {"id": doc_id, "rev": rev, "error": exc.error, "reason": exc.reason}}]
                entries = [{"error": {"id": doc_id, "rev": e["missing"], "error": "not_found", "reason": "missing"}}
                           if "missing" in e else e for e in entries]
                results.append({"id": doc_id, "docs": entries})
        return results

    def revs_diff(self, request: dict) -> dict:
        if not isinstance(request, dict):
            raise errors.BadRequest("Request body must be a JSON object.")
        for doc_id, revs in request.items():
            if not isinstance(revs, list):
                raise errors.BadRequest("Each document needs a list of revs.")
            for r in revs:
                validate_rev(r)
        out = {}
        with self.store.reading() as conn:
            rows = self._load_rows(conn, request.keys())
            for doc_id, revs in request.items():
                row = rows.get(doc_id)
                # A document out of scope looks exactly like an unknown one.
                if row is not None and not self.access.can_read_scope(row.scope):
                    row = None
                missing = [r for r in dict.fromkeys(revs) if row is None or not revtree.rev_exists(row.tree, r)]
                if not missing:
                    continue
                entry = {"missing": missing}
                if row is not None:
                    ancestors = revtree.possible_ancestors(row.tree, missing)
                    if ancestors:
                        entry["possible_ancestors"] = ancestors
                out[doc_id] = entry
        return out

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        with self.store.reading() as conn:
            _row, rev = self._row_at(conn, doc_id, rev)
            loaded = self._load_body(conn, doc_id, rev)
            stub = (loaded[1].get("_attachments") or {}).get(name) if loaded else None
            if stub is None:
                raise errors.NotFound("Document is missing attachment")
            data = atts.load_blob(conn, stub["digest"])
            if data is None:
                raise errors.NotFound("Document is missing attachment")
            return stub, data

    # -- _all_docs ------------------------------------------------------------------------------
    def all_docs(self, **options) -> tuple[int, list[dict], int]:
        """(total_rows, rows, update_seq) of `all_docs_page`."""
        total, _offset, rows, update_seq = self.all_docs_page(**options)
        return total, rows, update_seq

    def all_docs_page(
        self, *, keys: list | None = None, start=None, end=None,
        inclusive_end: bool = True, descending: bool = False, limit: int | None = None, skip: int = 0,
        include_docs: bool = False, conflicts: bool = False, attachments: bool = False,
    ) -> tuple[int, int | None, list[dict], int]:
        """(total_rows, offset, rows, update_seq) as CouchDB's `_all_docs` gives them: total_rows
        is the count of documents the reader may see (the doc_count of `info`, whatever the
        options), offset the rows before the first one (null with `keys`). `keys` are taken in
        order (reversed when descending), then `skip` and `limit` apply to them. A bound that is
        not a string sorts before every id, as in CouchDB (Erlang's term order)."""
        with self.store.reading() as conn:
            db = conn.execute(sa.select(databases.c.update_seq, databases.c.doc_count)
                              .where(databases.c.id == self.id)).one()
            update_seq, total = db.update_seq, db.doc_count
            if scope_clause(documents.c.scope, self.access.read_prefixes) is not None:
                total = self._scoped_counts(conn, update_seq)[0]
            if keys is not None:
                wanted = (list(reversed(keys)) if descending else list(keys))[skip:]
                if limit is not None:
                    wanted = wanted[:limit]
                rows = self._load_rows(conn, [k for k in wanted if isinstance(k, str)])
                out = []
                for key in wanted:
                    row = rows.get(key) if isinstance(key, str) else None
                    if row is None or not self.access.can_read_scope(row.scope):
                        out.append({"key": key, "error": "not_found"})
                        continue
                    out.append(self._all_docs_row(conn, row, include_docs, conflicts, attachments))
                return total, None, out, update_seq
            live = self._scoped(sa.select(documents.c.doc_id).where(
                documents.c.db_id == self.id, documents.c.deleted == sa.false()))
            stmt = self._scoped(sa.select(documents).where(
                documents.c.db_id == self.id, documents.c.deleted == sa.false()
            ))
            if any(isinstance(bound, str) and "\x00" in bound for bound in (start, end)):
                raise errors.BadRequest("Document ids cannot hold the NUL character.")
            if start is not None and not isinstance(start, str):
                if descending:  # the walk would start below every id
                    return total, total, [], update_seq
                start = None
            if end is not None and not isinstance(end, str):
                if not descending:  # the walk would stop before every id
                    stmt = stmt.where(sa.false())
                end = None
            low, high = (end, start) if descending else (start, end)
            low_inclusive = True if not descending else inclusive_end
            high_inclusive = inclusive_end if not descending else True
            if low is not None:
                stmt = stmt.where(documents.c.doc_id >= low if low_inclusive else documents.c.doc_id > low)
            if high is not None:
                stmt = stmt.where(documents.c.doc_id <= high if high_inclusive else documents.c.doc_id < high)
            before = 0
            if start is not None:  # the rows the walk passes over to reach `start`
                passed = live.where(documents.c.doc_id > start if descending else documents.c.doc_id < start)
                before = conn.execute(sa.select(sa.func.count()).select_from(passed.subquery())).scalar_one()
            # As in the changes feed: a narrow scope reads its own index range, not the whole store.
            key = documents.c.doc_id + "" if self.scope_is_narrow(conn) else documents.c.doc_id
            stmt = stmt.order_by(key.desc() if descending else key)
            if skip:
                stmt = stmt.offset(skip)
            if limit is not None:
                stmt = stmt.limit(limit)
            out = [self._all_docs_row(conn, DocRow.from_sql(r), include_docs, conflicts, attachments)
                   for r in conn.execute(stmt)]
            return total, min(total, before + skip), out, update_seq

    def _all_docs_row(self, conn, row: DocRow, include_docs, conflicts, attachments) -> dict:
        value = {"rev": row.winning_rev}
        if row.deleted:
            value["deleted"] = True
        entry = {"id": row.doc_id, "key": row.doc_id, "value": value}
        if include_docs:
            if row.deleted:
                entry["doc"] = None
            else:
                doc = self._shape(conn, row, row.winning_rev, revs=False, attachments=attachments)
                if conflicts:
                    found = revtree.collect_conflicts(row.tree)
                    if found:
                        doc["_conflicts"] = found
                entry["doc"] = doc
        return entry

    # -- writes ---------------------------------------------------------------------------------
    def bulk_docs(self, raw_docs: list, new_edits: bool = True) -> list[dict]:
        if not isinstance(raw_docs, list):
            raise errors.BadRequest("`docs` parameter must be an array.")
        results: list[dict | None] = [None] * len(raw_docs)
        parsed: list[tuple[int, IncomingDoc]] = []
        refused: list[tuple[WriteAttempt, str]] = []
        # Each document is judged on its own: one that is malformed gets its own error entry (and
        # is kept as refused); the others are written. A phone retrying the batch would otherwise
        # be stuck on it for ever. The entry says `forbidden`, as a refusal by the rules does:
        # PouchDB's replicator moves on past that one (and reports it), but stops on any other.
        for i, raw in enumerate(raw_docs):
            try:
                doc = parse_incoming(raw, new_edits=new_edits)
            except errors.CouchError as exc:
                results[i] = errors.bulk_entry(claimed_id(raw), errors.Forbidden(exc.reason))
                refused.append(_unread_attempt(raw, new_edits, exc))
                continue
            if doc.is_local:
                results[i] = self._bulk_local(doc)
            else:
                parsed.append((i, doc))
        parsed = self._prepare(parsed, new_edits, results, refused)
        outcome = self._write_with_retries(parsed, new_edits)
        outcome.refused[:0] = refused
        for i, result in enumerate(outcome.results):
            results[parsed[i][0]] = result
        self._after_write(outcome)
        if not new_edits:
            return [r for r in results if r is not None and "error" in r]
        return results

    def put(self, raw, doc_id: str, *, new_edits: bool = True, rev: str | None = None) -> dict:
        if isinstance(raw, dict) and rev is not None:
            if "_rev" in raw and raw["_rev"] != rev:
                raise errors.BadRequest("Document rev from request body and query string have different values")
            raw = {**raw, "_rev": rev}
        try:
            doc = parse_incoming(raw, new_edits=new_edits, doc_id=doc_id)
        except errors.CouchError as exc:
            self._after_write(WriteOutcome(results=[], refused=[_unread_attempt(raw, new_edits, exc, doc_id)]))
            raise
        results: list[dict | None] = [None]
        refused: list[tuple[WriteAttempt, str]] = []
        parsed = self._prepare([(0, doc)], new_edits, results, refused)
        if not parsed:
            self._after_write(WriteOutcome(results=[], refused=refused))
            raise _error_from_entry(results[0])
        outcome = self._write_with_retries(parsed, new_edits)
        self._after_write(outcome)
        result = outcome.results[0]
        if "error" in result:
            raise _error_from_entry(result)
        return result if new_edits else {"ok": True, "id": doc.id, "rev": doc.rev}

    def delete(self, doc_id: str, rev: str | None) -> dict:
        if rev is None:
            raise errors.Conflict()
        return self.put({"_deleted": True, "_rev": rev}, doc_id)

    def put_attachment(self, doc_id: str, name: str, rev: str | None, content_type: str, data: bytes) -> dict:
        import base64

        with self.store.reading() as conn:
            row = self._visible_row(conn, doc_id)
            if row is not None and rev is not None and revtree.rev_exists(row.tree, validate_rev(rev)):
                loaded = self._load_body(conn, doc_id, rev)
                fields = loaded[1] if loaded else {}
            else:
                fields = {}
        fields.setdefault("_attachments", {})
        fields["_attachments"][name] = {"content_type": content_type, "data": base64.b64encode(data).decode()}
        return self.put({**fields, **({"_rev": rev} if rev else {})}, doc_id)

    def delete_attachment(self, doc_id: str, name: str, rev: str | None) -> dict:
        if rev is None:
            raise errors.Conflict()
        doc = self.get(doc_id, rev=validate_rev(rev))
        if name not in doc.get("_attachments", {}):
            raise errors.NotFound("Document is missing attachment")
        del doc["_attachments"][name]
        return self.put(doc, doc_id)

    def _after_write(self, outcome: WriteOutcome) -> None:
        if outcome.accepted:
            self.store.notifier.notify(self.name, max(a.seq for a in outcome.accepted), sent=outcome.notice_sent)
        if self.access.record_refusals and outcome.refused:
            self.access.record_refusals(outcome.refused)

    def _prepare(self, parsed: list[tuple[int, IncomingDoc]], new_edits: bool, results: list,
                 refused: list[tuple[WriteAttempt, str]]) -> list[tuple[int, IncomingDoc]]:
        """What needs only the incoming documents is done before the write transaction: the
        database's other writers wait for that transaction, not for this. Returns the documents
        to write; one whose own checks fail unexpectedly is refused alone (and logged), so that
        no document can fail the others of its batch."""
        precheck = self.access.precheck
        ready = []
        for i, doc in parsed:
            try:
                if precheck is not None:
                    doc.prechecked = precheck(doc.raw)
                if new_edits:
                    doc.body_json = canonical_json(doc.body)
            except Exception as exc:  # noqa: BLE001 - a document's content must not fail its batch
                log.exception("checking document %r failed", doc.id)
                error = errors.Forbidden(f"The document could not be checked ({type(exc).__name__}).")
                results[i] = errors.bulk_entry(doc.id, error)
                refused.append(_unread_attempt(doc.raw, new_edits, error, doc.id))
                continue
            ready.append((i, doc))
        return ready

    def _write_with_retries(self, parsed: list[tuple[int, IncomingDoc]], new_edits: bool) -> WriteOutcome:
        if not parsed:
            return WriteOutcome(results=[])
        for attempt in range(WRITE_RETRIES):
            try:
                with self.store.writing() as conn:
                    return self._write_batch(conn, [d for _, d in parsed], new_edits)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                # Two writers created the same new document, or PostgreSQL broke a deadlock: redo.
                if attempt == WRITE_RETRIES - 1 or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")

    def _write_batch(self, conn, docs: list[IncomingDoc], new_edits: bool) -> WriteOutcome:
        rows = self._load_rows(conn, [d.id for d in docs], for_update=True)
        outcome = WriteOutcome(results=[], winner_bodies=self._winner_bodies(conn, rows, docs, new_edits))
        pending: list[tuple[DocRow, dict]] = []  # accepted edits, seq assigned at the end
        for doc in docs:
            try:
                result = self._apply(conn, rows, doc, new_edits, outcome)
            except errors.CouchError as exc:
                outcome.results.append(errors.bulk_entry(doc.id, exc))
                continue
            outcome.results.append(result)
            if result.get("_accepted"):
                pending.append((rows[doc.id], result))
        for _, result in pending:
            result.pop("_accepted")
        changed = [r for r in dict.fromkeys(row.doc_id for row, _ in pending)]
        if changed:
            self._commit_changes(conn, rows, changed, pending, outcome)
        return outcome

    def _apply(self, conn, rows: dict[str, DocRow], doc: IncomingDoc, new_edits: bool, outcome) -> dict:
        row = rows.get(doc.id)
        if row is not None and not self.access.can_read_scope(row.scope):
            raise errors.Forbidden("Document is outside your scope.")
        tree = row.tree if row is not None else []

        if new_edits:
            parent = self._parent_for_edit(row, doc)
            pos = revtree.parse_rev(parent)[0] + 1 if parent else 1
        else:
            if row is not None and revtree.rev_exists(tree, doc.rev):
                return {"ok": True, "id": doc.id, "rev": doc.rev}  # already have it: nothing to do
            parent = None
            pos = revtree.parse_rev(doc.rev)[0]

        old_body = None
        if row is not None and not row.deleted:
            loaded = self._batch_body(conn, outcome, doc.id, row.winning_rev)
            old_body = outgoing(doc.id, row.winning_rev, False, loaded[1]) if loaded else None
        attempt = WriteAttempt(doc.id, old_body, doc.raw, doc.deleted, new_edits, doc.prechecked)
        if self.access.check_write is not None:
            reason = self._judge(attempt)
            if reason:
                outcome.refused.append((attempt, reason))
                raise errors.Forbidden(reason)

        scope = self.rules.scope_of(doc.body) if not doc.deleted or doc.body else None
        if scope is None:
            # Keep the document's scope; a first revision without one (a bare tombstone of a doc
            # created and deleted offline) belongs where its writer works.
            prefixes = self.access.read_prefixes
            scope = row.scope if row is not None else (prefixes[0] if prefixes else "")
        if not self.access.can_read_scope(scope):
            reason = "Document scope is outside your access."
            outcome.refused.append((attempt, reason))
            raise errors.Forbidden(reason)

        stubs = atts.resolve(conn, doc.attachments, pos, self._stub_finder(conn, outcome, row, parent, new_edits),
                             keep_revpos=not new_edits)
        body = stored_body(doc, stubs)
        if new_edits:
            digests = [s["digest"] for s in (stubs or {}).values()]
            rev_hash = new_rev_hash(parent, doc.deleted, doc.body, digests, doc.body_json)
            ids = [rev_hash] + ([revtree.parse_rev(parent)[1]] if parent else [])
            revisions_obj = {"start": pos, "ids": ids}
        else:
            revisions_obj = doc.revisions or {"start": pos, "ids": [revtree.parse_rev(doc.rev)[1]]}
        new_rev = f"{pos}-{revisions_obj['ids'][0]}"
        leaf_opts = {"status": "available", **({"deleted": True} if doc.deleted else {})}
        path = revtree.revisions_to_path(revisions_obj, leaf_opts)
        merged = revtree.merge(tree, path, self.store.default_revs_limit)

        if row is None:
            row = DocRow(doc.id, scope, None, new_rev, doc.deleted, [], exists=False)
            rows[doc.id] = row
        previous_winner = row.winning_rev if row.exists or row.changed else None
        row.tree = merged.tree
        row.winning_rev = revtree.winning_rev(merged.tree)
        row.deleted = revtree.is_deleted(merged.tree)
        row.scope = scope
        row.changed = True
        outcome.new_revisions[(doc.id, new_rev)] = (doc.deleted, body)
        if merged.stemmed_revs:
            for stemmed in merged.stemmed_revs:
                outcome.new_revisions.pop((doc.id, stemmed), None)
            conn.execute(revisions.delete().where(
                revisions.c.db_id == self.id, revisions.c.doc_id == doc.id,
                revisions.c.rev.in_(list(merged.stemmed_revs)),
            ))
        return {"ok": True, "id": doc.id, "rev": new_rev, "_accepted": True, "_previous": previous_winner,
                "_body": body, "_deleted": doc.deleted}

    def _judge(self, attempt: WriteAttempt) -> str | None:
        """The host's write check; one that fails on a document's content refuses that document
        alone (logged), not its batch. Database errors still end the transaction."""
        try:
            return self.access.check_write(attempt)
        except sa.exc.SQLAlchemyError:
            raise
        except Exception as exc:  # noqa: BLE001 - a document's content must not fail its batch
            log.exception("the write check failed on %r", attempt.doc_id)
            return Refusal("malformed_document", f"The document could not be checked ({type(exc).__name__}).")

    @staticmethod
    def _parent_for_edit(row: DocRow | None, doc: IncomingDoc) -> str | None:
        if doc.rev is not None:
            if row is None:
                raise errors.Conflict()
            leaves = {leaf["rev"] for leaf in revtree.collect_leaves(row.tree)}
            if doc.rev not in leaves:
                raise errors.Conflict()
            return doc.rev
        if row is None:
            return None
        if not row.deleted:
            raise errors.Conflict()
        return row.winning_rev  # recreating a deleted document extends its tombstone

    def _winner_bodies(self, conn, rows: dict[str, DocRow], docs: list[IncomingDoc], new_edits: bool) -> dict:
        """The current bodies of the documents a batch edits (the write rules compare old and new),
        read in one statement: one each was a round trip per edited document inside the write."""
        readable = self.access.can_read_scope  # an edit outside the writer's scope is refused unread
        wanted = {(row.doc_id, row.winning_rev) for row in (rows.get(doc.id) for doc in docs)
                  if row is not None and not row.deleted and readable(row.scope)}
        if not new_edits:  # revisions we already hold are skipped unread
            known = {doc.id for doc in docs
                     if doc.id in rows and doc.rev is not None and revtree.rev_exists(rows[doc.id].tree, doc.rev)}
            wanted = {pair for pair in wanted if pair[0] not in known}
        return load_revision_bodies(conn, self.id, wanted) if wanted else {}

    def _batch_body(self, conn, outcome: WriteOutcome, doc_id: str, rev: str) -> tuple[bool, dict] | None:
        return (outcome.new_revisions.get((doc_id, rev)) or outcome.winner_bodies.get((doc_id, rev))
                or self._load_body(conn, doc_id, rev))

    def _stub_finder(self, conn, outcome: WriteOutcome, row: DocRow | None, parent: str | None, new_edits: bool):
        def find(name: str, att: dict) -> dict | None:
            if row is None:
                return None
            if new_edits:
                loaded = self._batch_body(conn, outcome, row.doc_id, parent) if parent else None
                known = (loaded[1].get("_attachments") or {}).get(name) if loaded else None
                return known
            # Replicated revision: the stub points at an attachment of an ancestor we already hold.
            stored = (jsonio.loads_stored(b) for b in conn.execute(sa.select(revisions.c.body).where(
                revisions.c.db_id == self.id, revisions.c.doc_id == row.doc_id
            )).scalars())
            pending = (body for (doc_id, _), (_, body) in outcome.new_revisions.items() if doc_id == row.doc_id)
            for body in (*pending, *stored):
                known = (body.get("_attachments") or {}).get(name)
                if known and (att.get("digest") in (None, known["digest"])):
                    return known
            return None
        return find

    def _commit_changes(self, conn, rows, changed: list[str], pending, outcome: WriteOutcome) -> None:
        doc_delta = del_delta = 0
        for doc_id in changed:
            row = rows[doc_id]
            before = None if not row.exists else row.was_deleted
            if before is None:
                doc_delta += 0 if row.deleted else 1
                del_delta += 1 if row.deleted else 0
            elif before != row.deleted:
                doc_delta += -1 if row.deleted else 1
                del_delta += 1 if row.deleted else -1
        # The row lock on the counter, held to the commit, orders commits by seq.
        counters = {"k_db": self.id, "changed": len(changed), "doc_delta": doc_delta, "del_delta": del_delta}
        notice = self.store.notifier.commit_notice() if conn.dialect.name == "postgresql" else None
        if notice is None:
            top = conn.execute(_COUNTERS_ADVANCE, counters).scalar_one()
        else:
            channel, token = notice
            top = conn.execute(_PG_COUNTERS_ADVANCE_WITH_NOTICE,
                               {**counters, "k_channel": channel, "k_token": token}).one()[0]
            outcome.notice_sent = True
        first = top - len(changed) + 1
        inserts, updates = [], []
        for offset, doc_id in enumerate(changed):
            row = rows[doc_id]
            row.seq = first + offset
            values = dict(k_db=self.id, k_doc=doc_id, seq=row.seq, scope=row.scope, winning_rev=row.winning_rev,
                          deleted=row.deleted, rev_tree=treecodec.encode(row.tree))
            (updates if row.exists else inserts).append(values)
        execute_many(conn, _DOCUMENT_UPDATE, updates)
        execute_many(conn, _DOCUMENT_INSERT, inserts)
        execute_many(conn, _REVISION_INSERT, [
            {"db_id": self.id, "doc_id": doc_id, "rev": rev, "deleted": deleted, "body": dumps_stored(body)}
            for (doc_id, rev), (deleted, body) in outcome.new_revisions.items()
        ])
        seq_of = {doc_id: rows[doc_id].seq for doc_id in changed}
        for row, result in pending:
            outcome.accepted.append(AcceptedWrite(
                doc_id=row.doc_id, rev=result["rev"], previous_rev=result.pop("_previous"),
                deleted=result.pop("_deleted"), seq=seq_of[row.doc_id],
                scope=row.scope, body=result.pop("_body"), winning_rev=row.winning_rev,
                winner_deleted=row.deleted,
            ))
        if self.access.record_writes:
            self.access.record_writes(conn, outcome.accepted)

    # -- _local documents -----------------------------------------------------------------------
    def _local_key(self, doc_id: str) -> dict:
        if "\x00" in doc_id:  # never stored (PostgreSQL can't)
            raise errors.NotFound("missing")
        return {"k_db": self.id, "k_owner": self.access.user, "k_doc": doc_id}

    def get_local(self, doc_id: str) -> dict:
        # A replicating phone reads its checkpoint at every batch: one statement, no transaction.
        row = self.store.read_row(_LOCAL_SELECT, self._local_key(doc_id))
        if row is None:
            raise errors.NotFound("missing")
        return {**jsonio.loads_stored(row.body), "_id": f"_local/{doc_id}", "_rev": row.rev}

    def put_local(self, doc_id: str, raw) -> dict:
        if not isinstance(raw, dict):
            raise errors.BadRequest("Document must be a JSON object")
        body = _local_body(raw)
        if raw.get("_deleted"):
            return self.delete_local(doc_id, None)
        if encoded_size(body) > MAX_DOCUMENT_BYTES:
            raise errors.DocumentTooLarge()
        expected = _local_rev(raw)
        if expected in (None, "0-0"):  # a new checkpoint: refused if one is there already
            rev, stmt = "0-1", _local_insert_new(self.store.engine.dialect.name)
        else:  # the next revision of the one the writer read: refused if it has moved on
            number = _local_number(expected)
            if number is None:
                raise errors.Conflict()
            rev, stmt = f"0-{number + 1}", _LOCAL_UPDATE_IF_AT
        # One statement, which both checks the revision and writes (a phone writes a checkpoint
        # after every batch): it is written, or it conflicts.
        with self.store.writing_alone() as conn:
            written = conn.execute(stmt, {**self._local_key(doc_id), "expected": expected, "rev": rev, "body": dumps_stored(body)}).first()
        if written is None:
            raise errors.Conflict()
        return {"ok": True, "id": f"_local/{doc_id}", "rev": rev}

    def delete_local(self, doc_id: str, rev: str | None) -> dict:
        key = self._local_key(doc_id)
        with self.store.writing() as conn:
            row = conn.execute(_LOCAL_SELECT, key).first()
            if row is None:
                raise errors.NotFound("missing")
            if rev is not None and rev != row.rev:
                raise errors.Conflict()
            conn.execute(_LOCAL_DELETE, key)
        return {"ok": True, "id": f"_local/{doc_id}", "rev": "0-0"}

    def _bulk_local(self, doc: IncomingDoc) -> dict:
        try:
            name = doc.id[len("_local/"):]
            return self.put_local(name, {**doc.raw})
        except errors.CouchError as exc:
            return errors.bulk_entry(doc.id, exc)

    # -- changes --------------------------------------------------------------------------------
    def changes(self, options) -> Iterator[tuple]:
        from .changes import ChangesFeed

        return ChangesFeed(self, options).events()


def _unread_attempt(raw, new_edits: bool, exc: errors.CouchError, doc_id: str | None = None):
    """A document refused before any rule saw it (malformed), as the quarantine keeps it."""
    received = raw.text if isinstance(raw, UnreadableDoc) else None
    attempt = WriteAttempt(doc_id or claimed_id(raw) or "", None, raw if isinstance(raw, dict) else {},
                           isinstance(raw, dict) and raw.get("_deleted") is True, new_edits, received=received)
    code = "half_character" if isinstance(exc, errors.HalfCharacter) else "malformed_document"
    return attempt, Refusal(code, exc.reason)


def _in_rev_order(entries: list[dict]) -> list[dict]:
    """`open_revs` answers as CouchDB orders them (fabric_doc_open_revs sorts its replies): the
    revisions found, by position then id, then the missing ones, likewise."""
    def key(entry):
        rev = entry["ok"]["_rev"] if "ok" in entry else entry["missing"]
        pos, rev_hash = revtree.parse_rev(rev)
        return ("ok" not in entry, pos, rev_hash.encode("utf-8", "surrogatepass"))
    return sorted(entries, key=key)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")  # deadlock detected, serialization failure


def _error_from_entry(entry: dict) -> errors.CouchError:
    for cls in (errors.Conflict, errors.Forbidden, errors.BadRequest, errors.DocValidation,
                errors.MissingStub, errors.NotFound):
        if cls.error == entry["error"]:
            return cls(entry.get("reason"))
    exc = errors.CouchError(entry.get("reason"))
    exc.error = entry["error"]
    return exc
