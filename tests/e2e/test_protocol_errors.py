"""Bad requests get CouchDB's status codes and error names, and leave the database as it was
(doc_count and update_seq unchanged). Plain HTTP with requests; on SQLite and PostgreSQL.

Error names as CouchDB 3.x gives them (chttpd:error_info, couch_doc:transfer_fields / parse_rev):
  invalid JSON                      400 bad_request
  "_rev": "abc"                     400 bad_request  "Invalid rev format"
  unknown special member "_foo"     400 doc_validation "Bad special document member: _foo"
  id starting with "_"              400 illegal_docid
  body too large                    413 too_large (whole request) / document_too_large (one doc)
  any bad doc in _bulk_docs         CouchDB: the whole request fails (all docs are parsed before any
                                    write). Paicha departs on purpose: each document is judged alone,
                                    the bad one gets its own `forbidden` entry naming the problem
                                    (the error PouchDB's replicator moves past), the others are
                                    written, so one bad document cannot stall a phone's sync.
  missing doc                       404 not_found "missing" (never written) / "deleted"
  stale rev                         409 conflict "Document update conflict."
  missing database                  404 not_found "Database does not exist."
  wrong or no credentials           401 unauthorized
"""
from __future__ import annotations

import json

import pytest
import requests

from support.server import REFERENCE_RUN

REV_A = "1-" + "a" * 32

# Checks pouchdb-server (the stand-in used to check these tests) does not make; CouchDB does.
couchdb_only = pytest.mark.skipif(REFERENCE_RUN, reason="pouchdb-server lacks this CouchDB check")
# Where Paicha chooses otherwise than CouchDB (and pouchdb-server), for the phones' sake.
paicha_choice = pytest.mark.skipif(REFERENCE_RUN, reason="Paicha judges each document of a batch alone")


@pytest.fixture
def db(new_db):
    """The plain db with two docs in it (one updated once) and one deleted doc."""
    api = new_db.api
    api.put({"_id": "one", "v": 1})
    rev = api.put({"_id": "two", "v": 1})["rev"]
    api.put({"_id": "two", "_rev": rev, "v": 2})
    gone = api.put({"_id": "gone"})
    api.couch.delete(f"{api.name}/gone", params={"rev": gone["rev"]})
    return api


def snapshot(db):
    info = db.info()
    return {"doc_count": info["doc_count"], "update_seq": info["update_seq"],
            "docs": {row["id"]: row["value"]["rev"] for row in db.all_docs()["rows"]}}


def error_of(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("reason"), str), body
    return body


@pytest.fixture
def unchanged(db):
    """Asserts after the test that the db has the same docs, doc_count and update_seq as before."""
    before = snapshot(db)
    yield
    assert snapshot(db) == before, "a rejected request changed the database"


def raw(db, method, path, body: bytes | str, **kw):
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return db.couch.request(method, f"{db.name}/{path}" if path else db.name, data=body,
                            headers=headers, **kw)


# -- malformed JSON ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,body", [
    ("PUT", "new-doc", b'{"a": '),
    ("PUT", "one", b"{'single': 'quotes'}"),
    ("POST", "", b'{"_id": "x",}'),
    ("POST", "_bulk_docs", b'{"docs": [{"_id": "x"}'),
    ("POST", "_bulk_docs", b"\xff\xfe not utf-8"),
    ("POST", "_revs_diff", b'{"one": ["1-abc"'),
    ("POST", "_bulk_get", b'{"docs": [}'),
], ids=["put", "put-single-quotes", "post", "bulk_docs", "bulk_docs-not-utf8", "revs_diff", "bulk_get"])
def test_malformed_json_is_bad_request(db, unchanged, method, path, body):
    assert error_of(raw(db, method, path, body), 400)["error"] == "bad_request"


@pytest.mark.parametrize("body", [b"[]", b'"a string"', b"42", b"null"])
def test_document_must_be_an_object(db, unchanged, body):
    assert error_of(raw(db, "PUT", "new-doc", body), 400)["error"] == "bad_request"


@couchdb_only
def test_bulk_docs_needs_a_docs_array(db, unchanged):
    for body in ({}, {"docs": "nope"}, {"docs": {"_id": "x"}}):
        assert error_of(raw(db, "POST", "_bulk_docs", json.dumps(body)), 400)["error"] == "bad_request"


# -- bad revisions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rev", [
    "abc", "x-" + "a" * 32, "-" + "a" * 32, pytest.param("", marks=couchdb_only),
], ids=repr)
def test_bad_rev_in_body(db, unchanged, rev):
    body = error_of(raw(db, "PUT", "new-doc", json.dumps({"_rev": rev})), 400)
    assert body["error"] == "bad_request"


@couchdb_only
def test_bad_rev_in_query(db, unchanged):
    assert error_of(raw(db, "PUT", "one", json.dumps({"v": 9}), params={"rev": "abc"}),
                    400)["error"] == "bad_request"
    assert error_of(db.couch.delete(f"{db.name}/one", params={"rev": "abc"}), 400)["error"] == "bad_request"


