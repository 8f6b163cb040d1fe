"""Replication with a real PouchDB phone against a plain (CouchDB-semantics) database on the server:
push, pull, two-way sync, live sync, and nothing arriving twice. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import time

from support.checks import duplicates

UNICODE = {"village": "东关街道办事处", "note": "纠纷：邻里宅基地 — ✓ \u00e9\u00e8 \U0001F3E0", "nested": {
    "a": [1, 2.5, None, True, {"b": "c"}], "empty": {}, "zero": 0, "neg": -17, "big": 9007199254740991}}


def wait_for(predicate, timeout=30.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def server_revs(db) -> dict[str, str]:
    return {row["id"]: row["value"]["rev"] for row in db.all_docs()["rows"]}


def test_push_many_docs(new_db, device_factory):
    phone = device_factory("phone")
    phone.generate("p", 1000, fields={"type": "e2e", "payload": "x" * 200})
    phone.put({"_id": "unicode", **UNICODE})
    rev = phone.put({"_id": "edited", "v": 1})[0]["rev"]
    for v in (2, 3):
        rev = phone.put({"_id": "edited", "_rev": rev, "v": v})[0]["rev"]

    res = phone.push(new_db, batch_size=100)

    assert res["ok"], res
    assert res["push"]["docs_written"] == 1002
    assert res["push"]["doc_write_failures"] == 0
    db = new_db.api
    assert db.info()["doc_count"] == 1002
    local = {row["id"]: row["value"]["rev"] for row in phone.all_docs(include_docs=False)["rows"]}
    assert server_revs(db) == local
    assert db.doc("unicode") == phone.get("unicode")
    on_server = db.doc("edited", revs=True)
    assert on_server["v"] == 3 and on_server["_rev"].startswith("3-")
    assert on_server["_revisions"] == phone.get("edited", revs=True)["_revisions"]
    ids = db.changes_ids()
    assert not duplicates(ids) and len(ids) == 1002


def test_pull(new_db, device_factory):
    db = new_db.api
    docs = [{"_id": f"s-{i:04d}", "n": i, "type": "e2e"} for i in range(500)]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    db.put({"_id": "unicode", **UNICODE})
    rev = db.put({"_id": "edited", "v": 1})["rev"]
    for v in (2, 3):
        rev = db.put({"_id": "edited", "_rev": rev, "v": v})["rev"]
    gone = db.put({"_id": "gone", "v": 1})
    r = db.couch.delete(f"{db.name}/gone", params={"rev": gone["rev"]})
    assert r.status_code in (200, 202), r.text

    phone = device_factory("phone")
    res = phone.pull(new_db, batch_size=50)

    assert res["ok"], res
    assert res["pull"]["doc_write_failures"] == 0
    assert res["pull"]["docs_written"] == 503  # 500 + unicode + edited + the tombstone of "gone"
    local = {row["id"]: row["value"]["rev"] for row in phone.all_docs(include_docs=False)["rows"]}
    assert local == server_revs(db)
    assert phone.info()["doc_count"] == 502
    assert phone.get("unicode") == db.doc("unicode")
    assert phone.get("edited", revs=True)["_revisions"] == db.doc("edited", revs=True)["_revisions"]
    assert phone.get_or_none("gone") is None
    assert phone.get("s-0042") == db.doc("s-0042")


def test_two_way_sync(new_db, device_factory):
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    a.generate("a", 30)
    db.bulk_docs([{"_id": f"srv-{i}", "n": i} for i in range(20)])

    res = a.sync(new_db)
    assert res["ok"], res
    assert res["push"]["docs_written"] == 30
    assert res["pull"]["docs_written"] == 20
    assert db.info()["doc_count"] == 50
    assert a.info()["doc_count"] == 50

    res = b.sync(new_db)
    assert res["pull"]["docs_written"] == 50 and res["push"]["docs_written"] == 0
    assert set(b.docs()) == set(a.docs()) == set(server_revs(db))

    # an edit on b travels through the server to a
    doc = b.get("a-000007")
    new_rev = b.put({**doc, "edited_by": "b"})[0]["rev"]
    assert b.sync(new_db)["push"]["docs_written"] == 1
    assert a.sync(new_db)["pull"]["docs_written"] == 1
    assert a.get("a-000007")["_rev"] == new_rev == db.doc("a-000007")["_rev"]
    assert a.get("a-000007")["edited_by"] == "b"
    # and one on the server to both
    srv = db.doc("srv-3")
    srv_rev = db.put({**srv, "edited_by": "server"})["rev"]
    for phone in (a, b):
        assert phone.sync(new_db)["pull"]["docs_written"] == 1
        assert phone.get("srv-3")["_rev"] == srv_rev


def test_live_sync_picks_up_a_change_from_another_device(new_db, device_factory):
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    db.put({"_id": "before", "v": 0})

    live = a.live(new_db, seconds=60, until={"ids": ["from-b"]},
                  put_when_paused=[{"_id": "from-a", "v": "written while live"}])
    try:
        live.wait_event(lambda e: e["event"] == "caught_up", timeout=60)
        # a's live push: the doc a wrote after catching up reaches the server without a new sync
        wait_for(lambda: db.get("from-a").status_code == 200, timeout=30, what="from-a on the server")
        # b writes and pushes; a's live pull (the changes feed) brings it to a
        b.put({"_id": "from-b", "v": "hello from b"})
        assert b.push(new_db)["push"]["docs_written"] == 1
        res = live.result(timeout=90)
    finally:
        live.kill()
    assert res["reached"], f"from-b never reached a's phone; events: {[e['event'] for e in res['events']]}"
    assert a.get("from-b")["v"] == "hello from b"
    assert a.get("before")["v"] == 0
    assert not [e for e in res["events"] if e["event"] in ("error", "denied")]


def test_nothing_arrives_twice(new_db, device_factory):
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    a.generate("a", 40)
    b.generate("b", 40)
    db.bulk_docs([{"_id": f"srv-{i}"} for i in range(10)])
    for phone in (a, b, a):
        assert phone.sync(new_db, batch_size=15)["ok"]
    for phone in (a, b):
        assert phone.info()["doc_count"] == 90
    server_seq = db.info()["update_seq"]
    phone_seqs = [a.info()["update_seq"], b.info()["update_seq"]]

    for _ in range(2):
        for phone in (a, b):
            res = phone.sync(new_db, batch_size=15)
            assert res["push"]["docs_written"] == 0, res["push"]
            assert res["pull"]["docs_written"] == 0, res["pull"]

    info = db.info()
    assert info["doc_count"] == 90
    assert info["update_seq"] == server_seq, "a sync that wrote nothing changed the server's update_seq"
    assert [a.info()["update_seq"], b.info()["update_seq"]] == phone_seqs
    ids = db.changes_ids()
    assert len(ids) == 90 and not duplicates(ids), duplicates(ids)
    assert not [i for i in ids if i.startswith("_local/")], "checkpoints (_local docs) in _changes"
    for phone in (a, b):
        local_ids = [r["id"] for r in phone.changes()["results"]]
        assert len(local_ids) == 90 and not duplicates(local_ids)
        for doc in phone.docs().values():
            assert doc["_rev"].startswith("1-"), doc
