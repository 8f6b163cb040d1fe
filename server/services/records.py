"""Plain-JSON writes of field records through the user-bound store, safe to retry.

A phone on a bad connection often does not see the answer to a write it made, and sends it again:

    create  same id, same content    -> the stored record (200), never a second one
            same id, other content   -> 409 id_taken
    update  rev = current            -> a new revision
            rev = the current one's parent and the current content is this edit (a retry)
                                     -> the stored record (200)
            otherwise                -> 409 edit_conflict (someone else changed it meanwhile)
    attach  same name, same bytes    -> the stored record (200)
            same name, other bytes   -> 409 attachment_exists, unless the current rev is given

"Same content" compares the record's own fields; fields the client left to the server (created_at,
...) are taken from the stored record for the comparison. Every write goes through the store with
the caller's `Access`, so the schema, the role and scope rules, the quarantine and the audit trail
apply exactly as for replication.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
from dataclasses import dataclass

import schemas

from schemas.errors import PaichaError, WriteRefused
from sync import errors
from sync.attachments import md5_digest

from server.services.collections import Collection, fill, stamp

WRITE_ATTEMPTS = 3


@dataclass
class Outcome:
    doc: dict  # the stored document (`_id`, `_rev`, stubs under `_attachments`)
    created: bool = False  # a new record or attachment (201) rather than a retry or an edit (200)


def own_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def read(database, collection: Collection, doc_id: str, revs: bool = False) -> dict:
    """The current record, or 404 record_not_found (missing, deleted, out of scope, other type)."""
    try:
        doc = database.get(doc_id, revs=revs)
    except errors.NotFound:
        raise PaichaError("record_not_found", id=doc_id) from None
    if doc.get("type") != collection.doc_type:
        raise PaichaError("record_not_found", id=doc_id)
    return doc


def _current(database, doc_id: str) -> dict | None:
    try:
        return database.get(doc_id, revs=True)
    except errors.NotFound:
        return None


def _parent(doc: dict) -> str | None:
    revisions = doc.get("_revisions") or {}
    ids = revisions.get("ids") or []
    return f"{revisions['start'] - 1}-{ids[1]}" if len(ids) > 1 else None


def _stubs(doc: dict) -> dict:
    return {name: {**stub, "stub": True} for name, stub in (doc.get("_attachments") or {}).items()}


def _put(database, doc: dict, doc_id: str) -> str:
    """The written revision's id."""
    try:
        return database.put(doc, doc_id).rev
    except errors.Refused as exc:
        raise WriteRefused(exc.refusal) from None


def _stored(doc: dict, doc_id: str, rev: str, attachments: dict | None = None) -> dict:
    out = {"_id": doc_id, "_rev": rev, **own_fields(doc)}
    if attachments:
        out["_attachments"] = attachments
    return out


def create(database, collection: Collection, fields: dict, *, user: str, now: dt.datetime) -> Outcome:
    doc_id = fields["id"]
    for _ in range(WRITE_ATTEMPTS):
        current = _current(database, doc_id)
        if current is not None:
            if own_fields(current) == fill(collection, fields, user=user, now=now, base=current):
                return Outcome(current)
            raise PaichaError("id_taken", id=doc_id)
        doc = fill(collection, fields, user=user, now=now)
        try:
            return Outcome(_stored(doc, doc_id, _put(database, doc, doc_id)), created=True)
        except errors.Conflict:
            continue  # created meanwhile (a parallel retry): compare with what is there now
    raise PaichaError("id_taken", id=doc_id)


def update(database, collection: Collection, doc_id: str, fields: dict, *, user: str, now: dt.datetime) -> Outcome:
    rev = fields["rev"]
    for _ in range(WRITE_ATTEMPTS):
        current = read(database, collection, doc_id, revs=True)
        if current["_rev"] != rev:
            retry = fill(collection, fields, user=user, now=now, base=current)
            if _parent(current) == rev and own_fields(current) == retry:
                return Outcome(current)
            raise PaichaError("edit_conflict", id=doc_id, current_rev=current["_rev"])
        doc = fill(collection, fields, user=user, now=now, base=current, updating=True)
        stubs = _stubs(current)
        try:
            new_rev = _put(database, {**doc, "_rev": rev, **({"_attachments": stubs} if stubs else {})}, doc_id)
        except errors.Conflict:
            continue
        return Outcome(_stored(doc, doc_id, new_rev, current.get("_attachments")))
    current = read(database, collection, doc_id)
    raise PaichaError("edit_conflict", id=doc_id, current_rev=current["_rev"])


def attach(database, collection: Collection, doc_id: str, name: str, content_type: str, data: bytes, *,
           rev: str | None, user: str, now: dt.datetime) -> Outcome:
    digest = md5_digest(data)
    for _ in range(WRITE_ATTEMPTS):
        current = read(database, collection, doc_id, revs=True)
        existing = (current.get("_attachments") or {}).get(name)
        same = existing is not None and existing.get("digest") == digest
        if rev is not None and current["_rev"] != rev:
            if same and _parent(current) == rev:
                return Outcome(current)
            raise PaichaError("edit_conflict", id=doc_id, current_rev=current["_rev"])
        if same:
            return Outcome(current)
        if existing is not None and rev is None:
            raise PaichaError("attachment_exists", id=doc_id, name=name)
        doc = own_fields(current)
        if lists_photos(collection.doc_type) and name not in (doc.get("photos") or []):
            doc["photos"] = list(doc.get("photos") or []) + [name]
        doc.update(updated_by=user, updated_at=stamp(now))
        attachments = _stubs(current)
        attachments[name] = {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}
        try:
            _put(database, {**doc, "_rev": current["_rev"], "_attachments": attachments}, doc_id)
        except errors.Conflict:
            continue
        return Outcome(read(database, collection, doc_id), created=True)
    current = read(database, collection, doc_id)
    raise PaichaError("edit_conflict", id=doc_id, current_rev=current["_rev"])


@functools.cache
def lists_photos(doc_type: str) -> bool:
    """The type's schema lists its attachments' names in `photos`: kept in step with uploads."""
    return "photos" in schemas.load_schema(doc_type).get("properties", {})