@paicha_choice
@pytest.mark.parametrize("new_edits", [False, True])
def test_bad_rev_on_bulk_docs(db, new_edits):
    """One bad _rev refuses that document alone (CouchDB would refuse the whole request with 400);
    the good document of the same batch is written."""
    fine = {"_id": "fine", "v": 1}
    if not new_edits:
        fine.update({"_rev": REV_A})
    docs = [fine, {"_id": "x", "_rev": "abc"}]
    r = raw(db, "POST", "_bulk_docs", json.dumps({"new_edits": new_edits, "docs": docs}))
    assert r.status_code == 201, r.text
    refused = {"id": "x", "error": "forbidden", "reason": "Invalid rev format"}
    assert r.json() == ([refused] if not new_edits else [{"ok": True, "id": "fine", "rev": r.json()[0]["rev"]}, refused])
    assert db.doc("fine")["v"] == 1
    assert db.get("x").status_code == 404


@couchdb_only
def test_body_rev_and_query_rev_disagree(db, unchanged):
    rev = db.doc("one")["_rev"]
    r = raw(db, "PUT", "one", json.dumps({"_rev": rev, "v": 9}), params={"rev": REV_A})
    assert error_of(r, 400)["error"] == "bad_request"


def write_replicated(db, doc, endpoint):
    """Write `doc` as a replicator does: _bulk_docs with new_edits=false, or PUT ?new_edits=false."""
    if endpoint == "bulk_docs":
        return raw(db, "POST", "_bulk_docs", json.dumps({"new_edits": False, "docs": [doc]}))
    return raw(db, "PUT", doc["_id"], json.dumps(doc), params={"new_edits": "false"})


@couchdb_only
@pytest.mark.parametrize("endpoint", ["bulk_docs", "put"])
def test_revisions_disagreeing_with_rev_in_new_edits_false(db, endpoint):
    """_revisions says the doc is at 3-ccc..., _rev says 2-bbb...: _revisions wins, as in CouchDB
    (couch_doc:transfer_fields). PouchDB's replicator sends such a pair when a rev hash repeats
    along a branch (its test.replication.js "Testing allDocs with some conflicts (issue #468)")."""
    doc = {"_id": "replicated", "_rev": "2-" + "b" * 32, "v": 1,
           "_revisions": {"start": 3, "ids": ["c" * 32, "b" * 32, "a" * 32]}}
    r = write_replicated(db, doc, endpoint)
    assert r.status_code == 201, r.text
    stored = db.doc("replicated", revs=True)
    assert stored["_rev"] == "3-" + "c" * 32 and stored["_revisions"] == doc["_revisions"]


@couchdb_only
@pytest.mark.parametrize("endpoint", ["bulk_docs", "put"])
@pytest.mark.parametrize("revisions", [
    {"start": "3", "ids": ["a" * 32]},
    {"start": 1, "ids": "a" * 32},
    {"start": 1, "ids": [7]},
], ids=["start-not-int", "ids-not-list", "id-not-string"])
def test_malformed_revisions(db, unchanged, revisions, endpoint):
    doc = {"_id": "replicated", "_rev": f"{revisions['start']}-{'a' * 32}", "_revisions": revisions}
    r = write_replicated(db, doc, endpoint)
    if endpoint == "put":
        assert error_of(r, 400)["error"] in ("bad_request", "doc_validation")
    else:  # refused alone, in its own entry (see the module's docstring)
        assert r.status_code == 201 and [e["id"] for e in r.json()] == ["replicated"], r.text
        assert r.json()[0]["error"] == "forbidden" and r.json()[0]["reason"]


# -- document content --------------------------------------------------------------------------------

@couchdb_only
def test_unknown_special_member(db, unchanged):
    body = error_of(raw(db, "PUT", "new-doc", json.dumps({"_foo": 1, "v": 1})), 400)
    assert body["error"] == "doc_validation"
    assert "_foo" in body["reason"]
    r = raw(db, "POST", "_bulk_docs", json.dumps({"docs": [{"_id": "x", "_foo": 1}]}))
    assert r.status_code == 400 or all(row.get("error") for row in r.json()), r.text
    if r.status_code == 400:
        assert r.json()["error"] == "doc_validation"


@couchdb_only
@pytest.mark.parametrize("doc_id", ["_bad", "_users", ""], ids=repr)
def test_illegal_doc_id(db, unchanged, doc_id):
    r = raw(db, "POST", "", json.dumps({"_id": doc_id, "v": 1}))
    assert error_of(r, 400)["error"] in ("illegal_docid", "bad_request")


