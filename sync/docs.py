"""Documents on the wire: parse what a client sent, shape what we send back.

Only this module knows CouchDB's underscore members. A stored revision body is the document's own
fields plus `_attachments` stubs; `_id`, `_rev`, `_deleted` live in columns.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

import orjson

from . import errors
from .jsonio import dumpb, is_unicode, text_problem
from .revtree import parse_rev

SPECIAL_MEMBERS = frozenset(
    {"_id", "_rev", "_attachments", "_deleted", "_revisions", "_revs_info", "_conflicts",
     "_deleted_conflicts", "_local_seq"}
)
# Underscore members CouchDB keeps as the document's own fields (couch_doc:transfer_fields).
BODY_MEMBERS = frozenset(
    {"_access", "_replication_id", "_replication_state", "_replication_state_time", "_replication_state_reason",
     "_replication_stats"}
)
MAX_ID_LENGTH = 255
MAX_DOCUMENT_BYTES = 8_000_000  # CouchDB's default max_document_size; attachments not counted


@dataclass
class IncomingDoc:
    id: str
    rev: str | None  # the rev sent (parent for new_edits=true, the leaf itself for new_edits=false)
    revisions: dict | None
    deleted: bool
    attachments: dict | None
    body: dict  # fields without any underscore member
    raw: dict = field(repr=False, default_factory=dict)
    # Worked out before the write transaction (Database._prepare), used inside it.
    prechecked: object = field(repr=False, default=None)
    body_json: str | None = field(repr=False, default=None)  # canonical_json(body), for the rev id

    @property
    def is_local(self) -> bool:
        return self.id.startswith("_local/")


@dataclass(frozen=True)
class UnreadableDoc:
    """An element of a batch that is not JSON the engine can keep (nested too deep, a number too
    large): refused on its own, and kept as received."""
    id: str | None  # the first `_id` found in its text, if any
    text: str
    reason: str


def claimed_id(raw) -> str | None:
    """The id a refused element says it has, for its `_bulk_docs` entry."""
    if isinstance(raw, UnreadableDoc):
        return raw.id
    doc_id = raw.get("_id") if isinstance(raw, dict) else None
    return doc_id if isinstance(doc_id, str) else None


def canonical_json(value) -> str:
    """The text revision ids hash: the standard library's, fixed, so an edit made again (a retry,
    another device) gets the same rev before and after any change of JSON codec."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def validate_doc_id(doc_id) -> str:
    if not isinstance(doc_id, str) or not doc_id:
        raise errors.BadRequest("Document id must be a non-empty string.")
    if len(doc_id) > MAX_ID_LENGTH:
        raise errors.BadRequest(f"Document id is longer than {MAX_ID_LENGTH} characters.")
    if doc_id.startswith("_") and not doc_id.startswith(("_design/", "_local/")):
        raise errors.BadRequest("Only reserved document ids may start with underscore.")
    if not is_unicode(doc_id):
        raise errors.HalfCharacter("Document id is not valid Unicode (it holds half of a character).")
    if "\x00" in doc_id:
        raise errors.BadRequest("Document id cannot hold the NUL character.")
    return doc_id


def validate_attachment_name(name) -> str:
    """As CouchDB (no leading underscore, valid Unicode), and fetchable by URL: readers such as
    PouchDB fetch an attachment at `db/doc/name`, where an empty, `.` or `..` segment of the name
    would be a different address."""
    if not isinstance(name, str) or not name:
        raise errors.BadRequest("Attachment name must be a non-empty string.")
    if not is_unicode(name):
        raise errors.HalfCharacter("Attachment name is not UTF-8 encoded")
    if name.startswith("_"):
        raise errors.BadRequest(f"Attachment name '{name}' starts with prohibited character '_'")
    if any(segment in ("", ".", "..") for segment in name.split("/")):
        raise errors.BadRequest(f"Attachment name '{name}' has an empty, '.' or '..' part between slashes.")
    return name


def validate_rev(rev) -> str:
    if not isinstance(rev, str) or not is_unicode(rev) or "\x00" in rev:
        raise errors.BadRequest("Invalid rev format")
    try:
        parse_rev(rev)
    except ValueError:
        raise errors.BadRequest("Invalid rev format") from None
    return rev


