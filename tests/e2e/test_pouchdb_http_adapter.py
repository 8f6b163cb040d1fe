"""What an app's `new PouchDB(url)` sees of the server: PouchDB's own http adapter (pouchdb-node)
calls the server and gets CouchDB 3.x's answers. Each case is one that PouchDB's integration
tests (tests/integration/test.*.js, http adapter) found answered otherwise; the CouchDB source
each answer follows is named in the test."""
from __future__ import annotations

import base64
import uuid
from urllib.parse import quote

import pytest

from support.http import Couch


def calls(device, url: str, *steps, create: bool = False) -> list[dict]:
    """Each step `[method, ...args]` on PouchDB's http adapter; {"result"} or {"error"} each."""
    args = device._remote_args(url, {"calls": [list(s) for s in steps], "create_remote": create})
    return device.run("remote", args)["results"]


def ok(result: dict):
    assert "result" in result, result
    return result["result"]


ORIG = [{"_id": "0", "a": 1}, {"_id": "3", "a": 4}, {"_id": "1", "a": 2}, {"_id": "2", "a": 3}]


def test_all_docs_keys_key_and_total_rows(new_db, device_factory):
    """couch_mrview_http:parse_body_and_query and couch_mrview_util:validate_args: `key` is both
    ends, `keys` clashes with `key`/`startkey`/`endkey` (query_parse_error); fabric_view_all_docs:
    keys reversed when descending, then skip and limit; total_rows is the doc count."""
    phone = device_factory()
    r = calls(phone, new_db,
              ["bulkDocs", ORIG],
              ["allDocs", {"keys": ["2", "0", "1000"], "descending": True}],
              ["allDocs", {"keys": ["3", "1"], "skip": 1}],
              ["allDocs", {"keys": ["0", "2"], "limit": 1}],
              ["allDocs", {"keys": ["2"], "startkey": "a"}],
              ["allDocs", {"keys": ["2"], "endkey": "a"}],
              ["allDocs", {"key": "1", "keys": ["1", "2"]}],
              ["allDocs", {"key": "1"}],
              ["allDocs", {"key": "1", "startkey": "1"}],
              ["allDocs", {"startkey": "2", "limit": 1}],
              ["allDocs", {"startkey": "2", "descending": True, "skip": 1}],
              ["allDocs", {"keys": 1234}])
    desc = ok(r[1])
    assert [row["key"] for row in desc["rows"]] == ["1000", "0", "2"] and desc["rows"][0]["error"] == "not_found"
    assert desc["total_rows"] == 4 and desc["offset"] is None
    assert [row["id"] for row in ok(r[2])["rows"]] == ["1"] and ok(r[2])["total_rows"] == 4
    assert [row["id"] for row in ok(r[3])["rows"]] == ["0"] and ok(r[3])["total_rows"] == 4
    for clash in r[4:7]:
        assert clash["error"]["status"] == 400 and clash["error"]["name"] == "query_parse_error", clash
    assert [row["id"] for row in ok(r[7])["rows"]] == ["1"] and ok(r[7])["total_rows"] == 4
    assert "result" in r[8]
    assert ok(r[9])["offset"] == 2 and [row["id"] for row in ok(r[9])["rows"]] == ["2"]
    assert ok(r[10])["offset"] == 2 and [row["id"] for row in ok(r[10])["rows"]] == ["1", "0"]
    assert r[11]["error"]["status"] == 400 and r[11]["error"]["reason"] == "`keys` body member must be an array."


