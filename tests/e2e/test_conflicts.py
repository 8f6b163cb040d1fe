"""Conflicts made by two phones editing offline, and deletes (also on one side of a conflict):
every phone and the server agree on the winner, the _conflicts and the _deleted_conflicts."""
from __future__ import annotations

import pytest

from support.checks import winning_rev
from support.server import REFERENCE_RUN


def offline_pair(new_db, device_factory, doc):
    """a writes `doc` and pushes, b pulls it: both phones now hold rev 1, then go offline."""
    a, b = device_factory("a"), device_factory("b")
    rev1 = a.put(doc)[0]["rev"]
    assert a.push(new_db)["push"]["docs_written"] == 1
    assert b.pull(new_db)["pull"]["docs_written"] == 1
    return a, b, rev1


def edit(phone, doc_id, times, **fields):
    rev = phone.get(doc_id)["_rev"]
    for i in range(times):
        rev = phone.put({**phone.get(doc_id), **fields, "edit": i})[0]["rev"]
    return rev


def sync_all(new_db, *phones):
    """Everyone syncs, twice round. (One round is not always enough: a sync pushes and pulls at
    once, so a phone's pull may read the changes feed just before the other side's doc lands.)"""
    for phone in phones + phones:
        res = phone.sync(new_db)
        assert res["ok"], res
        assert res["push"]["doc_write_failures"] == 0 and res["pull"]["doc_write_failures"] == 0


