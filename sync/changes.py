"""The changes feed: normal, longpoll and continuous, scoped to the reader.

Each document appears once, at its latest sequence number. The feed first reads the database's
update_seq and then only rows up to it: writers commit in sequence order (see `DocumentWrites
._commit_changes`), so everything up to that number is visible and nothing below it can appear
later. A reader checkpointing `last_seq` can therefore never skip a change.

The feed yields typed events (`results.Change`, `Heartbeat`, `Idle`, `LastSeq`); the CouchDB HTTP
view writes them as CouchDB's feed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa

from . import errors, revtree, selector as mango, treecodec
from .docs import outgoing
from .held import held_revisions
from .results import HEARTBEAT, IDLE, Change, ChangeEvent, LastSeq
from .sql import DocRow, load_revision_bodies
from .tables import databases, documents

BATCH = 500
_DESIGN_IDS = (documents.c.doc_id >= "_design/", documents.c.doc_id < "_design0")  # "0" follows "/"
_UPDATE_SEQ = sa.select(databases.c.update_seq).where(databases.c.id == sa.bindparam("db"))  # built once
# A waiting feed is woken by the store's notifier (in this process at once, other processes'
# commits by PostgreSQL NOTIFY or SQLite polling, see notify.py); it also re-reads the store every
# notifier.recheck_seconds() as a safety net.


@dataclass
class ChangesOptions:
    feed: str = "normal"
    since: int | str = 0
    limit: int | None = None
    descending: bool = False
    style: str = "main_only"
    include_docs: bool = False
    conflicts: bool = False
    attachments: bool = False
    heartbeat: float | None = None
    timeout: float = 60.0
    doc_ids: list[str] | None = None
    selector: dict | None = None
    design_only: bool = False  # CouchDB's built-in filter=_design

    def __post_init__(self) -> None:
        if self.feed not in ("normal", "longpoll", "continuous", "eventsource"):
            raise errors.BadRequest(f"Unsupported feed: {self.feed}")
        if self.style not in ("main_only", "all_docs"):
            raise errors.BadRequest("style must be main_only or all_docs")
        if self.limit is not None and self.limit < 0:
            raise errors.BadRequest("limit must be a non-negative integer")
        if self.doc_ids is not None and (
            not isinstance(self.doc_ids, list) or not all(isinstance(i, str) for i in self.doc_ids)
        ):
            raise errors.BadRequest("doc_ids must be an array of document ids")
        if self.selector is not None:
            mango.validate(self.selector)


@dataclass(slots=True)
class _ScanEnd:
    """How a scan ended: the seq a reader resumes after, the update_seq it read up to, and
    whether it stopped at its limit with changes left."""
    last: int
    upto: int | None
    limited: bool


class ChangesFeed:
    def __init__(self, db, options: ChangesOptions) -> None:
        self.db = db
        self.o = options

    def _update_seq(self, conn) -> int:
        return conn.execute(_UPDATE_SEQ, {"db": self.db.id}).scalar_one()

    def events(self) -> Iterator[ChangeEvent]:
        """Yields `Change`s, `HEARTBEAT`s and finally a `LastSeq`; and `IDLE` when it is about
        to wait for a commit, so a transport can send what it holds."""
        o = self.o
        notifier = self.db.store.notifier
        if o.since == "now":
            with self.db.store.reading() as conn:
                since = self._update_seq(conn)
        else:
            since = int(o.since)
        sent = 0
        deadline = time.monotonic() + o.timeout
        last_beat = time.monotonic()
        while True:
            version = notifier.version(self.db.name)
            start, last, count, upto, limited = since, since, 0, None, False
            for event in self._scan(since, None if o.limit is None else o.limit - sent):
                if isinstance(event, Change):
                    count += 1
                    last = event.seq
                    yield event
                else:
                    last, upto, limited = event.last, event.upto, event.limited
            sent += count
            since = last
            live = o.feed in ("continuous", "eventsource") or (o.feed == "longpoll" and sent == 0)
            if limited or not live or (o.limit is not None and sent >= o.limit):
                yield LastSeq(since, self._pending(start, count, since, upto) if limited else 0)
                return
            # Nothing yet (longpoll) or keep following (continuous): wait for a commit.
            yield IDLE
            while True:
                now = time.monotonic()
                if now >= deadline:
                    yield LastSeq(since, 0)
                    return
                wait = min(notifier.recheck_seconds(), deadline - now)
                if o.heartbeat:
                    wait = min(wait, max(0.0, last_beat + o.heartbeat - now))
                woke = notifier.wait(self.db.name, version, wait)
                if o.heartbeat and time.monotonic() - last_beat >= o.heartbeat:
                    last_beat = time.monotonic()
                    yield HEARTBEAT
                if woke or self._has_new(since):
                    break

    def _has_new(self, since: int) -> bool:
        with self.db.store.reading() as conn:
            return self._update_seq(conn) > since

    def _base(self):
        stmt = sa.select(documents.c.doc_id, documents.c.seq, documents.c.winning_rev, documents.c.deleted,
                         documents.c.rev_tree).where(documents.c.db_id == self.db.id)
        if self.o.doc_ids is not None:
            stmt = stmt.where(documents.c.doc_id.in_(self.o.doc_ids))
        if self.o.design_only:
            stmt = stmt.where(*_DESIGN_IDS)
        return self.db._scoped(stmt)

    def _seq(self, conn):
        if self.db.scope_is_narrow(conn):
            # seq + 0, in the ordering and in the seq range alike: the planners (SQLite's and
            # PostgreSQL's) may then not walk the seq index over the whole store (a range on it is
            # every change of the store after `since`); they read the scope's index range and sort
            # it, so the cost follows the size of the scope, not of the store.
            return documents.c.seq + 0
        return documents.c.seq

    def _in_seq_order(self, stmt, conn, descending: bool = False):
        key = self._seq(conn)
        return stmt.order_by(key.desc() if descending else key)

    def _scan(self, since: int, limit: int | None) -> Iterator[Change | _ScanEnd]:
        """Rows after `since` up to the update_seq read now, as `Change`s; then how it ended."""
        if self.o.descending:
            yield from self._scan_descending(limit)
            return
        last, sent, upto = since, 0, None
        while True:
            # No more rows than the page still needs: a phone's page is 100 changes, and each row
            # carries its revision tree.
            page = BATCH if limit is None else min(BATCH, limit - sent)
            upto, rows, entries = self._page(upto, last, page)
            for entry in entries:
                yield entry
                sent += 1
                last = entry.seq
                if limit is not None and sent >= limit:
                    yield _ScanEnd(last, upto, last < upto)
                    return
            if not rows:
                break
            last = rows[-1].seq
            if len(rows) < page:
                break
        yield _ScanEnd(upto, upto, False)

    def _scan_descending(self, limit: int | None) -> Iterator[Change | _ScanEnd]:
        """Newest first, from the update_seq read now, page by page as `_scan`; `limit` counts rows.
        `since` is ignored, as CouchDB does; last_seq is the seq of the last row read, or the
        update_seq when there was none (CouchDB's and PouchDB's)."""
        below, read, upto, last = None, 0, None, None
        while True:
            page = BATCH if limit is None else min(BATCH, limit - read)
            upto, rows, entries = self._page(upto, below, page, descending=True)
            yield from entries
            read += len(rows)
            if rows:
                last = rows[-1].seq
            if len(rows) < page or not rows:
                break
            below = rows[-1].seq
        yield _ScanEnd(upto if last is None else last, upto, False)

    def _page(self, upto: int | None, bound: int | None, size: int, descending: bool = False):
        """(upto, rows, entries) of one page of at most `size` changes: after `bound` up to `upto`,
        or newest first below `bound` (None: from `upto`). `upto` None is read first, in the same
        read: nothing at or below it can commit later. The page is read, and made into its entries,
        before any of it is sent: a phone on a weak link takes its time to read a page, and
        meanwhile its connection to the database is back in the pool for the others."""
        with self.db.store.reading() as conn:
            if upto is None:
                upto = self._update_seq(conn)
            if size <= 0:
                return upto, [], []
            seq = self._seq(conn)
            if descending:
                where = (seq <= upto,) if bound is None else (seq < bound,)
            else:
                where = (seq > bound, seq <= upto)
            rows = conn.execute(self._in_seq_order(self._base().where(*where), conn, descending=descending)
                                .limit(size)).all()
            held = held_revisions(conn, self.db.id) if rows else {}
            return upto, rows, list(self._entries(conn, rows, held))

    def _entries(self, conn, rows, held: dict[str, str]) -> Iterator[Change]:
        o = self.o
        if held:  # revisions a reader could not take: not served, whoever asks
            rows = [row for row in rows if held.get(row.doc_id) != row.winning_rev]
        bodies = self._bodies(conn, rows) if (o.include_docs or o.selector is not None) else {}
        for row in rows:
            tree = treecodec.decode(row.rev_tree)
            if o.selector is not None:
                body = bodies.get(row.doc_id)
                doc = outgoing(row.doc_id, row.winning_rev, row.deleted, body[1] if body else {})
                if not mango.matches(doc, o.selector):
                    continue
            if o.style == "all_docs":
                # The winner first, as CouchDB lists them.
                others = [leaf["rev"] for leaf in revtree.collect_leaves(tree) if leaf["rev"] != row.winning_rev]
                revs = [row.winning_rev, *others]
            else:
                revs = [row.winning_rev]
            doc = self._doc(conn, row, tree, bodies.get(row.doc_id)) if o.include_docs else None
            yield Change(row.seq, row.doc_id, revs, row.deleted, doc)

    def _doc(self, conn, row, tree, body) -> dict | None:
        if body is None:
            return None
        doc_row = DocRow(row.doc_id, "", row.seq, row.winning_rev, row.deleted, tree)
        doc = self.db._shape(conn, doc_row, row.winning_rev, revs=False, attachments=self.o.attachments,
                             body=(body[0], dict(body[1])))
        if self.o.conflicts:
            found = revtree.collect_conflicts(tree)
            if found:
                doc["_conflicts"] = found
        return doc

    def _bodies(self, conn, rows) -> dict[str, tuple[bool, dict]]:
        found = load_revision_bodies(conn, self.db.id, [(r.doc_id, r.winning_rev) for r in rows])
        return {doc_id: loaded for (doc_id, _rev), loaded in found.items()}

    def _pending(self, start: int, sent: int, since: int, upto: int | None) -> int:
        """Changes left after `since` up to `upto`, for a scan that began at `start` and sent `sent`.

        A phone pulls a feed page by page, and counting what is left costs the length of the rest
        of the feed: every page of a long first sync would count again nearly all of it. So the
        answer is remembered under (scope, since, upto); while update_seq has not moved (no write,
        so no document changed its seq) the next page's answer is the previous one less what the
        page sent, since every change in the range is sent (no selector or doc_ids filter)."""
        if upto is None:
            return 0
        memo = self.db.store.pending_counts
        exact_pages = self.o.selector is None and self.o.doc_ids is None and not self.o.design_only
        key = (self.db.id, self.db.access.read_prefixes)
        known = memo.get((*key, start, upto)) if exact_pages else None
        if known is not None:
            pending = known - sent
        else:
            pending = self._count_pending(since, upto)
        if exact_pages:
            memo.remember((*key, since, upto), pending)
        return pending

    def _count_pending(self, since: int, upto: int) -> int:
        with self.db.store.reading() as conn:
            seq = self._seq(conn)
            # Only the seq column: the count is then answered from an index ((db, seq) or
            # (db, scope, seq)) without reading each remaining row's revision tree.
            counted = sa.select(documents.c.seq).where(documents.c.db_id == self.db.id, seq > since, seq <= upto)
            if self.o.doc_ids is not None:
                counted = counted.where(documents.c.doc_id.in_(self.o.doc_ids))
            if self.o.design_only:
                counted = counted.where(*_DESIGN_IDS)
            return conn.execute(
                sa.select(sa.func.count()).select_from(self.db._scoped(counted).subquery())
            ).scalar_one()