def test_all_docs_with_binary_attachments_and_the_stored_content_type(new_db, device_factory):
    """allDocs({include_docs, attachments, binary}) gives each attachment's bytes; an attachment
    reads back with the content type it was stored with, no charset added
    (chttpd_db:db_attachment_req sends the stored type)."""
    phone = device_factory()
    text, png = b"hello, world", bytes(range(256))
    docs = [{"_id": "note", "_attachments": {"a.txt": {"content_type": "text/plain",
                                                       "data": base64.b64encode(text).decode()}}},
            {"_id": "pic", "_attachments": {"p.png": {"content_type": "image/png",
                                                      "data": base64.b64encode(png).decode()}}},
            {"_id": "plain"}]
    r = calls(phone, new_db,
              ["bulkDocs", docs],
              ["allDocs", {"include_docs": True, "attachments": True, "binary": True}],
              ["allDocs", {"key": "pic", "include_docs": True, "attachments": True, "binary": True}],
              ["getAttachment", "note", "a.txt"])
    rows = {row["id"]: row for row in ok(r[1])["rows"]}
    assert base64.b64decode(rows["note"]["doc"]["_attachments"]["a.txt"]["data"]["$buffer"]) == text
    assert base64.b64decode(rows["pic"]["doc"]["_attachments"]["p.png"]["data"]["$buffer"]) == png
    assert "_attachments" not in rows["plain"]["doc"]
    one = ok(r[2])["rows"]
    assert [row["id"] for row in one] == ["pic"]
    assert base64.b64decode(one[0]["doc"]["_attachments"]["p.png"]["data"]["$buffer"]) == png
    att = ok(r[3])
    assert base64.b64decode(att["$buffer"]) == text and att["type"] == "text/plain"
    plain_rev = ok(r[0])[2]["rev"]
    r = calls(phone, new_db, ["putAttachment", "plain", "b.csv", plain_rev,
                              {"$buffer": base64.b64encode(b"a,b\n").decode()}, "text/csv; charset=latin1"])
    r = calls(phone, new_db, ["getAttachment", "plain", "b.csv", {"rev": ok(r[0])["rev"]}], ["get", "plain"])
    assert ok(r[0])["type"] == "text/csv; charset=latin1"
    assert ok(r[1])["_attachments"]["b.csv"]["content_type"] == "text/csv; charset=latin1"


def test_open_revs_latest_gives_a_branchs_leaf_once(new_db, device_factory):
    """couch_key_tree:get_key_leafs: two revisions of one branch with latest=true give its leaf
    once; and a GET of an old rev with latest=true gives the winner (chttpd_db:db_doc_req)."""
    phone = device_factory()
    first = ok(calls(phone, new_db, ["put", {"_id": "d", "version": "first"}])[0])["rev"]
    second = ok(calls(phone, new_db, ["put", {"_id": "d", "_rev": first, "version": "second"}])[0])["rev"]
    r = calls(phone, new_db,
              ["get", "d", {"open_revs": [first, second], "latest": True}],
              ["get", "d", {"open_revs": [first], "latest": True}],
              ["get", "d", {"rev": first, "latest": True}])
    both = ok(r[0])
    assert len(both) == 1 and both[0]["ok"]["_rev"] == second and both[0]["ok"]["version"] == "second"
    assert [x["ok"]["_rev"] for x in ok(r[1])] == [second]
    assert ok(r[2])["_rev"] == second


def test_local_docs_take_revisions_and_attachments_as_couchdb_reads_them(new_db, device_factory):
    """couch_doc:transfer_fields reads `_revisions` (and `_attachments`) of a `_local` document;
    none of them is kept (couch_db_updater:update_local_doc_revs)."""
    phone = device_factory()
    r = calls(phone, new_db, ["put", {"_id": "_local/foo"}], ["get", "_local/foo"])
    doc = ok(r[1])
    doc["_revisions"] = {"start": 0, "ids": [doc["_rev"].split("-")[1]]}
    doc["_attachments"] = {"a.txt": {"content_type": "text/plain", "data": "Zm9v"}}
    r = calls(phone, new_db, ["put", doc], ["get", "_local/foo"], ["getAttachment", "_local/foo", "a.txt"])
    assert ok(r[0])["rev"] == "0-2"
    assert ok(r[1]) == {"_id": "_local/foo", "_rev": "0-2"}
    assert r[2]["error"]["status"] == 400, r[2]  # "_local documents do not accept attachments."


