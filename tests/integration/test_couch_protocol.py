"""The CouchDB API's options, through the Flask app on a plain database (no domain rules), on SQLite
and PostgreSQL. Replication with real PouchDB is in tests/e2e; this pins the wire details."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import time

import pytest

ADMIN = {"Authorization": "Basic " + base64.b64encode(b"demo-admin:demo-password").decode()}


class PlainDb:
    """A test client whose "/plain" paths go to this test's own fresh database."""

    def __init__(self, client, name):
        self.client, self.name = client, name

    def __getattr__(self, method):
        call = getattr(self.client, method)
        return lambda path, *a, **kw: call(path.replace("/plain", f"/{self.name}", 1), *a, **kw)


@pytest.fixture
def db(client, request):
    name = "plain_" + hashlib.md5(request.node.name.encode()).hexdigest()[:10]
    assert client.put(f"/{name}", headers=ADMIN).status_code == 201
    yield PlainDb(client, name)
    client.delete(f"/{name}", headers=ADMIN)


def put(client, doc_id, body, **params):
    r = client.put(f"/plain/{doc_id}", json=body, headers=ADMIN, query_string=params)
    assert r.status_code == 201, r.json
    return r.json["rev"]


def get(client, path, **params):
    r = client.get(path, headers=ADMIN, query_string=params)
    return r.status_code, r.json


def conflicted(client):
    """A doc with two leaves 2-a (loser) and 2-b (winner), plus a deleted leaf 2-0."""
    docs = [
        {"_id": "c", "_rev": f"2-{h}", "_revisions": {"start": 2, "ids": [h, "root"]}, "v": h}
        for h in ("a", "b")
    ] + [{"_id": "c", "_rev": "2-0", "_deleted": True, "_revisions": {"start": 2, "ids": ["0", "root"]}}]
    r = client.post("/plain/_bulk_docs", json={"docs": docs, "new_edits": False}, headers=ADMIN)
    assert r.status_code == 201 and r.json == []


def test_welcome_and_database_info(db):
    status, body = get(db, "/")
    assert status == 200 and body["couchdb"] == "Welcome" and body["vendor"]["name"] == "Paicha"
    assert body["uuid"] == get(db, "/")[1]["uuid"]
    status, info = get(db, "/plain")
    assert info["db_name"] == db.name and info["doc_count"] == 0 and info["update_seq"] == 0
    assert get(db, "/plain/") == (200, info)  # PouchDB's db.info() asks with a trailing slash
    assert get(db, "/no_such_db/") == (404, {"error": "not_found", "reason": "Database does not exist."})
    assert db.post("/plain/_ensure_full_commit", headers=ADMIN).status_code == 201


def test_changes_since_limit_and_now(db):
    revs = [put(db, f"d{n}", {"n": n}) for n in range(5)]
    _, feed = get(db, "/plain/_changes", limit=2)
    assert [r["id"] for r in feed["results"]] == ["d0", "d1"] and feed["last_seq"] == 2 and feed["pending"] == 3
    _, rest = get(db, "/plain/_changes", since=feed["last_seq"])
    assert [r["id"] for r in rest["results"]] == ["d2", "d3", "d4"] and rest["last_seq"] == 5
    _, now = get(db, "/plain/_changes", since="now")
    assert now["results"] == [] and now["last_seq"] == 5
    put(db, "d0", {"n": 10, "_rev": revs[0]})
    _, after = get(db, "/plain/_changes", since=5)
    assert [(r["id"], r["seq"]) for r in after["results"]] == [("d0", 6)]
    _, everything = get(db, "/plain/_changes")
    assert [r["id"] for r in everything["results"]] == ["d1", "d2", "d3", "d4", "d0"], "once, at its latest seq"


def test_a_descending_feeds_last_seq_is_its_last_rows(db):
    # As CouchDB and PouchDB: `since` is ignored, last_seq is the seq of the last row given (the
    # update_seq when there is none).
    _, empty = get(db, "/plain/_changes", descending="true")
    assert empty["results"] == [] and empty["last_seq"] == 0
    for n in range(5):
        put(db, f"d{n}", {"n": n})
    _, newest = get(db, "/plain/_changes", descending="true", limit=2, since=1)
    assert [(r["id"], r["seq"]) for r in newest["results"]] == [("d4", 5), ("d3", 4)] and newest["last_seq"] == 4
    _, whole = get(db, "/plain/_changes", descending="true")
    assert [r["seq"] for r in whole["results"]] == [5, 4, 3, 2, 1] and whole["last_seq"] == 1
    _, fresh = get(db, "/plain/_changes", descending="true", limit=0)  # CouchDB's (PouchDB reads 0 as 1)
    assert fresh["results"] == [] and fresh["last_seq"] == 5


