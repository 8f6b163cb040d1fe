"""The write pipeline: incoming revisions parsed and checked, then applied to their documents'
revision trees in one transaction, each document judged on its own.

A write answers a `WriteResult` per document (its new revision, or why it was refused). What the
host's hooks are told of an accepted revision (its body, the revision it replaced, its seq) is an
`AcceptedWrite`, made at the commit; a refused one goes to `Access.record_refusals` with why.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from schemas.rules import Refusal

from . import attachments as atts
from . import errors, revtree, treecodec
from .access import AcceptedWrite, WriteAttempt
from .docs import (IncomingDoc, UnreadableDoc, canonical_json, claimed_id, new_rev_hash, outgoing, parse_incoming,
                   stored_body, validate_rev)
from .jsonio import dumps_stored
from .local_docs import LocalDocuments
from .precompiled import execute_many
from .results import WriteResult
from .sql import (COUNTERS_ADVANCE, DOCUMENT_INSERT, DOCUMENT_UPDATE, PG_COUNTERS_ADVANCE_WITH_NOTICE,
                  REVISION_INSERT, DocRow, bodies_of_document, delete_revisions, load_revision_bodies)

log = logging.getLogger(__name__)

WRITE_RETRIES = 5


@dataclass(slots=True)
class _Edit:
    """A revision the batch accepted; its seq is given at the commit."""
    row: DocRow  # the document's row, as the whole batch leaves it
    rev: str
    previous_rev: str | None  # the document's winner before this edit
    deleted: bool
    body: dict  # the stored fields (attachment stubs included)


@dataclass
class WriteOutcome:
    results: list[WriteResult]
    accepted: list[AcceptedWrite] = field(default_factory=list)
    refused: list[tuple[WriteAttempt, str]] = field(default_factory=list)
    # Revision rows written in one executemany at the end; readable before that by later edits
    # of the same document in the batch.
    new_revisions: dict[tuple[str, str], tuple[bool, dict]] = field(default_factory=dict)
    # Bodies of the edited documents' winners when the batch began, read together.
    winner_bodies: dict[tuple[str, str], tuple[bool, dict]] = field(default_factory=dict)
    # The commit carried the change notice to the other processes (notify.commit_notice).
    notice_sent: bool = False


class DocumentWrites(LocalDocuments):
    """Writes of documents (a batch's `_local` documents are written as `put_local` writes them)."""

    def bulk_docs(self, raw_docs: list, new_edits: bool = True) -> list[WriteResult]:
        """A result per document of `raw_docs`, in order. With new_edits=false the revisions are
        replicated as they are (a revision already held is answered as written)."""
        if not isinstance(raw_docs, list):
            raise errors.BadRequest("`docs` parameter must be an array.")
        results: list[WriteResult | None] = [None] * len(raw_docs)
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
                attempt, refusal = _unread_attempt(raw, new_edits, exc)
                results[i] = WriteResult(claimed_id(raw), error=errors.Refused(refusal))
                refused.append((attempt, refusal))
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
        return results

    def put(self, raw, doc_id: str, *, new_edits: bool = True, rev: str | None = None) -> WriteResult:
        """One document written; a refusal is raised (the error a `_bulk_docs` entry would give)."""
        if isinstance(raw, dict) and rev is not None:
            if "_rev" in raw and raw["_rev"] != rev:
                raise errors.BadRequest("Document rev from request body and query string have different values")
            raw = {**raw, "_rev": rev}
        try:
            doc = parse_incoming(raw, new_edits=new_edits, doc_id=doc_id)
        except errors.CouchError as exc:
            self._after_write(WriteOutcome(results=[], refused=[_unread_attempt(raw, new_edits, exc, doc_id)]))
            raise
        results: list[WriteResult | None] = [None]
        refused: list[tuple[WriteAttempt, str]] = []
        parsed = self._prepare([(0, doc)], new_edits, results, refused)
        if not parsed:
            self._after_write(WriteOutcome(results=[], refused=refused))
            raise results[0].error
        outcome = self._write_with_retries(parsed, new_edits)
        self._after_write(outcome)
        result = outcome.results[0]
        if result.error is not None:
            raise result.error
        return result if new_edits else WriteResult(doc.id, doc.rev)

    def delete(self, doc_id: str, rev: str | None) -> WriteResult:
        if rev is None:
            raise errors.Conflict()
        return self.put({"_deleted": True, "_rev": rev}, doc_id)

    def put_attachment(self, doc_id: str, name: str, rev: str | None, content_type: str,
                       data: bytes) -> WriteResult:
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

    def delete_attachment(self, doc_id: str, name: str, rev: str | None) -> WriteResult:
        if rev is None:
            raise errors.Conflict()
        with self.store.reading() as conn:
            _row, rev = self._row_at(conn, doc_id, validate_rev(rev))
            loaded = self._load_body(conn, doc_id, rev)
        if loaded is None:
            raise errors.NotFound("missing")
        doc = outgoing(doc_id, rev, *loaded)
        if name not in doc.get("_attachments", {}):
            raise errors.NotFound("Document is missing attachment")
        del doc["_attachments"][name]
        return self.put(doc, doc_id)

    def check_revision(self, raw) -> None:
        """Judge a replicated revision (new_edits=false) as its write would, writing nothing: its
        form, the write check and the writer's scope, against the document as it is now. A refusal
        is raised, and recorded as a write's refusals are (nothing refused is lost). Attachments
        are not looked at: `raw` may name attachments still on their way."""
        outcome = WriteOutcome(results=[])
        try:
            doc = parse_incoming(raw, new_edits=False)
            if self.access.precheck is not None:
                try:
                    doc.prechecked = self.access.precheck(doc.raw)
                except Exception as exc:  # noqa: BLE001 - as in a write: the content's fault, refused
                    log.exception("checking document %r failed", doc.id)
                    attempt, refusal = _unread_attempt(doc.raw, False, exc, doc.id)
                    outcome.refused.append((attempt, refusal))
                    raise errors.Refused(refusal) from None
            with self.store.reading() as conn:
                rows = self._load_rows(conn, [doc.id])
                row = rows.get(doc.id)
                if row is not None and not self.access.can_read_scope(row.scope):
                    raise errors.Refused(Refusal("out_of_scope", "Document is outside your scope."))
                if row is not None and revtree.rev_exists(row.tree, doc.rev):
                    return  # already held: writing it will change nothing
                outcome.winner_bodies = self._winner_bodies(conn, rows, [doc], False)
                self._verdict(conn, row, doc, False, outcome)
        except errors.CouchError as exc:
            if not outcome.refused and not isinstance(exc, errors.Refused):
                outcome.refused.append(_unread_attempt(raw, False, exc))
            raise
        finally:
            self._after_write(outcome)

    # -- the pipeline ---------------------------------------------------------------------------
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
                attempt, refusal = _unread_attempt(doc.raw, new_edits, exc, doc.id)
                results[i] = WriteResult(doc.id, error=errors.Refused(refusal))
                refused.append((attempt, refusal))
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
        pending: list[_Edit] = []  # accepted edits, seq assigned at the end
        for doc in docs:
            try:
                edit = self._apply(conn, rows, doc, new_edits, outcome)
            except errors.CouchError as exc:
                outcome.results.append(WriteResult(doc.id, error=exc))
                continue
            if edit is None:  # a replicated revision already held: nothing to write
                outcome.results.append(WriteResult(doc.id, doc.rev))
                continue
            outcome.results.append(WriteResult(doc.id, edit.rev))
            pending.append(edit)
        changed = list(dict.fromkeys(edit.row.doc_id for edit in pending))
        if changed:
            self._commit_changes(conn, rows, changed, pending, outcome)
        return outcome

    def _apply(self, conn, rows: dict[str, DocRow], doc: IncomingDoc, new_edits: bool,
               outcome: WriteOutcome) -> _Edit | None:
        """The revision merged into its document's tree (held in `rows` until the commit), or None
        when a replicated revision is already held; a refusal is raised."""
        row = rows.get(doc.id)
        if row is not None and not self.access.can_read_scope(row.scope):
            raise errors.Refused(Refusal("out_of_scope", "Document is outside your scope."))
        tree = row.tree if row is not None else []

        if new_edits:
            parent = self._parent_for_edit(row, doc)
            pos = revtree.parse_rev(parent)[0] + 1 if parent else 1
        else:
            if row is not None and revtree.rev_exists(tree, doc.rev):
                return None  # already have it: nothing to do
            parent = None
            pos = revtree.parse_rev(doc.rev)[0]

        scope = self._verdict(conn, row, doc, new_edits, outcome)
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
            delete_revisions(conn, self.id, doc.id, merged.stemmed_revs)
        return _Edit(row, new_rev, previous_winner, doc.deleted, body)

    def _verdict(self, conn, row: DocRow | None, doc: IncomingDoc, new_edits: bool, outcome: WriteOutcome) -> str:
        """The scope the revision will have, once the write check and the writer's scope accept
        it; a refusal is raised (and kept in `outcome.refused`)."""
        old_body = None
        if row is not None and not row.deleted:
            loaded = self._batch_body(conn, outcome, doc.id, row.winning_rev)
            old_body = outgoing(doc.id, row.winning_rev, False, loaded[1]) if loaded else None
        attempt = WriteAttempt(doc.id, old_body, doc.raw, doc.deleted, new_edits, doc.prechecked)
        if self.access.check_write is not None:
            reason = self._judge(attempt)
            if reason:
                outcome.refused.append((attempt, reason))
                raise errors.Refused(reason)

        scope = self.rules.scope_of(doc.body) if not doc.deleted or doc.body else None
        if scope is None:
            # Keep the document's scope; a first revision without one (a bare tombstone of a doc
            # created and deleted offline) belongs where its writer works.
            prefixes = self.access.read_prefixes
            scope = row.scope if row is not None else (prefixes[0] if prefixes else "")
        if not self.access.can_read_scope(scope):
            reason = Refusal("out_of_scope", "Document scope is outside your access.")
            outcome.refused.append((attempt, reason))
            raise errors.Refused(reason)
        return scope

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
            stored = bodies_of_document(conn, self.id, row.doc_id)
            pending = (body for (doc_id, _), (_, body) in outcome.new_revisions.items() if doc_id == row.doc_id)
            for body in (*pending, *stored):
                known = (body.get("_attachments") or {}).get(name)
                if known and (att.get("digest") in (None, known["digest"])):
                    return known
            return None
        return find

    def _commit_changes(self, conn, rows: dict[str, DocRow], changed: list[str], pending: list[_Edit],
                        outcome: WriteOutcome) -> None:
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
            top = conn.execute(COUNTERS_ADVANCE, counters).scalar_one()
        else:
            channel, token = notice
            top = conn.execute(PG_COUNTERS_ADVANCE_WITH_NOTICE,
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
        execute_many(conn, DOCUMENT_UPDATE, updates)
        execute_many(conn, DOCUMENT_INSERT, inserts)
        execute_many(conn, REVISION_INSERT, [
            {"db_id": self.id, "doc_id": doc_id, "rev": rev, "deleted": deleted, "body": dumps_stored(body)}
            for (doc_id, rev), (deleted, body) in outcome.new_revisions.items()
        ])
        for edit in pending:
            row = edit.row
            outcome.accepted.append(AcceptedWrite(
                doc_id=row.doc_id, rev=edit.rev, previous_rev=edit.previous_rev, deleted=edit.deleted, seq=row.seq,
                scope=row.scope, body=edit.body, winning_rev=row.winning_rev, winner_deleted=row.deleted,
            ))
        if self.access.record_writes:
            self.access.record_writes(conn, outcome.accepted)


def _unread_attempt(raw, new_edits: bool, exc: Exception, doc_id: str | None = None):
    """A document refused before any rule saw it (malformed, or its own checks failed), as the
    quarantine keeps it, and why."""
    received = raw.text if isinstance(raw, UnreadableDoc) else None
    attempt = WriteAttempt(doc_id or claimed_id(raw) or "", None, raw if isinstance(raw, dict) else {},
                           isinstance(raw, dict) and raw.get("_deleted") is True, new_edits, received=received)
    if isinstance(exc, errors.CouchError):
        code = "half_character" if isinstance(exc, errors.HalfCharacter) else "malformed_document"
        return attempt, Refusal(code, exc.reason)
    return attempt, Refusal("malformed_document", f"The document could not be checked ({type(exc).__name__}).")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")  # deadlock detected, serialization failure
