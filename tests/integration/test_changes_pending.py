"""`pending` of a paged `_changes` feed: always the exact number of changes left, though pages of one
pull reuse the previous page's count (see ChangesFeed._pending). Writes between pages, scopes and
filters must never let a remembered count through. On SQLite and PostgreSQL."""
from __future__ import annotations

import random

from sync.access import ADMIN, Access, DbRules
from sync.changes import ChangesOptions
from sync.results import Change, LastSeq


def _page(db, since, limit, **options):
    seqs, last, pending = [], None, None
    for event in db.changes(ChangesOptions(since=since, limit=limit, **options)):
        if isinstance(event, Change):
            seqs.append((event.seq, event.id))
        elif isinstance(event, LastSeq):
            last, pending = event.seq, event.pending
    return seqs, last, pending


def _left(db, since, **options):
    """The truth: the whole rest of the feed, read without a limit."""
    return len(_page(db, since, None, **options)[0])


def _setup(store):
    store.rules_for = lambda name: DbRules(scope_of=lambda body: body.get("area"))
    store.create_database("feed")
    admin = store.open("feed", ADMIN)
    admin.bulk_docs([{"_id": f"d{i:03}", "area": "11" if i % 3 else "22"} for i in range(60)])
    return admin


def test_pages_of_a_pull_count_exactly_with_writes_between_them(store):
    admin = _setup(store)
    rng = random.Random(7)
    for reader in (ADMIN, Access(user="a", read_prefixes=("11",)), Access(user="b", read_prefixes=("22",))):
        since, pages = 0, 0
        while True:
            db = store.open("feed", reader)
            seqs, last, pending = _page(db, since, 7)
            if not seqs:
                break
            assert pending == _left(db, last), (reader.user, since)
            since, pages = last, pages + 1
            if pages % 2 == 0:
                # Move a document (already sent or not yet) to the end of the feed.
                doc_id = f"d{rng.randrange(60):03}"
                admin.put({**admin.get(doc_id), "touched": pages}, doc_id)
        assert pages >= 3


def test_the_same_page_asked_twice_gets_the_same_count(store):
    _setup(store)
    db = store.open("feed", Access(user="a", read_prefixes=("11",)))
    first = _page(db, 0, 5)
    assert _page(store.open("feed", Access(user="a", read_prefixes=("11",))), 0, 5) == first
    assert first[2] == _left(db, first[1])


def test_a_filtered_feed_never_uses_an_unfiltered_count(store):
    _setup(store)
    db = store.open("feed", ADMIN)
    _, last, _ = _page(db, 0, 10)  # remembers the unfiltered count after `last`
    only = [f"d{i:03}" for i in range(0, 60, 2)]
    seqs, last2, pending = _page(db, last, 4, doc_ids=only)
    assert pending == _left(db, last2, doc_ids=only)
    # A selector is applied to the rows read, so its pending counts every change left in the range.
    seqs, last3, pending = _page(db, last, 4, selector={"area": "22"})
    assert pending == _left(db, last3)
