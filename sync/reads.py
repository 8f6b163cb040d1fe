"""Reads of a database within the reader's scopes: its info, a document, chosen revisions
(`open_revs`, `bulk_get`), which revisions it lacks (`revs_diff`), attachments, `all_docs`."""
from __future__ import annotations

import sqlalchemy as sa

from . import attachments as atts
from . import errors, revtree
from .docs import outgoing, validate_rev
from .handle import Handle
from .results import AllDocsPage, AllDocsRow, BulkGetResult, DatabaseInfo, Missing, RevisionError, RevsDiff
from .sql import DocRow, load_revision_bodies, scope_clause
from .tables import databases, documents


class DocumentReads(Handle):
    # -- info -----------------------------------------------------------------------------------
    def info(self) -> DatabaseInfo:
        with self.store.reading() as conn:
            db = conn.execute(sa.select(databases).where(databases.c.id == self.id)).one()
            doc_count, del_count = db.doc_count, db.doc_del_count
            if scope_clause(documents.c.scope, self.access.read_prefixes) is not None:
                doc_count, del_count = self._scoped_counts(conn, db.update_seq)
        return DatabaseInfo(self.name, db.update_seq, doc_count, del_count)

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
        """The document at `rev` (the winner when None), with the members asked for."""
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

    # -- chosen revisions -----------------------------------------------------------------------
    def open_revs(self, doc_id: str, which, *, revs: bool = False, attachments: bool = False,
                  latest: bool = False, atts_since: list[str] | None = None) -> list[dict | Missing]:
        """The revisions asked for (`which`: "all" leaves, or a list), each its document or
        `Missing`, in CouchDB's order."""
        with self.store.reading() as conn:
            row = self._visible_row(conn, doc_id)
            if which == "all":
                if row is None:
                    raise errors.NotFound("missing")
                found, missing = [leaf["rev"] for leaf in revtree.collect_leaves(row.tree)], []
            else:
                found, missing = self._revs_to_open(row, [validate_rev(r) for r in which], latest)
            entries = [self._open_rev(conn, row, r, revs, attachments, atts_since) for r in found]
            return _in_rev_order(entries + [Missing(r) for r in missing])

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

    def _open_rev(self, conn, row, rev, revs, attachments, atts_since, bodies=None) -> dict | Missing:
        loaded = bodies.get((row.doc_id, rev)) if bodies else None
        body = (loaded[0], dict(loaded[1])) if loaded else None  # _shape may replace _attachments
        doc = self._shape(conn, row, rev, revs=revs, attachments=attachments, atts_since=atts_since, body=body)
        return Missing(rev) if doc is None else doc

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
        return rows, load_revision_bodies(conn, self.id, wanted)

    def bulk_get(self, requests: list, *, revs: bool = False, attachments: bool = False,
                 latest: bool = False) -> list[BulkGetResult]:
        """Each request ({"id", "rev"?, "atts_since"?}) answered in order: the winner (no `rev`)
        or the revisions `rev` names, each its document or why not."""
        results = []
        with self.store.reading() as conn:
            rows, bodies = self._prefetch_bulk_get(conn, requests, latest)
            for req in requests:
                doc_id = req.get("id") if isinstance(req, dict) else None
                rev = req.get("rev") if isinstance(req, dict) else None
                if not isinstance(doc_id, str):
                    results.append(BulkGetResult(doc_id, [
                        RevisionError(rev, errors.BadRequest("Missing or invalid id"))]))
                    continue
                row = rows.get(doc_id)
                since = req.get("atts_since") if isinstance(req.get("atts_since"), list) else None
                if rev is None:
                    if row is None or row.deleted:
                        entries = [RevisionError(None, errors.NotFound("deleted" if row is not None else "missing"))]
                    else:
                        entries = [self._open_rev(conn, row, row.winning_rev, revs, attachments, since, bodies)]
                else:
                    try:
                        found, missing = self._revs_to_open(row, [validate_rev(rev)], latest)
                        entries = _in_rev_order(
                            [self._open_rev(conn, row, r, revs, attachments, since, bodies) for r in found]
                            + [Missing(r) for r in missing])
                    except errors.CouchError as exc:
                        entries = [RevisionError(rev, exc)]
                entries = [RevisionError(e.rev, errors.NotFound("missing")) if isinstance(e, Missing) else e
                           for e in entries]
                results.append(BulkGetResult(doc_id, entries))
        return results

    def revs_diff(self, request: dict) -> dict[str, RevsDiff]:
        """For each document of `request` ({id: [rev, ...]}), the revisions this database lacks;
        documents lacking none are left out."""
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
                ancestors = revtree.possible_ancestors(row.tree, missing) if row is not None else []
                out[doc_id] = RevsDiff(missing, ancestors)
        return out

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        """(stub, data) of an attachment of the document at `rev` (the winner when None)."""
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
    def all_docs(
        self, *, keys: list | None = None, start=None, end=None,
        inclusive_end: bool = True, descending: bool = False, limit: int | None = None, skip: int = 0,
        include_docs: bool = False, conflicts: bool = False, attachments: bool = False,
    ) -> AllDocsPage:
        """The documents by id, as CouchDB's `_all_docs` gives them: total_rows is the count of
        documents the reader may see (the doc_count of `info`, whatever the options), offset the
        rows before the first one (None with `keys`). `keys` are taken in order (reversed when
        descending), then `skip` and `limit` apply to them. A bound that is not a string sorts
        before every id, as in CouchDB (Erlang's term order)."""
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
                        out.append(AllDocsRow(key))
                        continue
                    out.append(self._all_docs_row(conn, row, include_docs, conflicts, attachments))
                return AllDocsPage(total, None, out, update_seq)
            live = self._scoped(sa.select(documents.c.doc_id).where(
                documents.c.db_id == self.id, documents.c.deleted == sa.false()))
            stmt = self._scoped(sa.select(documents).where(
                documents.c.db_id == self.id, documents.c.deleted == sa.false()
            ))
            if any(isinstance(bound, str) and "\x00" in bound for bound in (start, end)):
                raise errors.BadRequest("Document ids cannot hold the NUL character.")
            if start is not None and not isinstance(start, str):
                if descending:  # the walk would start below every id
                    return AllDocsPage(total, total, [], update_seq)
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
            return AllDocsPage(total, min(total, before + skip), out, update_seq)

    def _all_docs_row(self, conn, row: DocRow, include_docs, conflicts, attachments) -> AllDocsRow:
        doc = None
        if include_docs and not row.deleted:
            doc = self._shape(conn, row, row.winning_rev, revs=False, attachments=attachments)
            if conflicts:
                found = revtree.collect_conflicts(row.tree)
                if found:
                    doc["_conflicts"] = found
        return AllDocsRow(row.doc_id, row.winning_rev, row.deleted, doc)


def _in_rev_order(entries: list[dict | Missing]) -> list[dict | Missing]:
    """`open_revs` answers as CouchDB orders them (fabric_doc_open_revs sorts its replies): the
    revisions found, by position then id, then the missing ones, likewise."""
    def key(entry):
        missing = isinstance(entry, Missing)
        pos, rev_hash = revtree.parse_rev(entry.rev if missing else entry["_rev"])
        return (missing, pos, rev_hash.encode("utf-8", "surrogatepass"))
    return sorted(entries, key=key)