def test_changes_styles_docs_and_conflicts(db):
    conflicted(db)
    _, main = get(db, "/plain/_changes")
    assert main["results"][0]["changes"] == [{"rev": "2-b"}]
    _, all_docs = get(db, "/plain/_changes", style="all_docs", include_docs="true", conflicts="true")
    row = all_docs["results"][0]
    assert row["changes"][0] == {"rev": "2-b"} and {c["rev"] for c in row["changes"]} == {"2-a", "2-b", "2-0"}
    assert row["doc"]["v"] == "b" and row["doc"]["_conflicts"] == ["2-a"]


def test_changes_filters(db):
    for n in range(4):
        put(db, f"f{n}", {"kind": "even" if n % 2 == 0 else "odd", "n": n})
    r = db.post("/plain/_changes", query_string={"filter": "_doc_ids"}, json={"doc_ids": ["f1", "f3", "zz"]},
                headers=ADMIN)
    assert [x["id"] for x in r.json["results"]] == ["f1", "f3"]
    _, by_query = get(db, "/plain/_changes", filter="_doc_ids", doc_ids=json.dumps(["f2"]))
    assert [x["id"] for x in by_query["results"]] == ["f2"]
    r = db.post("/plain/_changes", query_string={"filter": "_selector"},
                json={"selector": {"kind": "even", "n": {"$gt": 0}}}, headers=ADMIN)
    assert [x["id"] for x in r.json["results"]] == ["f2"] and r.json["last_seq"] == 4
    r = db.post("/plain/_changes", query_string={"filter": "_selector"}, json={"selector": {"n": {"$regex": "x"}}},
                headers=ADMIN)
    assert r.status_code == 400 and r.json["error"] == "bad_request"
    assert get(db, "/plain/_changes", filter="by_area/x")[0] == 400


def test_longpoll_answers_at_once_when_there_is_something(db):
    put(db, "x", {})
    start = time.monotonic()
    _, feed = get(db, "/plain/_changes", feed="longpoll", timeout=10000)
    assert [r["id"] for r in feed["results"]] == ["x"] and time.monotonic() - start < 5


def test_longpoll_times_out_empty_with_last_seq(db):
    put(db, "x", {})
    start = time.monotonic()
    _, feed = get(db, "/plain/_changes", feed="longpoll", since=1, timeout=300)
    assert feed == {"results": [], "last_seq": 1, "pending": 0}
    assert time.monotonic() - start >= 0.3


def test_longpoll_wakes_up_on_a_write(app, db):
    writer_client = PlainDb(app.test_client(), db.name)

    def write_later():
        time.sleep(0.4)
        writer_client.put("/plain/late", json={"v": 1}, headers=ADMIN)

    threading.Thread(target=write_later).start()
    start = time.monotonic()
    _, feed = get(db, "/plain/_changes", feed="longpoll", since="now", timeout=20000, heartbeat=5000)
    assert [r["id"] for r in feed["results"]] == ["late"]
    assert time.monotonic() - start < 5, "woken by the write, not by the timeout"


def test_heartbeats_keep_an_idle_feed_alive(db):
    r = db.get("/plain/_changes", query_string={"feed": "longpoll", "timeout": 1000, "heartbeat": 200},
               headers=ADMIN)
    text = r.get_data(as_text=True)
    assert text.count("\n") >= 5 and json.loads(text)["results"] == []
    r = db.get("/plain/_changes", query_string={"feed": "continuous", "timeout": 500}, headers=ADMIN)
    assert json.loads(r.get_data(as_text=True).strip().splitlines()[-1])["last_seq"] == 0