def server_view(db, doc_id):
    """(winning rev, _conflicts, deleted leaves) as the server tells them."""
    doc = db.doc(doc_id, conflicts=True, deleted_conflicts=True)
    r = db.get(doc_id, open_revs="all", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    deleted = sorted(x["ok"]["_rev"] for x in r.json() if x.get("ok", {}).get("_deleted"))
    if not REFERENCE_RUN:  # pouchdb-server ignores deleted_conflicts=true (PouchDB has no such option)
        assert sorted(doc.get("_deleted_conflicts", [])) == deleted, doc
    return doc["_rev"], sorted(doc.get("_conflicts", [])), deleted


def phone_view(phone, doc_id):
    """The same on a phone (PouchDB has no deleted_conflicts option: open_revs=all tells the leaves)."""
    doc = phone.get(doc_id, conflicts=True)
    leaves = phone.get(doc_id, open_revs="all")
    deleted = sorted(x["ok"]["_rev"] for x in leaves if x.get("ok", {}).get("_deleted"))
    return doc["_rev"], sorted(doc.get("_conflicts", [])), deleted


@pytest.mark.parametrize("a_edits,b_edits", [(1, 1), (2, 1), (1, 3)],
                         ids=["same-depth", "a-deeper", "b-deeper"])
def test_conflict_from_two_offline_phones(new_db, device_factory, a_edits, b_edits):
    db = new_db.api
    a, b, _ = offline_pair(new_db, device_factory, {"_id": "dispute-1", "status": "open"})
    rev_a = edit(a, "dispute-1", a_edits, status="mediated", by="a")
    rev_b = edit(b, "dispute-1", b_edits, status="escalated", by="b")

    sync_all(new_db, a, b)

    winner = winning_rev([(rev_a, False), (rev_b, False)])
    loser = rev_b if winner == rev_a else rev_a
    expected = (winner, [loser], [])
    assert server_view(db, "dispute-1") == expected
    assert phone_view(a, "dispute-1") == expected
    assert phone_view(b, "dispute-1") == expected
    # the body everyone shows is the winner's
    by = "a" if winner == rev_a else "b"
    assert db.doc("dispute-1")["by"] == a.get("dispute-1")["by"] == b.get("dispute-1")["by"] == by
    # listing: _all_docs with conflicts, on the server and on the phones
    row = db.all_docs(include_docs=True, conflicts=True, key='"dispute-1"')["rows"][0]
    assert row["value"]["rev"] == winner
    assert row["doc"]["_conflicts"] == [loser]
    for phone in (a, b):
        assert phone.docs()["dispute-1"]["_conflicts"] == [loser]
    # the changes feed lists both leaves with style=all_docs
    change = [c for c in db.changes(style="all_docs")["results"] if c["id"] == "dispute-1"]
    assert len(change) == 1
    assert sorted(c["rev"] for c in change[0]["changes"]) == sorted([rev_a, rev_b])
    # the losing revision is still readable by rev
    assert db.doc("dispute-1", rev=loser)["_rev"] == loser

    # b resolves the conflict by deleting the losing branch; everyone ends with no conflict
    b.remove("dispute-1", loser)
    sync_all(new_db, b, a)
    assert server_view(db, "dispute-1")[:2] == (winner, [])
    assert phone_view(a, "dispute-1")[:2] == (winner, [])
    assert phone_view(b, "dispute-1")[:2] == (winner, [])
    assert len(server_view(db, "dispute-1")[2]) == 1  # the removed branch is now a deleted conflict


def test_deletes_replicate(new_db, device_factory):
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    a.generate("d", 5)
    a.push(new_db)
    b.pull(new_db)
    info_before = db.info()

    deleted = a.remove("d-000002")
    assert deleted["rev"].startswith("2-")
    res = a.push(new_db)
    assert res["push"]["docs_written"] == 1

    r = db.get("d-000002")
    assert r.status_code == 404
    # CouchDB tells a deleted doc from one that never was (pouchdb-server says "missing" for both)
    assert r.json() == {"error": "not_found", "reason": "missing" if REFERENCE_RUN else "deleted"}
    tomb = db.doc("d-000002", rev=deleted["rev"])
    assert tomb.get("_deleted") is True
    info = db.info()
    assert info["doc_count"] == info_before["doc_count"] - 1
    if not REFERENCE_RUN:  # pouchdb-server has no doc_del_count
        assert info["doc_del_count"] == info_before["doc_del_count"] + 1
    change = [c for c in db.changes()["results"] if c["id"] == "d-000002"]
    assert len(change) == 1 and change[0].get("deleted") is True
    assert change[0]["changes"] == [{"rev": deleted["rev"]}]

    assert b.pull(new_db)["pull"]["docs_written"] == 1
    assert b.get_or_none("d-000002") is None
    assert b.info()["doc_count"] == 4
    assert b.get("d-000002", rev=deleted["rev"]).get("_deleted") is True

    # a delete on the server reaches the phones too
    doc = db.doc("d-000003")
    r = db.couch.delete(f"{db.name}/d-000003", params={"rev": doc["_rev"]})
    assert r.status_code in (200, 202) and r.json()["ok"], r.text
    for phone in (a, b):
        assert phone.pull(new_db)["pull"]["docs_written"] == 1
        assert phone.get_or_none("d-000003") is None


def test_delete_on_one_side_of_a_conflict(new_db, device_factory):
    """a edits then deletes (a longer, deleted branch); b edits once. The live leaf wins everywhere,
    though it is shorter, and the tombstone is a deleted conflict, not a conflict."""
    db = new_db.api
    a, b, _ = offline_pair(new_db, device_factory, {"_id": "household-9", "members": 3})
    edit(a, "household-9", 1, members=4)
    tomb = a.remove("household-9")["rev"]
    assert tomb.startswith("3-")
    rev_b = edit(b, "household-9", 1, members=5)
    assert rev_b.startswith("2-")

    sync_all(new_db, a, b)

    assert winning_rev([(tomb, True), (rev_b, False)]) == rev_b
    expected = (rev_b, [], [tomb])
    assert server_view(db, "household-9") == expected
    assert phone_view(a, "household-9") == expected
    assert phone_view(b, "household-9") == expected
    assert db.doc("household-9")["members"] == a.get("household-9")["members"] == 5
    assert db.info()["doc_count"] == 1
    assert a.info()["doc_count"] == b.info()["doc_count"] == 1

    # deleting the survivor too: the doc is deleted everywhere
    b.remove("household-9", rev_b)
    sync_all(new_db, b, a)
    r = db.get("household-9")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert a.get_or_none("household-9") is None
    assert db.info()["doc_count"] == 0
