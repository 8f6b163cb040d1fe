"""The CouchDB bridge (sync/bridge) between the engine (SQLite / PostgreSQL) and pouchdb-server (npm)
as the CouchDB peer: both directions, attachments and deletions, conflicts made on each side, a
scope-limited bridge, resuming from checkpoints after an interrupted run, a lost checkpoint and a
peer killed mid-way, credentials with awkward characters that never show in logs or checkpoints.

Checkpoint-resume is checked exactly: every revision is written once over all runs (the per-run
`docs_written` add up to the number of revisions), and a resumed run reads only the changes after
the last checkpoint.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import pytest
import requests

from support.server import PouchDBServerProcess
from sync.access import ADMIN, DbRules
from sync.bridge import (LocalPeer, PeerRefused, RemotePeer, RemoteURL, Replication, replicate,
                         replication_id)
from sync.changes import ChangesOptions
from sync.results import Change
from sync.store import Store

pytestmark = pytest.mark.usefixtures("node_installed")

VILLAGE_A = "610402001001"  # township 610402001
VILLAGE_B = "610402001002"  # township 610402001
VILLAGE_C = "610402002001"  # township 610402002


def area_of(body: dict) -> str | None:
    area = body.get("area")
    return area if isinstance(area, str) and area else None


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    srv = PouchDBServerProcess(str(tmp_path_factory.mktemp("pouchdb-peer")), name="bridge-peer")
    srv.start()
    yield srv
    srv.close()


class Remote:
    """A database on the peer, driven over HTTP with admin credentials (independently of the bridge)."""

    def __init__(self, peer, name: str):
        self.peer, self.name = peer, name
        self.base = f"{peer.url}/{name}"
        self.http = requests.Session()
        self.http.auth = peer.auth

    def url(self, with_credentials: bool = False) -> RemoteURL:
        return RemoteURL(self.base, *self.peer.auth) if with_credentials else RemoteURL(self.base)

    def create(self) -> "Remote":
        r = self.http.put(self.base, timeout=10)
        assert r.status_code in (201, 412), r.text
        return self

    def bulk(self, docs: list[dict], new_edits: bool = True) -> list:
        r = self.http.post(f"{self.base}/_bulk_docs", json={"docs": docs, "new_edits": new_edits}, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, doc_id: str, **params):
        r = self.http.get(f"{self.base}/{requests.utils.quote(doc_id, safe='')}",
                          params={k: json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()},
                          headers={"Accept": "application/json"}, timeout=10)
        return r

    def leaves(self) -> dict[str, set[str]]:
        r = self.http.get(f"{self.base}/_changes", params={"style": "all_docs"}, timeout=30)
        assert r.status_code == 200, r.text
        return {c["id"]: {x["rev"] for x in c["changes"]} for c in r.json()["results"]
                if not c["id"].startswith("_design/")}

    def doc_count(self) -> int:
        return self.http.get(self.base, timeout=10).json()["doc_count"]

    def local_docs(self, rep_id: str) -> dict | None:
        r = self.http.get(f"{self.base}/_local/{rep_id}", timeout=10)
        return r.json() if r.status_code == 200 else None


@pytest.fixture
def remote(peer):
    return Remote(peer, f"bridge_{uuid.uuid4().hex[:12]}").create()


@pytest.fixture
def local(engine):
    store = Store(engine, rules_for=lambda name: DbRules(scope_of=area_of))
    store.create_tables()
    store.create_database("central")
    return store.open("central", ADMIN)


def local_leaves(db) -> dict[str, set[str]]:
    out = {}
    for event in db.changes(ChangesOptions(style="all_docs")):
        if isinstance(event, Change):
            out[event.id] = set(event.revs)
    return out


def assert_same(db, remote: Remote) -> None:
    """Every document has the same leaf revisions on both sides, the same winner and _conflicts."""
    theirs, ours = remote.leaves(), local_leaves(db)
    assert ours == theirs
    for doc_id in ours:
        r = remote.get(doc_id, conflicts="true")
        if r.status_code == 404:  # deleted winner: the leaves already matched
            continue
        remote_doc = r.json()
        local_doc = db.get(doc_id, conflicts=True)
        assert local_doc["_rev"] == remote_doc["_rev"], doc_id
        assert sorted(local_doc.get("_conflicts", [])) == sorted(remote_doc.get("_conflicts", [])), doc_id


def docs(n: int, prefix: str = "doc", area: str = VILLAGE_A, start: int = 0) -> list[dict]:
    return [{"_id": f"{prefix}-{i:04d}", "type": "note", "area": area, "n": i} for i in range(start, start + n)]


# -- both directions ----------------------------------------------------------------------------------

def test_push_then_pull_both_directions(local, remote):
    local.bulk_docs(docs(30) + [{"_id": "户-一", "area": VILLAGE_A, "name": "王建国"}])
    photo = bytes(range(256)) * 40
    local.put_attachment("doc-0001", "photo.jpg", local.get("doc-0001")["_rev"], "image/jpeg", photo)
    local.delete("doc-0002", local.get("doc-0002")["_rev"])

    [push] = replicate(local, remote.url(True), "push", batch_size=8)
    assert (push.docs_written, push.docs_refused, push.docs_failed) == (31, 0, 0)
    assert_same(local, remote)
    att = remote.http.get(f"{remote.base}/doc-0001/photo.jpg", timeout=10)
    assert att.content == photo and att.headers["Content-Type"].startswith("image/jpeg")
    assert remote.get("doc-0002").status_code == 404  # the tombstone went too

    # The remote side edits, adds and deletes; a pull brings exactly that.
    head = remote.get("doc-0003").json()
    remote.bulk([{**head, "n": 300}, *docs(5, prefix="remote"), {"_id": "doc-0004", "_deleted": True,
                                                                 "_rev": remote.get("doc-0004").json()["_rev"]}])
    [pull] = replicate(local, remote.url(True), "pull", batch_size=8)
    assert pull.docs_written == 7
    assert_same(local, remote)
    assert local.get("doc-0003")["n"] == 300
    # The attachment is untouched by the round trip.
    _stub, data = local.get_attachment("doc-0001", "photo.jpg")
    assert data == photo

    # Edits of a document with an attachment travel as stubs (atts_since = the revision the other
    # side has), in both directions, and each side still serves the same bytes.
    with_photo = remote.get("doc-0001").json()
    remote.bulk([{**with_photo, "caption": "hub"}])
    replicate(local, remote.url(True), "pull")
    assert local.get("doc-0001")["caption"] == "hub"
    assert local.get_attachment("doc-0001", "photo.jpg")[1] == photo
    local.put({**local.get("doc-0001"), "caption": "central"}, "doc-0001")
    replicate(local, remote.url(True), "push")
    assert remote.get("doc-0001").json()["caption"] == "central"
    assert remote.http.get(f"{remote.base}/doc-0001/photo.jpg", timeout=10).content == photo

    # Nothing new: both directions resume at their checkpoint and write nothing.
    again = replicate(local, remote.url(True), "sync", batch_size=8)
    assert [s.docs_written for s in again] == [0, 0]
    assert [s.changes_read for s in again] == [0, 1]  # only doc-0001's push comes back to the pull: skipped
    assert_same(local, remote)


# -- conflicts ------------------------------------------------------------------------------------------

def test_conflicts_made_on_each_side_end_identical(local, remote):
    local.bulk_docs([{"_id": "both", "area": VILLAGE_A, "v": 0}])
    replicate(local, remote.url(True), "push")
    base = local.get("both")["_rev"]
    # The same document edited on each side while they are apart ...
    local.put({"_id": "both", "_rev": base, "area": VILLAGE_A, "v": "central"}, "both")
    remote.bulk([{"_id": "both", "_rev": base, "area": VILLAGE_A, "v": "hub"}])
    # ... a conflict already made on the central side (two branches arrived from two phones) ...
    local.bulk_docs([
        {"_id": "c-central", "_rev": "1-aaaa", "_revisions": {"start": 1, "ids": ["aaaa"]}, "area": VILLAGE_A, "x": 1},
        {"_id": "c-central", "_rev": "1-bbbb", "_revisions": {"start": 1, "ids": ["bbbb"]}, "area": VILLAGE_A, "x": 2},
    ], new_edits=False)
    # ... and one already made on the hub, with a deleted branch too.
    remote.bulk([
        {"_id": "c-hub", "_rev": "2-cccc", "_revisions": {"start": 2, "ids": ["cccc", "0000"]}, "area": VILLAGE_A},
        {"_id": "c-hub", "_rev": "3-dddd", "_revisions": {"start": 3, "ids": ["dddd", "eeee", "0000"]},
         "area": VILLAGE_A},
        {"_id": "c-hub", "_rev": "2-ffff", "_revisions": {"start": 2, "ids": ["ffff", "0000"]}, "_deleted": True},
    ], new_edits=False)

    replicate(local, remote.url(True), "sync")
    assert_same(local, remote)
    both = local.get("both", conflicts=True)
    assert len(both["_conflicts"]) == 1  # kept, not resolved by the bridge
    assert sorted(local_leaves(local)["c-central"]) == ["1-aaaa", "1-bbbb"]
    hub = local.get("c-hub", conflicts=True, deleted_conflicts=True)
    assert hub["_rev"] == "3-dddd" and hub["_conflicts"] == ["2-cccc"] and hub["_deleted_conflicts"] == ["2-ffff"]

    # Resolving on one side (deleting the losers) reaches the other side the same way.
    loser = both["_conflicts"][0]
    remote.bulk([{"_id": "both", "_rev": loser, "_deleted": True}])
    replicate(local, remote.url(True), "sync")
    assert_same(local, remote)
    assert "_conflicts" not in local.get("both", conflicts=True)


# -- scope ------------------------------------------------------------------------------------------------

def test_scope_limits_both_directions(local, remote):
    local.bulk_docs(docs(6, "a", VILLAGE_A) + docs(4, "b", VILLAGE_B) + docs(5, "c", VILLAGE_C))
    [push] = replicate(local, remote.url(True), "push", scope="610402001")
    assert push.docs_written == 10
    assert set(remote.leaves()) == {d["_id"] for d in docs(6, "a", VILLAGE_A) + docs(4, "b", VILLAGE_B)}

    # The hub holds documents of every township; a village-scoped pull takes only its own.
    remote.bulk(docs(3, "hub-a", VILLAGE_A) + docs(2, "hub-c", VILLAGE_C))
    remote.bulk([{"_id": "ghost", "_rev": "1-9999", "_revisions": {"start": 1, "ids": ["9999"]}, "_deleted": True}],
                new_edits=False)  # a bare tombstone of a document nobody here ever had
    remote.bulk([{**remote.get("b-0000").json(), "area": VILLAGE_C, "moved": True}])  # left the scope
    [pull] = replicate(local, remote.url(True), "pull", scope=VILLAGE_A)
    ids = set(local_leaves(local))
    assert {"hub-a-0000", "hub-a-0001", "hub-a-0002"} <= ids
    assert not {"hub-c-0000", "hub-c-0001", "ghost"} & ids
    assert "moved" not in local.get("b-0000")
    # 16 changes: the 6 a's are there already; the 3 hub-a's come in; refused are the 3 b's of
    # village B, b-0000 now in township 002, the 2 hub-c's and the ghost tombstone.
    assert (pull.changes_read, pull.docs_written, pull.docs_refused, pull.docs_failed) == (16, 3, 7, 0)

    # A scoped replication has checkpoints of its own (the scope is part of the replication id).
    ids_by_scope = {replication_id(LocalPeer(local, s), RemotePeer(remote.url()), s) for s in (None, "6104", VILLAGE_A)}
    assert len(ids_by_scope) == 3


# -- interruptions ----------------------------------------------------------------------------------------

def test_interrupted_push_resumes_at_checkpoint_and_writes_each_revision_once(local, remote):
    n, batch = 95, 10
    local.bulk_docs(docs(n))
    stop = threading.Event()
    seen = []

    def stop_after_three(report):
        seen.append(report)
        if len(seen) == 3:
            stop.set()  # as if the process were told to stop after its third batch

    first = Replication(LocalPeer(local), RemotePeer(remote.url(True)), direction="push", batch_size=batch,
                        stop=stop, on_batch=stop_after_three).run()
    assert first.docs_written == 3 * batch and remote.doc_count() == 3 * batch
    second = Replication(LocalPeer(local), RemotePeer(remote.url(True)), direction="push",
                         batch_size=batch).run()
    assert second.start_seq == first.last_seq  # resumed at the checkpoint ...
    assert second.changes_read == n - 3 * batch  # ... so only the rest was read
    assert first.docs_written + second.docs_written == n  # and nothing was written twice
    assert_same(local, remote)


def test_lost_checkpoint_restarts_from_zero_without_rewriting(local, remote):
    local.bulk_docs(docs(40))
    [first] = replicate(local, remote.url(True), "push")
    rep_id = replication_id(LocalPeer(local), RemotePeer(remote.url()), None)
    ck = remote.local_docs(rep_id)
    assert ck and ck["last_seq"] == first.last_seq and ck["history"][0]["session_id"] == ck["session_id"]
    assert local.get_local(rep_id)["session_id"] == ck["session_id"]
    # The hub is restored from a backup older than the checkpoint: its checkpoint is gone.
    remote.http.delete(f"{remote.base}/_local/{rep_id}", params={"rev": ck["_rev"]}, timeout=10)
    local.bulk_docs(docs(5, start=40))
    [second] = replicate(local, remote.url(True), "push")
    assert second.start_seq == 0 and second.changes_read == 45  # no common checkpoint: from the start
    assert second.docs_written == 5  # but _revs_diff skips all that is there
    assert_same(local, remote)


def test_peer_killed_midway_continuous_pull_catches_up_exactly_once(local, peer, remote):
    n = 240
    for start in range(0, n, 60):
        remote.bulk(docs(60, "hub", VILLAGE_A, start))
    stop = threading.Event()
    result: list = []
    worker = threading.Thread(target=lambda: result.extend(replicate(
        local, remote.url(True), "pull", continuous=True, batch_size=10, pause=0.05, stop=stop, longpoll=5)),
        daemon=True)
    worker.start()
    try:
        assert _wait(lambda: local.info().doc_count >= 20, 30), "the pull did not start"
        peer.kill()  # SIGKILL, mid-way
        written_before = local.info().doc_count
        assert 0 < written_before < n
        time.sleep(1.5)  # the bridge retries against a dead peer meanwhile
        peer.restart()
        assert _wait(lambda: local.info().doc_count == n, 90), f"stuck at {local.info().doc_count}/{n}"
        remote.bulk(docs(3, "after", VILLAGE_A))  # and it keeps following
        assert _wait(lambda: local.info().doc_count == n + 3, 30)
    finally:
        stop.set()
        worker.join(15)
    assert not worker.is_alive()
    [stats] = result
    assert stats.retries >= 1
    assert stats.docs_written == n + 3  # every document exactly once, none twice
    assert_same(local, remote)
    assert all(len(revs) == 1 for revs in local_leaves(local).values())


# -- credentials ------------------------------------------------------------------------------------------

def test_credentials_with_special_characters_are_used_and_never_shown(local, peer, remote, caplog):
    user, password = "bridge-user", "p:ss@w/rd%25?#"
    r = requests.put(f"{peer.url}/_config/admins/{user}", data=json.dumps(password), auth=peer.auth, timeout=10)
    assert r.status_code == 200, r.text
    local.bulk_docs(docs(3))
    caplog.set_level(logging.DEBUG)
    url = RemoteURL.parse(remote.base, user, password)
    assert password not in repr(url) and password not in url.public
    stats = replicate(local, url, "sync")
    assert [s.docs_written for s in stats] == [3, 0]
    rep_id = replication_id(LocalPeer(local), RemotePeer(url), None)
    for text in (caplog.text, json.dumps(remote.local_docs(rep_id)), json.dumps(local.get_local(rep_id))):
        assert password not in text and "ss@w" not in text

    # In the URL instead (percent-encoded, as a URL must carry it): same, and still masked.
    encoded = remote.base.replace("http://", f"http://{user}:{requests.utils.quote(password, safe='')}@")
    assert RemoteURL.parse(encoded).credentials == (user, password)

    with pytest.raises(PeerRefused) as refused:
        replicate(local, RemoteURL.parse(remote.base, user, "wrong-password"), "push")
    assert "wrong-password" not in str(refused.value)
    assert "wrong-password" not in caplog.text


def test_continuous_sync_follows_both_sides_and_stops_promptly(local, remote):
    stop = threading.Event()
    result: list = []
    worker = threading.Thread(target=lambda: result.extend(replicate(
        local, remote.url(True), "sync", continuous=True, stop=stop, longpoll=5)), daemon=True)
    worker.start()
    try:
        local.bulk_docs(docs(4, "central"))
        remote.bulk(docs(3, "hub"))
        assert _wait(lambda: len(remote.leaves()) == 7 and len(local_leaves(local)) == 7, 30)
        local.put({**local.get("hub-0000"), "edited": "central"}, "hub-0000")
        assert _wait(lambda: remote.get("hub-0000").json().get("edited") == "central", 30)
    finally:
        began = time.monotonic()
        stop.set()
        worker.join(15)
    assert not worker.is_alive() and time.monotonic() - began < 10
    push, pull = result
    assert push.docs_written == 5 and pull.docs_written == 3
    assert_same(local, remote)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return predicate()