def parse_incoming(raw, *, new_edits: bool = True, doc_id: str | None = None) -> IncomingDoc:
    if isinstance(raw, UnreadableDoc):
        raise errors.BadRequest(raw.reason)
    if not isinstance(raw, dict):
        raise errors.BadRequest("Document must be a JSON object")
    for key in raw:
        if key.startswith("_") and key not in SPECIAL_MEMBERS and key not in BODY_MEMBERS:
            raise errors.DocValidation(f"Bad special document member: {key}")
    if doc_id is not None and "_id" in raw and raw["_id"] != doc_id:
        raise errors.BadRequest("Document id must match the URL.")
    the_id = doc_id if doc_id is not None else raw.get("_id")
    if the_id is None:
        if not new_edits:
            raise errors.BadRequest("Document id is required with new_edits=false.")
        the_id = uuid.uuid4().hex
    validate_doc_id(the_id)

    rev = raw.get("_rev")
    revisions = raw.get("_revisions")
    if not the_id.startswith("_local/"):  # a `_local` document's revisions are "0-N": put_local reads them
        if rev is not None:
            validate_rev(rev)
        if revisions is not None:
            revisions = _validate_revisions(revisions)
            # `_revisions` names the revision, whatever `_rev` says (couch_doc:transfer_fields):
            # PouchDB sends them disagreeing when a hash repeats along a branch.
            rev = f"{revisions['start']}-{revisions['ids'][0]}"
    if not new_edits and rev is None and not the_id.startswith("_local/"):
        raise errors.BadRequest("Document rev is required with new_edits=false.")

    deleted = raw.get("_deleted", False)
    if not isinstance(deleted, bool):
        raise errors.DocValidation("_deleted must be a boolean.")
    attachments = raw.get("_attachments")
    if attachments is not None:
        if not isinstance(attachments, dict):
            raise errors.DocValidation("_attachments must be a JSON object.")
        for name in attachments:
            validate_attachment_name(name)
    body = {k: v for k, v in raw.items() if not k.startswith("_") or k in BODY_MEMBERS}
    if encoded_size(body) > MAX_DOCUMENT_BYTES:
        raise errors.DocumentTooLarge(f"Document {the_id!r} is larger than {MAX_DOCUMENT_BYTES} bytes.")
    return IncomingDoc(the_id, rev, revisions, deleted, attachments, body, raw)


def encoded_size(body: dict) -> int:
    """The body's size as JSON; a body that cannot be kept as sent (half a character, too deep)
    is refused here. The fast encoder refuses all of those, so the search for why runs only then."""
    try:
        return len(orjson.dumps(body))
    except TypeError:
        problem = text_problem(body)
        if problem:
            error = errors.HalfCharacter if problem.half_character else errors.BadRequest
            raise error(f"The document cannot be kept as sent: {problem.message}.") from None
    return len(dumpb(body))  # integers beyond 64 bits: the exact encoder


def _validate_revisions(revisions) -> dict:
    ids = revisions.get("ids") if isinstance(revisions, dict) else None
    start = revisions.get("start") if isinstance(revisions, dict) else None
    if (
        not isinstance(start, int) or isinstance(start, bool) or start < 1
        or not isinstance(ids, list) or not ids
        or not all(isinstance(i, str) and is_unicode(i) and "\x00" not in i for i in ids)  # "" too, as CouchDB
        or len(ids) > start
    ):
        raise errors.BadRequest("_revisions must be {start: positive int, ids: [rev hashes]}")
    return {"start": start, "ids": list(ids)}


def new_rev_hash(parent_rev: str | None, deleted: bool, body: dict, attachment_digests: list[str],
                 body_json: str | None = None) -> str:
    """Deterministic rev ids, as CouchDB makes them: the same edit of the same parent gives the same
    rev on every retry and on every device that makes it, so retried writes converge. The text
    hashed is canonical_json([parent_rev, deleted, body, sorted digests]); `body_json`, the body's
    part of it made beforehand, saves making it again."""
    if body_json is None:
        body_json = canonical_json(body)
    material = (f"[{canonical_json(parent_rev)},{'true' if deleted else 'false'},{body_json},"
                f"{canonical_json(sorted(attachment_digests))}]")
    return hashlib.md5(material.encode("utf-8")).hexdigest()


def stored_body(incoming: IncomingDoc, attachment_stubs: dict | None) -> dict:
    body = dict(incoming.body)
    if attachment_stubs:
        body["_attachments"] = attachment_stubs
    return body


def outgoing(doc_id: str, rev: str, deleted: bool, body: dict) -> dict:
    doc = {"_id": doc_id, "_rev": rev}
    doc.update(body)
    if deleted:
        doc["_deleted"] = True
    return doc
