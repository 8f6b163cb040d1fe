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

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

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
    assert get(db, "/plain/_changes", filter="by_area/x")[0] == 404  # no such design document, as CouchDB


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



def _decoder(encoding):
    import zlib

    import brotli

    if encoding == "br":
        return brotli.Decompressor().process
    return zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS).decompress


@pytest.mark.parametrize("accept, encoding", [
    ("gzip, deflate", "gzip"),  # what PouchDB under Node sends
    ("gzip, deflate, br", "gzip"),  # a phone's browser: gzip is cheaper for the server
    ("br", "br"), ("deflate", "deflate"), ("br;q=1, gzip;q=0.5", "br"),
    ("identity", None), ("gzip;q=0", None), ("", None),
])
def test_the_changes_feed_is_compressed_in_the_encoding_the_client_takes(db, accept, encoding):
    for n in range(40):
        put(db, f"f{n:02d}", {"text": "排查台账 " * 10})
    plain = db.get("/plain/_changes", query_string={"include_docs": "true"}, headers=ADMIN)
    assert plain.headers.get("Content-Encoding") is None
    r = db.get("/plain/_changes", query_string={"include_docs": "true"},
               headers={**ADMIN, "Accept-Encoding": accept})
    assert r.headers.get("Content-Encoding") == encoding and "Accept-Encoding" in r.headers["Vary"]
    body = r.get_data() if encoding is None else _decoder(encoding)(r.get_data())
    assert json.loads(body) == json.loads(plain.get_data())
    if encoding is not None:
        assert len(r.get_data()) * 3 < len(plain.get_data())  # the feed's JSON is repetitive
        whole = db.get("/plain/_all_docs", query_string={"include_docs": "true"},
                       headers={**ADMIN, "Accept-Encoding": accept})
        assert whole.headers.get("Content-Encoding") == encoding  # whole answers choose alike


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_a_compressed_live_feed_still_sends_each_piece_at_once(app, db, encoding):
    # Every piece the feed writes (its opening, a heartbeat, a change) decodes as soon as it arrives:
    # a compressor that held bytes back would leave a phone waiting on a live feed.
    r = db.get("/plain/_changes", query_string={"feed": "continuous", "heartbeat": 100, "since": "now",
                                                 "timeout": 3000},
               headers={**ADMIN, "Accept-Encoding": encoding}, buffered=False)
    assert r.headers["Content-Encoding"] == encoding
    decode, pieces = _decoder(encoding), iter(r.response)
    assert decode(next(pieces)) == b"\n"  # a heartbeat, whole
    writer = PlainDb(app.test_client(), db.name)
    writer.put("/plain/live", json={"v": 1}, headers=ADMIN)
    text = b""
    while b'"live"' not in text:
        text += decode(next(pieces))
    assert json.loads(text.strip().splitlines()[-1])["id"] == "live"
    r.close()


# -- as CouchDB 3.x answers where PouchDB's own integration tests look -------------------------------

def all_docs(client, body=None, **params):
    if body is None:
        r = client.get("/plain/_all_docs", headers=ADMIN, query_string=params)
    else:
        r = client.post("/plain/_all_docs", headers=ADMIN, query_string=params, json=body)
    return r.status_code, r.json


