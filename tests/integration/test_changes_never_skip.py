"""The changes feed never skips a change, even while many writers commit concurrently.

The classic trap: sequence numbers handed out in one order and committed in another, so a reader
that checkpoints `last_seq` after seeing seq 12 never sees seq 11 when it commits later.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from sync import errors
from sync.access import ADMIN
from sync.changes import ChangesOptions
from sync.results import Change, LastSeq

WRITERS = 8
BATCHES = 15
DOCS_PER_BATCH = 5


def _read_all(db, since):
    ids, last = [], since
    for event in db.changes(ChangesOptions(since=since)):
        if isinstance(event, Change):
            ids.append(event.id)
        elif isinstance(event, LastSeq):
            last = event.seq
    return ids, last


def test_a_checkpointing_reader_sees_every_concurrent_write(store):
    store.create_database("race")
    db = store.open("race", ADMIN)
    done = threading.Event()
    seen: list[str] = []
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for b in range(BATCHES):
                docs = [{"_id": f"w{n}-b{b}-d{d}", "n": n} for d in range(DOCS_PER_BATCH)]
                results = db.bulk_docs(docs)
                assert all(r.ok for r in results), results
        except BaseException as exc:  # surfaced by the main thread
            failures.append(exc)

    def reader() -> None:
        since = 0
        while True:
            finished = done.is_set()
            ids, since = _read_all(db, since)
            seen.extend(ids)
            if finished:
                return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()

    assert not failures, failures
    expected = {f"w{n}-b{b}-d{d}" for n in range(WRITERS) for b in range(BATCHES) for d in range(DOCS_PER_BATCH)}
    assert set(seen) == expected
    assert len(seen) == len(expected), "a document arrived twice"
    info = db.info()
    assert info.update_seq == len(expected)
    assert info.doc_count == len(expected)


def test_concurrent_edits_of_one_document_never_lose_a_revision(store):
    store.create_database("hot")
    db = store.open("hot", ADMIN)
    first = db.put({"count": 0}, "counter")
    winners: list[str] = []
    lock = threading.Lock()

    def editor(n: int) -> None:
        for _ in range(10):
            while True:
                current = db.get("counter")
                result = db.bulk_docs([{**current, "count": current["count"] + 1, "by": n}])[0]
                if result.ok:
                    with lock:
                        winners.append(result.rev)
                    break
                assert isinstance(result.error, errors.Conflict)

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = db.get("counter", revs=True, conflicts=True)
    assert final["count"] == 40  # every accepted edit built on the one before: none was lost
    assert "_conflicts" not in final
    assert len(set(winners)) == 40
    assert first.rev.startswith("1-")


def test_a_slow_feed_reader_holds_no_database_connection(store):
    """A phone on a weak link reads a long feed slowly. Between pages the feed holds no pooled
    connection (the pool is shared by every request of the worker), and the pages still give every
    change once, in order, with writes committed while the reader dawdles."""
    store.create_database("slow")
    db = store.open("slow", ADMIN)
    db.bulk_docs([{"_id": f"d{n:05d}"} for n in range(1200)])  # more than two pages of the feed
    pool = store.engine.pool
    seen = []
    for event in db.changes(ChangesOptions(since=0, include_docs=True)):
        if isinstance(event, Change):
            assert pool.checkedout() == 0, f"a connection held while change {len(seen)} is being sent"
            seen.append(event.id)
            if len(seen) == 600:  # mid-feed, in the second page: a write that commits meanwhile
                db.bulk_docs([{"_id": "late"}])
    assert seen[:1200] == [f"d{n:05d}" for n in range(1200)]
    assert len(seen) == len(set(seen))


def test_a_descending_feed_is_read_page_by_page_newest_first(store):
    """Newest first, every change once, pages of the feed read before they are sent (no connection
    held while the reader reads), and a limit counts from the newest."""
    store.create_database("newest")
    db = store.open("newest", ADMIN)
    db.bulk_docs([{"_id": f"d{n:05d}"} for n in range(1200)])
    db.bulk_docs([{"_id": "d00000", "_rev": db.get("d00000")["_rev"], "edited": True}])  # now the newest change
    pool = store.engine.pool

    def read(**options):
        seqs, ids = [], []
        for event in db.changes(ChangesOptions(since=0, descending=True, **options)):
            if isinstance(event, Change):
                assert pool.checkedout() == 0, "a connection held while a change is being sent"
                seqs.append(event.seq)
                ids.append(event.id)
        return seqs, ids

    statements = []

    def executed(conn, cursor, statement, *args):
        if "FROM sync_documents" in statement:
            statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", executed)
    try:
        seqs, ids = read()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", executed)
    assert statements and all("LIMIT" in s for s in statements), "a feed read without a bound on its rows"
    assert ids == ["d00000"] + [f"d{n:05d}" for n in range(1199, 0, -1)]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 1200
    assert read(limit=700)[1] == ids[:700]
    assert read(limit=0)[1] == []