@couchdb_only
def test_oversized_request_body(db, unchanged):
    """A 65 MiB request: over any sane request limit (Paicha: 64 MiB by default) -> 413 too_large."""
    blob = "x" * (65 * 1024 * 1024)
    assert error_of(raw(db, "PUT", "big", json.dumps({"blob": blob})), 413)["error"] == "too_large"
    r = raw(db, "POST", "_bulk_docs", json.dumps({"docs": [{"_id": "big", "blob": blob}]}))
    assert error_of(r, 413)["error"] == "too_large"


@couchdb_only
def test_oversized_document(db, unchanged):
    """A 9 MB doc in a small-enough request: over CouchDB's default max_document_size (8,000,000
    bytes) -> 413 document_too_large."""
    r = raw(db, "PUT", "big", json.dumps({"blob": "x" * 9_000_000}))
    assert error_of(r, 413)["error"] in ("document_too_large", "too_large")


# -- not found, conflicts ----------------------------------------------------------------------------

def test_missing_and_deleted_docs(db, unchanged):
    assert error_of(db.get("never-was"), 404) == {"error": "not_found", "reason": "missing"}
    deleted = error_of(db.get("gone"), 404)
    assert deleted["error"] == "not_found"
    assert deleted["reason"] in (("missing", "deleted") if REFERENCE_RUN else ("deleted",))
    assert error_of(db.get("one", rev=REV_A), 404)["error"] == "not_found"
    assert error_of(db.attachment("one", "nope.jpg"), 404)["error"] == "not_found"
    assert error_of(db.local("_local/never-was"), 404)["error"] == "not_found"


def test_missing_database(db):
    couch = db.couch
    body = error_of(couch.get("e2e_no_such_db"), 404)
    assert body["error"] == "not_found"
    if not REFERENCE_RUN:
        assert body["reason"] == "Database does not exist."
    error_of(couch.put("e2e_no_such_db/doc", json={"v": 1}), 404)
    error_of(couch.post("e2e_no_such_db/_bulk_docs", json={"docs": []}), 404)


def test_creating_an_existing_database(db, unchanged):
    assert error_of(db.couch.put(db.name), 412)["error"] == "file_exists"


def test_stale_rev_is_a_conflict(db, unchanged):
    first_rev = db.doc("two", revs=True)
    stale = f"1-{first_rev['_revisions']['ids'][-1]}"
    body = error_of(raw(db, "PUT", "two", json.dumps({"_rev": stale, "v": 3})), 409)
    assert body["error"] == "conflict"
    if not REFERENCE_RUN:  # pouchdb-server's reason has no full stop
        assert body == {"error": "conflict", "reason": "Document update conflict."}
    assert error_of(raw(db, "PUT", "one", json.dumps({"v": 3})), 409)["error"] == "conflict"  # no rev
    assert error_of(db.couch.delete(f"{db.name}/two", params={"rev": stale}), 409)["error"] == "conflict"
    r = raw(db, "POST", "_bulk_docs", json.dumps({"docs": [{"_id": "two", "_rev": stale, "v": 3}]}))
    assert r.status_code == 201, r.text
    assert [(row["id"], row["error"]) for row in r.json()] == [("two", "conflict")]


# -- authentication ----------------------------------------------------------------------------------

def test_wrong_or_missing_credentials(db, unchanged, server):
    url = f"{server.url}/{db.name}"
    r = requests.get(url, auth=("admin", "wrong-password"), timeout=10)
    assert error_of(r, 401)["error"] == "unauthorized"
    if not REFERENCE_RUN:  # pouchdb-server leaves databases readable without credentials
        assert error_of(requests.get(url, timeout=10), 401)["error"] == "unauthorized"
        assert error_of(requests.put(url + "/sneaky", json={"v": 1}, timeout=10), 401)["error"] == "unauthorized"
    r = requests.post(f"{server.url}/_session", json={"name": "admin", "password": "wrong"}, timeout=10)
    assert error_of(r, 401)["error"] == "unauthorized"


def test_session_login(server):
    r = requests.post(f"{server.url}/_session", json={"name": "admin", "password": server.admin_password},
                      timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    assert "AuthSession" in r.cookies
    who = requests.get(f"{server.url}/_session", cookies=r.cookies, timeout=10).json()
    assert who["userCtx"]["name"] == "admin"


# -- things that must not change the db's counters ---------------------------------------------------

def test_local_docs_are_not_counted_and_not_in_changes(db):
    before = snapshot(db)
    r = db.couch.put(f"{db.name}/_local/checkpoint-x", json={"last_seq": "12", "history": []})
    assert r.status_code in (201, 200), r.text
    local = db.local("checkpoint-x").json()
    assert local["last_seq"] == "12" and local["_id"] == "_local/checkpoint-x"
    r = db.couch.put(f"{db.name}/_local/checkpoint-x", json={"_rev": local["_rev"], "last_seq": "13"})
    assert r.status_code in (201, 200), r.text
    assert snapshot(db) == before
    assert not [i for i in db.changes_ids() if i.startswith("_local")]