def test_all_docs_reads_its_options_as_couchdb(db):
    """couch_mrview_http:parse_body_and_query, couch_mrview_util:validate_args and
    fabric_view_all_docs: `key` is both ends; `keys` with `key`, `startkey` or `endkey` is a
    query_parse_error (a one-key `keys` equal to both ends is not); keys are reversed when
    descending, then skip and limit apply; total_rows is the doc count whatever the options."""
    for doc_id in "01234":
        put(db, doc_id, {})
    rev = put(db, "5", {})
    db.delete("/plain/5", query_string={"rev": rev}, headers=ADMIN)
    clash = (400, {"error": "query_parse_error", "reason": "`keys` is incompatible with `key`, `start_key` and `end_key`"})
    assert all_docs(db, {"keys": ["1", "2"]}, startkey='"a"') == clash
    assert all_docs(db, {"keys": ["1", "2"]}, endkey='"a"') == clash
    assert all_docs(db, {"keys": ["1", "2"]}, key='"1"') == clash
    assert all_docs(db, keys='["1","2"]', start_key='"1"') == clash
    assert all_docs(db, {"keys": ["1"]}, key='"1"')[0] == 200
    assert all_docs(db, keys="1234") == (400, {"error": "bad_request", "reason": "`keys` parameter must be an array."})
    assert all_docs(db, {"keys": 1234}) == (400, {"error": "bad_request",
                                                  "reason": "`keys` body member must be an array."})
    for params in ({"limit": "-1"}, {"skip": "x"}, {"include_docs": "yes"}, {"descending": "1"}):
        status, body = all_docs(db, **params)
        assert (status, body["error"]) == (400, "query_parse_error"), params

    status, page = all_docs(db, {"keys": ["1", "5", "3", "nope"]}, descending="true", skip="1", limit="2",
                            update_seq="true")
    assert [r["key"] for r in page["rows"]] == ["3", "5"] and page["rows"][1]["value"]["deleted"] is True
    assert (page["total_rows"], page["offset"], page["update_seq"]) == (5, None, None)
    _, one = all_docs(db, key='"2"')
    assert [r["id"] for r in one["rows"]] == ["2"] and (one["total_rows"], one["offset"]) == (5, 2)
    assert all_docs(db, key='"5"')[1]["rows"] == []  # deleted
    _, body_options = all_docs(db, {"startkey": "1", "limit": 2, "descending": True})
    assert [r["id"] for r in body_options["rows"]] == ["1", "0"] and body_options["offset"] == 3
    _, later = all_docs(db, {"key": "1"}, key='"3"')  # the query string comes after the body
    assert [r["id"] for r in later["rows"]] == ["3"]
    _, after_all = all_docs(db, startkey='"9"', skip="3")
    assert after_all["rows"] == [] and after_all["offset"] == 5
    _, numeric = all_docs(db, startkey="7")  # a number sorts before every id (Erlang's term order)
    assert len(numeric["rows"]) == 5 and numeric["offset"] == 0
    assert all_docs(db, endkey="7")[1]["rows"] == []


def test_scoped_all_docs_counts_what_the_reader_may_see(client):
    """A village's total_rows is the doc_count of its own database info, whatever the options."""
    village = {"Authorization": "Basic " + base64.b64encode(b"demo-village:demo-password").decode()}
    mine = client.get("/paicha", headers=village).json["doc_count"]
    everyone = client.get("/paicha", headers=ADMIN).json["doc_count"]
    for params, body in (({"limit": "1"}, None), ({"skip": "2", "descending": "true"}, None),
                         ({"limit": "1"}, {"keys": ["a", "b", "c"]})):
        if body is None:
            r = client.get("/paicha/_all_docs", headers=village, query_string=params)
        else:
            r = client.post("/paicha/_all_docs", headers=village, query_string=params, json=body)
        assert r.status_code == 200 and r.json["total_rows"] == mine, (params, r.json)
    assert client.get("/paicha/_all_docs", headers=ADMIN, query_string={"limit": "0"}).json["total_rows"] == everyone


def test_open_revs_and_bulk_get_with_latest_give_leaves_as_couchdb(db):
    """couch_key_tree:get_key_leafs: with latest=true every leaf at or below each rev asked, each
    once; fabric_doc_open_revs sorts the answer (found by position and id, then missing); a GET of
    a rev with latest=true opens the winner (chttpd_db:db_doc_req)."""
    conflicted(db)
    _, leaves = get(db, "/plain/c", open_revs=json.dumps(["1-root", "2-a", "7-nope"]), latest="true")
    assert [x.get("ok", {}).get("_rev") or x["missing"] for x in leaves] == ["2-0", "2-a", "2-b", "7-nope"]
    _, exact = get(db, "/plain/c", open_revs=json.dumps(["2-b", "9-x", "2-a", "2-b"]))
    assert [x.get("ok", {}).get("_rev") or x["missing"] for x in exact] == ["2-a", "2-b", "9-x"]
    _, every = get(db, "/plain/c", open_revs="all")
    assert [x["ok"]["_rev"] for x in every] == ["2-0", "2-a", "2-b"]
    assert get(db, "/plain/c", rev="2-a", latest="true")[1]["_rev"] == "2-b"
    assert get(db, "/plain/c", rev="nonsense", latest="true")[0] == 400
    r = db.post("/plain/_bulk_get", query_string={"latest": "true"}, headers=ADMIN,
                json={"docs": [{"id": "c", "rev": "1-root"}, {"id": "c", "rev": "2-a"}, {"id": "c", "rev": "3-z"}]})
    docs = [result["docs"] for result in r.json["results"]]
    assert [d["ok"]["_rev"] for d in docs[0]] == ["2-0", "2-a", "2-b"]
    assert [d["ok"]["_rev"] for d in docs[1]] == ["2-a"]
    assert docs[2] == [{"error": {"id": "c", "rev": "3-z", "error": "not_found", "reason": "missing"}}]


