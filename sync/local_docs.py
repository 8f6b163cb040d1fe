"""`_local` documents: a replicator's checkpoints, one per user and name, never replicated, with
CouchDB's revisions "0-N" (couch_db:update_docs for local documents)."""
from __future__ import annotations

from . import errors, jsonio
from .docs import BODY_MEMBERS, MAX_DOCUMENT_BYTES, IncomingDoc, encoded_size
from .handle import Handle
from .jsonio import dumps_stored
from .results import WriteResult
from .sql import LOCAL_DELETE, LOCAL_SELECT, LOCAL_UPDATE_IF_AT, local_insert_new


class LocalDocuments(Handle):
    def _local_key(self, doc_id: str) -> dict:
        if "\x00" in doc_id:  # never stored (PostgreSQL can't)
            raise errors.NotFound("missing")
        return {"k_db": self.id, "k_owner": self.access.user, "k_doc": doc_id}

    def get_local(self, doc_id: str) -> dict:
        """The document `_local/<doc_id>` of this user."""
        # A replicating phone reads its checkpoint at every batch: one statement, no transaction.
        row = self.store.read_row(LOCAL_SELECT, self._local_key(doc_id))
        if row is None:
            raise errors.NotFound("missing")
        return {**jsonio.loads_stored(row.body), "_id": f"_local/{doc_id}", "_rev": row.rev}

    def put_local(self, doc_id: str, raw) -> WriteResult:
        if not isinstance(raw, dict):
            raise errors.BadRequest("Document must be a JSON object")
        body = _local_body(raw)
        if raw.get("_deleted"):
            return self.delete_local(doc_id, None)
        if encoded_size(body) > MAX_DOCUMENT_BYTES:
            raise errors.DocumentTooLarge()
        expected = _local_rev(raw)
        if expected in (None, "0-0"):  # a new checkpoint: refused if one is there already
            rev, stmt = "0-1", local_insert_new(self.store.engine.dialect.name)
        else:  # the next revision of the one the writer read: refused if it has moved on
            number = _local_number(expected)
            if number is None:
                raise errors.Conflict()
            rev, stmt = f"0-{number + 1}", LOCAL_UPDATE_IF_AT
        # One statement, which both checks the revision and writes (a phone writes a checkpoint
        # after every batch): it is written, or it conflicts.
        with self.store.writing_alone() as conn:
            written = conn.execute(stmt, {**self._local_key(doc_id), "expected": expected, "rev": rev,
                                          "body": dumps_stored(body)}).first()
        if written is None:
            raise errors.Conflict()
        return WriteResult(f"_local/{doc_id}", rev)

    def delete_local(self, doc_id: str, rev: str | None) -> WriteResult:
        key = self._local_key(doc_id)
        with self.store.writing() as conn:
            row = conn.execute(LOCAL_SELECT, key).first()
            if row is None:
                raise errors.NotFound("missing")
            if rev is not None and rev != row.rev:
                raise errors.Conflict()
            conn.execute(LOCAL_DELETE, key)
        return WriteResult(f"_local/{doc_id}", "0-0")

    def _bulk_local(self, doc: IncomingDoc) -> WriteResult:
        """A `_local` document in a `_bulk_docs` batch: written as a PUT writes it."""
        try:
            return self.put_local(doc.id[len("_local/"):], {**doc.raw})
        except errors.CouchError as exc:
            return WriteResult(doc.id, error=exc)


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
