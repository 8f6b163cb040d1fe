"""The two sides of a replication behind one small interface, and the local side: the central
store, through a `sync.database.Database` handle.

A peer has: `label`, `identity()`, `changes(since, limit, wait)`, `revs_diff(revs)`,
`fetch(wanted)` -> (docs, errors), `write(docs)` -> error entries, `admit(doc)` -> refusal or None,
`get_checkpoint(id)` / `put_checkpoint(id, body)`. Their answers are shaped as the protocol's
JSON, which a remote server sends; the local side writes the engine's typed results so (`wire`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa

from .. import errors as couch_errors
from .. import wire
from ..changes import ChangesOptions
from ..results import Change, LastSeq
from .errors import PeerUnavailable, RequestRejected


@dataclass
class Changes:
    results: list[dict]
    last_seq: object
    pending: int | None = None  # None: the peer did not say


def parse_bulk_get(results: list) -> tuple[list[dict], list[dict]]:
    docs, errors = [], []
    for result in results:
        for entry in result.get("docs") or []:
            if "ok" in entry:
                docs.append(entry["ok"])
            else:
                err = entry.get("error") or {}
                errors.append({"id": result.get("id"), "rev": err.get("rev"), "error": err.get("error"),
                               "reason": err.get("reason")})
    return docs, errors


def narrow(db, scope: str):
    """The same database opened with reads (and so writes) limited to documents whose scope
    starts with `scope`, within what the handle could already see."""
    prefixes = db.access.read_prefixes
    if prefixes is None:
        narrowed: tuple[str, ...] = (scope,)
    else:
        narrowed = tuple(sorted({scope if scope.startswith(p) else p
                                 for p in prefixes if scope.startswith(p) or p.startswith(scope)}))
    return db.store.open(db.name, replace(db.access, read_prefixes=narrowed))


class LocalPeer:
    """The central store. With a `scope`, only documents whose scope starts with it are read
    (so pushed), and a pulled document whose scope does not is refused before it is written."""

    kind = "local"

    def __init__(self, db, scope: str | None = None):
        self.scope = scope or None
        self.db = narrow(db, scope) if scope else db
        self.label = f"{db.name} (central store)"

    def __repr__(self) -> str:
        return f"<LocalPeer {self.db.name} scope={self.scope!r}>"

    def identity(self) -> str:
        try:
            server = self._guard(self.db.store.server_uuid)
        except sa.exc.IntegrityError:
            # Store.server_uuid() on a brand-new PostgreSQL store: two first callers both insert;
            # the loser reads the winner's.
            server = self._guard(self.db.store.server_uuid)
        return f"paicha:{server}/{self.db.name}"

    def _guard(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except sa.exc.DBAPIError as exc:
            # The SQL server restarting, a dropped connection, a lock time-out: try again later.
            if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or exc.connection_invalidated:
                raise PeerUnavailable(f"central store: {type(exc.orig or exc).__name__}") from exc
            raise

    # -- the replication protocol --------------------------------------------------------------------
    def changes(self, since, limit: int, wait: float | None = None) -> Changes:
        try:
            since = int(since or 0)
        except (TypeError, ValueError):
            since = 0
        options = ChangesOptions(feed="longpoll" if wait else "normal", since=since, limit=limit,
                                 style="all_docs", timeout=wait or 60.0)

        def collect() -> Changes:
            results, last, pending = [], since, 0
            for event in self.db.changes(options):
                if isinstance(event, Change):
                    results.append(wire.change(event, include_docs=False))
                elif isinstance(event, LastSeq):
                    last, pending = event.seq, event.pending
            return Changes(results, last, pending)

        return self._guard(collect)

    def revs_diff(self, revs: dict[str, list[str]]) -> dict:
        return wire.revs_diff(self._guard(self.db.revs_diff, revs)) if revs else {}

    def fetch(self, wanted: list[dict]) -> tuple[list[dict], list[dict]]:
        if not wanted:
            return [], []
        results = self._guard(self.db.bulk_get, wanted, revs=True, attachments=True, latest=True)
        return parse_bulk_get(wire.bulk_get(results))

    def write(self, docs: list[dict]) -> list[dict]:
        if not docs:
            return []
        try:
            return wire.bulk_docs(self._guard(self.db.bulk_docs, docs, new_edits=False), new_edits=False)
        except couch_errors.CouchError as exc:  # the whole request (a malformed document)
            raise RequestRejected(f"{exc.error}: {exc.reason}", exc.status, exc.error) from None

    def admit(self, doc: dict) -> str | None:
        """Why a pulled revision may not come in, or None. Only a scoped bridge refuses here; the
        store's own write check (schemas, rules) runs on everything written."""
        if self.scope is None:
            return None
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        scope = self.db.rules.scope_of(body) if body else None
        if scope is None:
            # A bare tombstone says nothing about where it belongs: it may only end a document
            # this scope already holds.
            try:
                self.db.open_revs(doc["_id"], "all")
                return None
            except couch_errors.NotFound:
                return f"tombstone of a document not held in scope {self.scope!r}"
        if not scope.startswith(self.scope):
            return f"scope {scope!r} is outside {self.scope!r}"
        return None

    # -- checkpoints ------------------------------------------------------------------------------
    def get_checkpoint(self, rep_id: str) -> dict | None:
        try:
            return self._guard(self.db.get_local, rep_id)
        except couch_errors.NotFound:
            return None

    def put_checkpoint(self, rep_id: str, body: dict) -> str:
        try:
            return self._guard(self.db.put_local, rep_id, body).rev
        except couch_errors.Conflict:
            raise RequestRejected("checkpoint conflict", 409, "conflict") from None