def test_local_documents_read_special_members_as_couchdb(db):
    """couch_doc:transfer_fields: `_revisions` names the revision (over `_rev`), `_attachments`
    and the other read-only members are taken and not kept; an unknown `_` member is refused."""
    url = "/plain/_local/cp"
    assert db.put(url, json={"n": 1}, headers=ADMIN).json["rev"] == "0-1"
    r = db.put(url, json={"_rev": "0-9", "_revisions": {"start": 0, "ids": ["1"]}, "n": 2,
                          "_attachments": {"a.txt": {"content_type": "text/plain", "data": "Zm9v"}},
                          "_conflicts": [], "_revs_info": []}, headers=ADMIN)
    assert (r.status_code, r.json["rev"]) == (201, "0-2")
    assert get(db, url) == (200, {"_id": "_local/cp", "_rev": "0-2", "n": 2})
    r = db.post("/plain/_bulk_docs", json={"docs": [{"_id": "_local/cp", "_rev": "0-2", "n": 3}]}, headers=ADMIN)
    assert r.json == [{"ok": True, "id": "_local/cp", "rev": "0-3"}]
    for body, reason in (({"_revisions": {"start": "0", "ids": ["3"]}}, "_revisions.start isn't an integer."),
                         ({"_revisions": {"start": 0, "ids": "3"}}, "_revisions.ids isn't a array."),
                         ({"_revisions": [0, "3"]}, "Bad special document member: _revisions"),
                         ({"_rev": "0-3", "_other": 1}, "Bad special document member: _other")):
        assert (db.put(url, json=body, headers=ADMIN).json == {"error": "doc_validation", "reason": reason}), body
    assert db.get(f"{url}/a.txt", headers=ADMIN).json == {"error": "bad_request",
                                                          "reason": "_local documents do not accept attachments."}
    assert db.get("/plain/_local", headers=ADMIN).json == {"error": "bad_request",
                                                           "reason": "Invalid _local document id."}


def test_an_attachment_comes_back_with_its_content_type_as_stored(db):
    """chttpd_db:db_attachment_req: the stored type is the Content-Type, nothing added; its ETag
    is the quoted base64 md5."""
    rev = put(db, "t", {})
    for content_type in ("text/plain", "text/csv; charset=latin1", "application/json"):
        r = db.put("/plain/t/file", data=b"a,b", query_string={"rev": rev},
                   headers={**ADMIN, "Content-Type": content_type})
        rev = r.json["rev"]
        got = db.get("/plain/t/file", headers=ADMIN)
        assert got.headers["Content-Type"] == content_type and got.data == b"a,b"
        assert got.headers["ETag"] == '"' + base64.b64encode(hashlib.md5(b"a,b").digest()).decode() + '"'
        assert get(db, "/plain/t")[1]["_attachments"]["file"]["content_type"] == content_type


def test_encoded_slashes_keep_names_and_ids_whole(client):
    """chttpd splits the raw path at its slashes and then decodes each part: `a%2Fb` is the
    database `a/b`, `x%2Fy` the document `x/y` (not the attachment `y` of `x`)."""
    name, path = "plain_enc/sub$(x)+y-z", "/plain_enc%2Fsub%24%28x%29%2By-z"
    assert client.put(path, headers=ADMIN).status_code == 201
    try:
        assert name in client.get("/_all_dbs", headers=ADMIN).json
        assert client.get(path, headers=ADMIN).json["db_name"] == name
        assert client.put(f"{path}/x%2Fy", json={"v": 1}, headers=ADMIN).json["id"] == "x/y"
        assert client.put(f"{path}/p%25q", json={"v": 2}, headers=ADMIN).json["id"] == "p%q"
        assert client.get(f"{path}/x%2Fy", headers=ADMIN).json["v"] == 1
        assert client.get(f"{path}/x", headers=ADMIN).status_code == 404
        assert client.put(f"{path}/_design%2Fdd", json={}, headers=ADMIN).json["id"] == "_design/dd"
        assert client.put(f"{path}/_local%2Fcp", json={"n": 1}, headers=ADMIN).json["id"] == "_local/cp"
        assert client.get(f"{path}/_local/cp", headers=ADMIN).json["n"] == 1
        rows = client.get(f"{path}/_all_docs", headers=ADMIN).json["rows"]
        assert [r["id"] for r in rows] == ["_design/dd", "p%q", "x/y"]
        rev = client.get(f"{path}/x%2Fy", headers=ADMIN).json["_rev"]
        r = client.put(f"{path}/x%2Fy/in%2Fner.txt", data=b"hi", query_string={"rev": rev},
                       headers={**ADMIN, "Content-Type": "text/plain"})
        assert r.status_code == 201
        assert client.get(f"{path}/x%2Fy/in/ner.txt", headers=ADMIN).data == b"hi"
        assert list(client.get(f"{path}/x%2Fy", headers=ADMIN).json["_attachments"]) == ["in/ner.txt"]
    finally:
        assert client.delete(path, headers=ADMIN).status_code == 200
    assert name not in client.get("/_all_dbs", headers=ADMIN).json