def test_bulk_docs_take_a_bare_revision_with_new_edits_false(new_db, device_factory):
    """couch_doc:parse_rev takes "1-" (an empty rev id, couch_doc:parse_revid)."""
    phone = device_factory()
    r = calls(phone, new_db, ["bulkDocs", [{"_id": "foo", "_rev": "1-", "integer": 1}], {"new_edits": False}],
              ["get", "foo"])
    assert ok(r[0]) == []
    assert ok(r[1])["_rev"] == "1-" and ok(r[1])["integer"] == 1


def test_changes_with_a_design_document_filter_is_not_found(new_db, device_factory):
    """couch_changes:configure_filter: a missing design document or function is 404 not_found.
    Paicha runs no JavaScript, so a filter or view that is there is answered likewise."""
    phone = device_factory()
    ddoc = {"_id": "_design/foo", "filters": {"even": "function (doc) { return true; }"},
            "views": {"v": {"map": "function (doc) { emit(doc._id); }"}}}
    r = calls(phone, new_db, ["put", ddoc],
              ["changes", {"filter": "nope/even"}],
              ["changes", {"filter": "foo/odd"}],
              ["changes", {"filter": "foo/even"}],
              ["changes", {"filter": "_view", "view": "foo/v"}])
    for answer in r[1:]:
        assert answer["error"]["status"] == 404 and answer["error"]["name"] == "not_found", answer


def test_all_docs_after_replicating_conflicts(new_db, device_factory):
    """After two phones push conflicting edits, allDocs gives the winner's rev and, with
    include_docs and conflicts, the losing leaf in `_conflicts`."""
    a, b = device_factory("a"), device_factory("b")
    a.put({"_id": "x", "v": "base"})
    a.push(new_db)
    b.pull(new_db)
    a.put({**a.get("x"), "v": "from a"})
    b.put({**b.get("x"), "v": "from b"})
    a.push(new_db)
    b.push(new_db)
    leaves = [x["ok"]["_rev"] for x in ok(calls(a, new_db, ["get", "x", {"open_revs": "all"}])[0])]
    winner = max(leaves, key=lambda rev: (int(rev.split("-")[0]), rev.split("-", 1)[1]))
    r = calls(a, new_db, ["allDocs", {"include_docs": True, "conflicts": True}], ["allDocs", {"keys": ["x"]}])
    row = ok(r[0])["rows"][0]
    assert row["value"]["rev"] == winner and row["doc"]["_rev"] == winner
    assert row["doc"]["_conflicts"] == [rev for rev in leaves if rev != winner]
    assert ok(r[1])["rows"][0]["value"]["rev"] == winner


@pytest.mark.parametrize("suffix", ["a/b", "$(c)+d-e_f"], ids=["slash", "symbols"])
def test_a_database_named_with_encoded_characters(server, device_factory, suffix):
    """Every character CouchDB allows in a database name, sent encoded (`a%2Fb` for `a/b`) as
    PouchDB sends it: chttpd splits the raw path at its slashes, then decodes each part."""
    name = f"e2e_{uuid.uuid4().hex[:8]}_{suffix}"
    url = f"{server.url}/{quote(name, safe='')}"
    phone = device_factory()
    r = calls(phone, url, ["info"], ["put", {"_id": "x/y", "v": 1}], ["get", "x/y"], ["allDocs", {}],
              create=True)
    assert ok(r[0])["db_name"] == name
    assert ok(r[2])["v"] == 1 and [row["id"] for row in ok(r[3])["rows"]] == ["x/y"]
    admin = Couch(server.url, server.auth)
    assert name in admin.get("_all_dbs").json()
    assert admin.get(f"{quote(name, safe='')}/{quote('x/y', safe='')}").json()["v"] == 1
    phone.push(url)  # and replication to it, checkpoints included
    assert "result" in calls(phone, url, ["destroy"])[0]
    assert name not in admin.get("_all_dbs").json()
