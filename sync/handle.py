"""One database opened for one user, and what every part of the engine asks of it: which documents
the user may see, and their rows and revisions found within that scope."""
from __future__ import annotations

import time
from typing import Iterable

import sqlalchemy as sa

from . import errors, revtree
from .access import Access, DbRules
from .docs import validate_rev
from .sql import DocRow, load_body, load_rows, scope_clause
from .tables import documents

SCOPE_PROBE = 5000  # a scope with fewer documents than this is read through the scope index
NARROW_SCOPE_SECONDS = 60.0  # how long a store trusts a scope_is_narrow answer


class Handle:
    def __init__(self, store, name: str, db_id: int, access: Access, rules: DbRules) -> None:
        self.store = store
        self.name = name
        self.id = db_id
        self.access = access
        self.rules = rules
        self._narrow: bool | None = None

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
        return load_rows(conn, self.id, ids, for_update)

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
        return load_body(conn, self.id, doc_id, rev)