def test_changes_with_design_document_filters_as_couchdb(db):
    """couch_changes:configure_filter: a design document's filter or view that is not there is
    404 not_found; Paicha runs none, so one that is there is answered the same. `_design` is
    built in; another `_` name is a bad request."""
    put(db, "a", {})
    put(db, "_design/d", {"filters": {"f": "function (doc) { return true; }"}, "views": {"v": {"map": "x"}}})
    put(db, "_design/e", {"filters": "not an object"})
    put(db, "_design/v", {"views": {"v": {"map": "x"}}})
    missing = lambda reason: (404, {"error": "not_found", "reason": reason})  # noqa: E731
    assert get(db, "/plain/_changes", filter="nope/f") == missing("missing")
    assert get(db, "/plain/_changes", filter="d/f") == missing("missing json key: f")
    assert get(db, "/plain/_changes", filter="d/g") == missing("missing json key: g")
    assert get(db, "/plain/_changes", filter="e/f") == missing("json_mismatch")
    assert get(db, "/plain/_changes", filter="v/f") == missing("missing json key: filters")
    assert get(db, "/plain/_changes", filter="_view", view="d/v") == missing("missing json key: v")
    assert get(db, "/plain/_changes", filter="_view", view="x/v") == missing("missing")
    assert get(db, "/plain/_changes", filter="_view") == (400, {"error": "bad_request",
                                                                "reason": "`view` filter parameter is not provided."})
    assert get(db, "/plain/_changes", filter="a/b/c")[1]["reason"] == "`filter` must be of the form `designname/filtername`"
    assert get(db, "/plain/_changes", filter="_foo") == (400, {"error": "bad_request",
                                                               "reason": "unknown builtin filter name"})
    _, design = get(db, "/plain/_changes", filter="_design", limit="1")
    assert [r["id"] for r in design["results"]] == ["_design/d"] and design["pending"] == 2


def test_a_bare_revision_is_a_revision(db):
    """couch_doc:parse_rev takes "1-" (couch_doc:parse_revid keeps an empty id)."""
    r = db.post("/plain/_bulk_docs", json={"docs": [{"_id": "foo", "_rev": "1-", "n": 1}], "new_edits": False},
                headers=ADMIN)
    assert (r.status_code, r.json) == (201, [])
    assert get(db, "/plain/foo", revs="true")[1] == {"_id": "foo", "_rev": "1-", "n": 1,
                                                      "_revisions": {"start": 1, "ids": [""]}}
    rev = put(db, "foo", {"_rev": "1-", "n": 2})
    assert rev.startswith("2-") and get(db, "/plain/foo", revs="true")[1]["_revisions"]["ids"][1] == ""
    assert db.put("/plain/bar", json={"_rev": "1-"}, headers=ADMIN).status_code == 409


def test_an_attachment_sent_with_its_data_takes_the_new_revpos(db):
    """couch_db:set_new_att_revpos: in an edit, an attachment sent with data is at the new
    revision, whatever revpos it says; a replicated revision keeps the revpos it carries."""
    one = base64.b64encode(b"one").decode()
    rev = put(db, "a", {"_attachments": {"one": {"content_type": "text/plain", "data": one}}})
    _, doc = get(db, "/plain/a")
    doc["_attachments"]["two"] = {"content_type": "text/plain", "data": base64.b64encode(b"two").decode()}
    put(db, "a", doc)
    _, doc = get(db, "/plain/a")
    assert (doc["_attachments"]["one"]["revpos"], doc["_attachments"]["two"]["revpos"]) == (1, 2)
    doc["_attachments"]["one"] = {"content_type": "text/plain", "revpos": 1,
                                  "data": base64.b64encode(b"one-changed").decode()}
    put(db, "a", doc)
    _, doc = get(db, "/plain/a")
    assert (doc["_attachments"]["one"]["revpos"], doc["_attachments"]["two"]["revpos"]) == (3, 2)
    replicated = {"_id": "r", "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]},
                  "_attachments": {"x": {"content_type": "text/plain", "revpos": 1, "data": one}}}
    r = db.post("/plain/_bulk_docs", json={"docs": [replicated], "new_edits": False}, headers=ADMIN)
    assert r.json == [] and get(db, "/plain/r")[1]["_attachments"]["x"]["revpos"] == 1
    assert rev.startswith("1-")