def test_get_with_revs_conflicts_open_revs_and_latest(db):
    conflicted(db)
    _, doc = get(db, "/plain/c", revs="true", conflicts="true", deleted_conflicts="true", revs_info="true")
    assert doc["_rev"] == "2-b" and doc["_revisions"] == {"start": 2, "ids": ["b", "root"]}
    assert doc["_conflicts"] == ["2-a"] and doc["_deleted_conflicts"] == ["2-0"]
    assert doc["_revs_info"] == [{"rev": "2-b", "status": "available"}, {"rev": "1-root", "status": "missing"}]
    _, loser = get(db, "/plain/c", rev="2-a")
    assert loser["v"] == "a"
    _, leaves = get(db, "/plain/c", open_revs="all")
    assert {(x["ok"]["_rev"], x["ok"].get("_deleted", False)) for x in leaves} == {
        ("2-a", False), ("2-b", False), ("2-0", True)}
    _, some = get(db, "/plain/c", open_revs=json.dumps(["2-a", "9-zz"]), revs="true")
    assert some[0]["ok"]["_revisions"]["ids"] == ["a", "root"] and some[1] == {"missing": "9-zz"}
    _, latest = get(db, "/plain/c", open_revs=json.dumps(["1-root"]), latest="true")
    assert "ok" in latest[0] and latest[0]["ok"]["_rev"] in ("2-a", "2-b", "2-0")
    r = db.get("/plain/c", query_string={"open_revs": json.dumps(["2-a", "3-q"])},
               headers={**ADMIN, "Accept": "multipart/mixed"})
    assert r.mimetype == "multipart/mixed"
    boundary = r.headers["Content-Type"].split("boundary=")[1].strip('"')
    parts = [p for p in r.get_data(as_text=True).split(f"--{boundary}") if "Content-Type" in p]
    assert json.loads(parts[0].split("\r\n\r\n", 1)[1])["_rev"] == "2-a"
    assert json.loads(parts[1].split("\r\n\r\n", 1)[1]) == {"missing": "3-q"}


def test_revs_diff_and_bulk_get(db):
    conflicted(db)
    r = db.post("/plain/_revs_diff", json={"c": ["2-a", "3-new"], "nope": ["1-x"]}, headers=ADMIN)
    assert r.json == {"c": {"missing": ["3-new"], "possible_ancestors": ["2-b", "2-a", "2-0"]},
                      "nope": {"missing": ["1-x"]}} or set(r.json["c"]["possible_ancestors"]) == {"2-a", "2-b", "2-0"}
    r = db.post("/plain/_bulk_get", query_string={"revs": "true"},
                json={"docs": [{"id": "c", "rev": "2-a"}, {"id": "c"}, {"id": "nope"}]}, headers=ADMIN)
    results = r.json["results"]
    assert results[0]["docs"][0]["ok"]["_revisions"] == {"start": 2, "ids": ["a", "root"]}
    assert results[1]["docs"][0]["ok"]["_rev"] == "2-b"
    assert results[2]["docs"][0]["error"]["error"] == "not_found"


def test_all_docs_ranges_keys_and_docs(db):
    for doc_id in ["a", "b", "c", "d"]:
        put(db, doc_id, {"id": doc_id})
    rev = put(db, "e", {})
    db.delete("/plain/e", query_string={"rev": rev}, headers=ADMIN)
    _, page = get(db, "/plain/_all_docs", startkey='"b"', endkey='"d"', inclusive_end="false")
    assert [r["id"] for r in page["rows"]] == ["b", "c"] and page["total_rows"] == 4
    _, desc = get(db, "/plain/_all_docs", descending="true", limit=2, include_docs="true")
    assert [r["id"] for r in desc["rows"]] == ["d", "c"] and desc["rows"][0]["doc"]["id"] == "d"
    r = db.post("/plain/_all_docs", json={"keys": ["c", "e", "zz"]}, headers=ADMIN)
    assert r.json["rows"][0]["id"] == "c"
    assert r.json["rows"][1]["value"]["deleted"] is True and r.json["rows"][1].get("doc") is None
    assert r.json["rows"][2] == {"key": "zz", "error": "not_found"}


def test_attachments_inline_stub_and_standalone(db):
    photo = bytes(range(256)) * 1000
    digest = "md5-" + base64.b64encode(hashlib.md5(photo).digest()).decode()
    rev = put(db, "p", {"_attachments": {"photo.jpg": {"content_type": "image/jpeg",
                                                        "data": base64.b64encode(photo).decode()}}})
    _, doc = get(db, "/plain/p")
    assert doc["_attachments"]["photo.jpg"] == {"content_type": "image/jpeg", "digest": digest,
                                                "length": len(photo), "revpos": 1, "stub": True}
    r = db.get("/plain/p/photo.jpg", headers=ADMIN)
    assert r.data == photo and r.mimetype == "image/jpeg"
    rev2 = put(db, "p", {"_rev": rev, "note": "edited", "_attachments": doc["_attachments"]})
    _, inline = get(db, "/plain/p", attachments="true")
    assert base64.b64decode(inline["_attachments"]["photo.jpg"]["data"]) == photo
    _, since = get(db, "/plain/p", attachments="true", atts_since=json.dumps([rev]))
    assert since["_attachments"]["photo.jpg"].get("stub") is True
    r = db.put("/plain/p", json={"_rev": rev2, "_attachments": {"gone.jpg": {"stub": True}}}, headers=ADMIN)
    assert r.status_code == 412 and r.json["error"] == "missing_stub"
    r = db.put("/plain/p/note.txt", data=b"hello", query_string={"rev": rev2},
               headers={**ADMIN, "Content-Type": "text/plain"})
    assert r.status_code == 201
    rev3 = r.json["rev"]
    assert db.get("/plain/p/note.txt", headers=ADMIN).data == b"hello"
    assert db.get("/plain/p/photo.jpg", headers=ADMIN).data == photo, "the other attachment is kept"
    r = db.delete("/plain/p/note.txt", query_string={"rev": rev3}, headers=ADMIN)
    assert r.status_code == 200 and db.get("/plain/p/note.txt", headers=ADMIN).status_code == 404


