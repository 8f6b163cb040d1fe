"""What the host application injects into the engine.

The engine knows nothing of villages or roles. Per database it gets a `DbRules` (how to read a
document's scope); per request an `Access` (who is asking, which scopes they may read, and a write
check). Every read the engine does for a handle is limited to `read_prefixes`, so a protocol
handler cannot forget it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import sqlalchemy as sa


@dataclass(frozen=True)
class WriteAttempt:
    """One document edit as the write check sees it."""
    doc_id: str
    old: dict | None  # the current winning revision, None for a new document
    new: dict  # the incoming revision's fields (CouchDB members included)
    deleting: bool
    new_edits: bool
    prechecked: object = None  # what Access.precheck made of `new`, if there is one
    # The element's text as received, when it could not be read as a document at all (`new` is
    # then empty): what the quarantine keeps.
    received: str | None = None


@dataclass(frozen=True)
class AcceptedWrite:
    doc_id: str
    rev: str
    previous_rev: str | None
    deleted: bool
    seq: int
    scope: str
    body: dict  # the new revision's stored fields (attachment stubs included)
    # The document's winning revision once the whole batch is applied (a replicated losing branch
    # leaves the winner as it was), and whether that winner is a deletion.
    winning_rev: str | None = None
    winner_deleted: bool = False


class WriteCheck(Protocol):
    def __call__(self, attempt: WriteAttempt) -> str | None:
        """A refusal reason, or None to accept."""


@dataclass(frozen=True)
class Access:
    user: str
    is_admin: bool = False
    # None: the whole database. Otherwise documents whose scope starts with one of these.
    read_prefixes: tuple[str, ...] | None = None
    check_write: WriteCheck | None = None
    # The part of the write check that needs the incoming document alone (a schema check): run on
    # every incoming revision before the write transaction, so not while the database's writers
    # queue behind it, and its result handed to `check_write` as `WriteAttempt.prechecked`. It
    # refuses nothing itself: `check_write` decides, at the point and in the order it always did.
    precheck: Callable[[dict], object] | None = None
    # Called inside the write transaction with what was accepted (audit trails).
    record_writes: Callable[[sa.Connection, list[AcceptedWrite]], None] | None = None
    # Called (outside the write transaction) with the refused documents of a write and why each
    # was refused, so nothing is lost: once per write, however many it refused.
    record_refusals: Callable[[list[tuple[WriteAttempt, str]]], None] | None = None

    def can_read_scope(self, scope: str) -> bool:
        return self.read_prefixes is None or any(scope.startswith(p) for p in self.read_prefixes)


def _plain_scope(body: dict) -> str | None:
    return ""


@dataclass(frozen=True)
class DbRules:
    """`scope_of(body)` gives a new revision's scope; None keeps the document's current scope
    (tombstones usually carry no fields)."""
    scope_of: Callable[[dict], str | None] = field(default=_plain_scope)


PLAIN = DbRules()
ADMIN = Access(user="admin", is_admin=True)
