"""An administrator's decisions on a held entry: re-admit it (as it was, or corrected) or discard it.

Re-admission writes the document through the normal store path as the administrator, so the schema,
the rules of the administrator's role and scope, the write hooks and the audit trail apply. If it is
refused again, the entry stays held (it is not kept a second time) and the caller learns why. When it
is accepted, the entry is marked re-admitted in the same transaction as the write.

A corrected replicated revision (new_edits=false) is written as a new revision on top of the refused
one (its `_revisions` continue the refused revision's), so the phone that holds the refused revision
receives the correction as the next revision of its own branch, not as a conflicting sibling. A
corrected direct edit is written on top of the server's current revision.

Discarding needs a reason; who, when and why are kept on the entry, and the writer's notice says so.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re

import sqlalchemy as sa
from flask import Flask

from sync import errors
from sync.docs import new_rev_hash

from server.core.access import access_for
from server.core.auth import Principal, principal_named
from server.core.db import reading, writing
from server.core import clock
from server.core.store import get_store
from server.services.quarantine import entries
from server.services.quarantine.entries import DISCARDED, HELD, READMITTED, table
from server.services.quarantine.notices import settle

log = logging.getLogger(__name__)

MAX_NOTE = 2000
_REV = re.compile(r"^[1-9][0-9]{0,8}-[0-9A-Za-z]{1,128}$")
# What a correction may not carry: the revision members are the server's to set.
_REVISION_MEMBERS = ("_rev", "_revisions")


class DecisionError(Exception):
    """A decision that cannot be made: `code` says why (not_found, not_held, not_admin,
    note_required, bad_json, not_an_object, id_changed, unreadable)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Readmission:
    ok: bool
    doc_id: str
    rev: str | None = None  # the revision written, when ok
    corrected: bool = False
    error: str | None = None  # CouchDB error name when refused again (forbidden, conflict, ...)
    code: str | None = None  # the rules' refusal code, when there is one
    reason: str | None = None  # the rules' sentence (English)


def administrator(name: str) -> Principal:
    admin = principal_named(name)
    if admin is None or admin.role != "admin":
        raise DecisionError("not_admin", f"{name} is not an active administrator account")
    return admin


def _entry(app: Flask, entry_id: int, scope: str | None):
    with reading() as conn:
        entry = entries.get(conn, entry_id, scope)
    if entry is None:
        raise DecisionError("not_found", f"no quarantine entry #{entry_id}")
    if entry.status != HELD:
        raise DecisionError("not_held", f"quarantine entry #{entry_id} is {entry.status}, not held")
    return entry


