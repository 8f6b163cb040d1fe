"""What the engine's Python API answers: typed results and changes events, never CouchDB's JSON.

A caller in the same process reads fields (`result.error`, `row.found`, `change.doc`); the
CouchDB HTTP views and the bridge's local side turn them into the protocol's JSON (`wire.py`).

Results made once per document or per change (a pull makes one for each change it sends) are
plain classes with slots: a frozen dataclass costs five times as much to make. Nothing changes
them after the engine made them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import CouchError


# -- writes ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class WriteResult:
    """One document of a write: the revision it now has, or why it was refused."""
    id: str | None  # None when a refused element did not say which document it is
    rev: str | None = None
    error: CouchError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# -- reads -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """A database as its reader sees it: the counts are of the documents in the reader's scopes."""
    name: str
    update_seq: int
    doc_count: int
    doc_del_count: int


@dataclass(slots=True)
class AllDocsRow:
    """A row of `all_docs`: a document's winning revision, or a key asked for that names no document
    the reader may see (`found` is False)."""
    key: object  # the id; with `keys`, the key as asked (not always a string)
    rev: str | None = None
    deleted: bool = False
    doc: dict | None = None  # with include_docs: the winning revision (None for a deleted document)

    @property
    def found(self) -> bool:
        return self.rev is not None

    @property
    def id(self) -> str | None:
        return self.key if self.rev is not None else None


@dataclass(frozen=True, slots=True)
class AllDocsPage:
    total_rows: int  # the documents the reader may see, whatever the options
    offset: int | None  # rows before the first one; None with `keys`
    rows: list[AllDocsRow]
    update_seq: int


@dataclass(slots=True)
class Missing:
    """A revision asked for (`open_revs`) that the document does not have."""
    rev: str


@dataclass(slots=True)
class RevisionError:
    """Why a revision asked for in a `bulk_get` is not given."""
    rev: str | None
    error: CouchError


@dataclass(slots=True)
class BulkGetResult:
    """The answer to one request of a `bulk_get`: each revision's document (a dict), or why not."""
    id: object  # the id as asked (not always a string: that request is then an error)
    docs: list  # list[dict | RevisionError]


@dataclass(slots=True)
class RevsDiff:
    """Of the revisions asked about for one document, those the database does not have."""
    missing: list[str]
    possible_ancestors: list[str]  # revisions held that may be their ancestors (may be empty)


# -- the changes feed ------------------------------------------------------------------------------
@dataclass(slots=True)
class Change:
    """A document at its latest sequence number."""
    seq: int
    id: str
    revs: list[str]  # the winner first; with style=all_docs then every other leaf
    deleted: bool = False
    doc: dict | None = None  # with include_docs


@dataclass(frozen=True, slots=True)
class LastSeq:
    """The end of a feed: where a reader resumes, and how many changes are left after it."""
    seq: int
    pending: int


class Heartbeat:
    """Nothing changed for a heartbeat's time: a transport sends a keep-alive."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "HEARTBEAT"


class Idle:
    """The feed is about to wait for a commit: a transport sends what it holds."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "IDLE"


HEARTBEAT = Heartbeat()
IDLE = Idle()
ChangeEvent = Change | Heartbeat | Idle | LastSeq