def test_local_documents_revs(db):
    r = db.put("/plain/_local/cp", json={"last_seq": 1}, headers=ADMIN)
    assert r.json == {"ok": True, "id": "_local/cp", "rev": "0-1"}
    assert db.put("/plain/_local/cp", json={"last_seq": 2}, headers=ADMIN).status_code == 409
    assert db.put("/plain/_local/cp", json={"_rev": "0-1", "last_seq": 2}, headers=ADMIN).json["rev"] == "0-2"
    _, doc = get(db, "/plain/_local/cp")
    assert doc == {"_id": "_local/cp", "_rev": "0-2", "last_seq": 2}
    assert db.delete("/plain/_local/cp", query_string={"rev": "0-2"}, headers=ADMIN).status_code == 200
    assert get(db, "/plain/_local/cp")[0] == 404



@pytest.mark.parametrize("stale", ["0-1", "0-3", "0-0", "0-x", "1-abc", "0-", 5, None])
def test_a_checkpoint_is_written_only_over_the_revision_it_read(db, stale):
    """A checkpoint write checks and writes in one statement: anything but the current revision is
    a conflict, and the stored checkpoint stays as it was."""
    url = f"/plain/_local/only-over-{stale}"
    assert db.put(url, json={"last_seq": 1}, headers=ADMIN).json["rev"] == "0-1"
    assert db.put(url, json={"_rev": "0-1", "last_seq": 2}, headers=ADMIN).json["rev"] == "0-2"
    body = {"last_seq": 99, **({} if stale is None else {"_rev": stale})}
    assert db.put(url, json=body, headers=ADMIN).status_code == 409
    assert get(db, url)[1] == {"_id": url[len("/plain/"):], "_rev": "0-2", "last_seq": 2}


def test_a_checkpoint_deleted_by_put_and_written_again(db):
    url = "/plain/_local/deleted-by-put"
    assert db.put(url, json={"_deleted": True}, headers=ADMIN).status_code == 404
    assert db.put(url, json={"last_seq": 1}, headers=ADMIN).json["rev"] == "0-1"
    assert db.put(url, json={"_deleted": True}, headers=ADMIN).json == {"ok": True, "id": "_local/deleted-by-put",
                                                                       "rev": "0-0"}
    assert get(db, url)[0] == 404
    assert db.put(url, json={"last_seq": 2}, headers=ADMIN).json["rev"] == "0-1"


def test_two_writers_of_one_checkpoint_revision_one_wins(db):
    """Two replications of one account that read the same checkpoint revision: exactly one write
    lands, the other conflicts (and rereads), whatever the interleaving."""
    url = "/plain/_local/two-writers"
    rev = db.put(url, json={"last_seq": 0}, headers=ADMIN).json["rev"]
    for round_ in range(10):
        statuses, barrier = [], threading.Barrier(2)

        def write(n):
            barrier.wait()
            statuses.append(db.put(url, json={"_rev": rev, "last_seq": n}, headers=ADMIN).status_code)

        threads = [threading.Thread(target=write, args=(round_ * 2 + k,)) for k in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [201, 409], statuses
        rev = get(db, url)[1]["_rev"]
        assert rev == f"0-{round_ + 2}"

def test_responses_are_gzipped_for_slow_links(db):
    for n in range(30):
        put(db, f"g{n:02d}", {"text": "排查台账 " * 20})
    r = db.get("/plain/_all_docs", query_string={"include_docs": "true"},
               headers={**ADMIN, "Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    assert len(json.loads(gzip.decompress(r.data))["rows"]) == 30