def original(entry) -> dict | None:
    """The refused document as it was sent, or None if it could not be read as a document."""
    try:
        doc = json.loads(entry.body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def editable(doc: dict | None) -> dict | None:
    """What the administrator edits: the document without the revision members and attachments
    (those are kept as sent)."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in _REVISION_MEMBERS and k != "_attachments"}


def _same(corrected: dict, sent: dict) -> bool:
    def own(doc):
        return {k: v for k, v in editable(doc).items() if k != "_id"}
    return own(corrected) == own(sent)


def parse_correction(text: str, doc_id: str) -> dict:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise DecisionError("bad_json", str(exc)) from None
    if not isinstance(doc, dict):
        raise DecisionError("not_an_object", "the corrected document must be a JSON object")
    if doc.get("_id", doc_id) != doc_id:
        raise DecisionError("id_changed", "the corrected document must keep its _id")
    return doc


def _to_write(entry, corrected: dict | None, current_rev: str | None) -> tuple[dict, bool, bool]:
    """(document, new_edits, corrected?) for a re-admission."""
    sent = original(entry)
    if corrected is not None and sent is not None and _same(corrected, sent):
        corrected = None  # submitted unchanged
    if corrected is None:
        if sent is None:
            raise DecisionError("unreadable", "what was sent is not a readable document: correct it first")
        return sent, bool(entry.new_edits), False
    doc = {k: v for k, v in corrected.items() if k not in _REVISION_MEMBERS and k != "_attachments"}
    doc["_id"] = entry.doc_id
    if sent is not None and sent.get("_attachments"):
        doc["_attachments"] = sent["_attachments"]
    if not entry.new_edits and _REV.match(entry.rev or ""):
        # The next revision of the refused one, so the phone's own branch continues.
        pos, _, refused_hash = entry.rev.partition("-")
        own = {k: v for k, v in doc.items() if not k.startswith("_")}
        digests = sorted(a["digest"] for a in (doc.get("_attachments") or {}).values()
                         if isinstance(a, dict) and isinstance(a.get("digest"), str))
        new_hash = new_rev_hash(entry.rev, doc.get("_deleted") is True, own, digests)
        doc["_rev"] = f"{int(pos) + 1}-{new_hash}"
        doc["_revisions"] = {"start": int(pos) + 1, "ids": [new_hash] + _history(sent, int(pos), refused_hash)}
        return doc, False, True
    if current_rev:
        doc["_rev"] = current_rev
    return doc, True, True


def _history(sent: dict | None, pos: int, refused_hash: str) -> list[str]:
    """The refused revision's own history as the phone sent it (its hash first), if it is sound."""
    revisions = (sent or {}).get("_revisions")
    ids = revisions.get("ids") if isinstance(revisions, dict) else None
    if (isinstance(revisions, dict) and revisions.get("start") == pos and isinstance(ids, list) and ids
            and ids[0] == refused_hash and len(ids) <= pos and all(isinstance(i, str) and i for i in ids)):
        return list(ids)
    return [refused_hash]


def readmit(app: Flask, entry_id: int, admin: Principal, corrected: dict | None = None) -> Readmission:
    """Write a held document again (as sent, or `corrected`), as `admin`, through the normal rules.
    Refused again: the entry stays held and the result says why."""
    entry = _entry(app, entry_id, admin.scope)
    database = get_store().open(entry.db_name, access_for(admin, entry.db_name))
    try:
        current_rev = database.get(entry.doc_id).get("_rev")
    except errors.CouchError:
        current_rev = None
    doc, new_edits, was_corrected = _to_write(entry, corrected, current_rev)
    refusals: list = []
    base = database.access.record_writes
    now = clock.now()

    def record(conn: sa.Connection, writes) -> None:
        mine = [w for w in writes if w.doc_id == entry.doc_id]
        if mine:  # in the write's own transaction: accepted and re-admitted, or neither
            conn.execute(sa.update(table).where(table.c.id == entry.id, table.c.status == HELD).values(
                status=READMITTED, resolved_at=now, resolved_by=admin.name, resolved_rev=mine[-1].rev[:80]))
        if base:
            base(conn, writes)

    # A refused re-admission stays this one entry: it is not held a second time.
    access = dataclasses.replace(database.access, record_writes=record, record_refusals=refusals.extend)
    database = get_store().open(entry.db_name, access)
    try:
        results = database.bulk_docs([doc], new_edits=new_edits)
    except errors.CouchError as exc:
        return Readmission(False, entry.doc_id, corrected=was_corrected, error=exc.error, reason=exc.reason)
    result = results[0]
    if result.error is not None:
        log.info("re-admission of quarantine entry #%s by %s refused: %s", entry.id, admin.name, result.error.reason)
        refused = result.error.refusal if isinstance(result.error, errors.Refused) else None
        return Readmission(False, entry.doc_id, corrected=was_corrected, error=result.error.error,
                           code=refused.code if refused else None, reason=result.error.reason)
    with writing() as conn:
        # Already in the store (replicated meanwhile): nothing was written, but it is in.
        conn.execute(sa.update(table).where(table.c.id == entry.id, table.c.status == HELD).values(
            status=READMITTED, resolved_at=now, resolved_by=admin.name, resolved_rev=(result.rev or "")[:80]))
    log.info("quarantine entry #%s (%s) re-admitted by %s%s as %s", entry.id, entry.doc_id, admin.name,
             " corrected" if was_corrected else "", result.rev)
    settle(app)
    return Readmission(True, entry.doc_id, rev=result.rev, corrected=was_corrected)


def discard(app: Flask, entry_id: int, admin: Principal, note: str) -> None:
    """Drop a held entry, with the administrator's reason (required); its writer is told."""
    note = (note or "").strip()
    if not note:
        raise DecisionError("note_required", "a reason is required to discard")
    _entry(app, entry_id, admin.scope)
    with writing() as conn:
        done = conn.execute(sa.update(table).where(table.c.id == entry_id, table.c.status == HELD).values(
            status=DISCARDED, resolved_at=clock.now(), resolved_by=admin.name, note=note[:MAX_NOTE])).rowcount
    if not done:
        raise DecisionError("not_held", f"quarantine entry #{entry_id} is no longer held")
    log.info("quarantine entry #%s discarded by %s: %s", entry_id, admin.name, note[:200])
    settle(app)

