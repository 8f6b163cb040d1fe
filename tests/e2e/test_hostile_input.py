"""What real phones and odd clients send cannot stall a village's sync.

Each case is what a field user hit: a batch with one bad document (half a character, a date out of
range, nesting too deep, a number too large) keeps its good documents and refuses the bad one alone
(with its own id, error and reason, and a quarantine entry); nothing accepted can break a reader
(attachment names are checked as CouchDB checks them); hostile bodies, query parameters and
framing get a 4xx with CouchDB's `{error, reason}`, never a 5xx; numbers are kept exactly or
refused. After each, a fresh PouchDB phone of the same village still pulls everything.
"""
from __future__ import annotations

import json
import socket
import uuid

import pytest

from support.cli import flask_cli
from support.http import Couch
from support.server import ServerProcess

DB = "paicha"
PW = "demo-password"
VILLAGE = "990101001001"      # demo-village
HALF_CHARACTER = "\U00020000\U00020001"[:1] + "\ud840"  # '𠀀𠀁'.slice(0,3) in JavaScript
DEEP = 10_000
BAD_REQUEST_SHAPE = {"error", "reason"}


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"hostile-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def as_user(srv, name) -> Couch:
    return Couch(srv.url, (name, PW))


def dispute(doc_id, **extra):
    return {"_id": doc_id, "type": "dispute", "area": VILLAGE, "created_by": "demo-village",
            "created_at": "2026-11-20T10:00:00+08:00", "summary": "（测试）邻里纠纷",
            "parties": [{"name": "甲", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered", **extra}


def visit(doc_id, **extra):
    return {"_id": doc_id, "type": "household_visit", "area": VILLAGE, "created_by": "demo-township",
            "created_at": "2026-11-20T10:00:00+08:00", "household_id": "household-demo-1",
            "visitor": "demo-township", "visited_at": "2026-11-20T09:00:00+08:00", "purpose": "routine",
            "fix": {"lat": 34.3, "lon": 108.7, "accuracy_m": 10, "fix_time": "2026-11-20T09:00:00+08:00",
                    "crs": "WGS-84"}, **extra}


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_raw(client: Couch, path: str, text: str, method: str = "POST"):
    return client.request(method, path, data=text.encode("utf-8", "surrogatepass"),
                          headers={"Content-Type": "application/json"})


def as_json(value) -> str:
    """JSON as JavaScript's JSON.stringify writes it: a lone surrogate as a \\u escape."""
    return json.dumps(value, ensure_ascii=True)


def assert_refused_alone(results, bad_id, good_ids, *, error="forbidden", reason_has=""):
    """The bad document's own entry says `forbidden` (PouchDB's replicator moves past that error
    and reports it; any other per-document error would stop the whole replication)."""
    by_id = {r.get("id"): r for r in results}
    assert set(by_id[bad_id]) == {"id", "error", "reason"}, by_id[bad_id]
    assert by_id[bad_id]["error"] == error
    assert reason_has in by_id[bad_id]["reason"], by_id[bad_id]["reason"]
    for good in good_ids:
        assert by_id[good].get("ok") is True, by_id[good]


def quarantined(srv, doc_id) -> list[str]:
    """The `flask quarantine list` lines that name `doc_id`."""
    out = flask_cli(srv.database_url, "quarantine", "list")
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if doc_id in line]


def fresh_phone_pulls(device_factory, srv, expected_ids):
    phone = device_factory("fresh", auth={"username": "demo-village", "password": PW})
    result = phone.pull(f"{srv.url}/{DB}")
    assert result["ok"], result
    docs = phone.docs()
    missing = set(expected_ids) - set(docs)
    assert not missing, missing
    return docs


# -- one bad document in a phone's batch -------------------------------------------------------------

def test_half_a_character_refuses_that_document_alone(demo, device_factory):
    tag = uuid.uuid4().hex[:6]
    good1, bad, good2 = f"h-ok1-{tag}", f"h-half-{tag}", f"h-ok2-{tag}"
    cadre = as_user(demo, "demo-village")
    body = {"docs": [dispute(good1), dispute(bad, parties=[{"name": "张" + HALF_CHARACTER, "role": "applicant"}]),
                     dispute(good2)]}
    r = post_raw(cadre, f"{DB}/_bulk_docs", as_json(body))
    assert r.status_code == 201, r.text
    assert_refused_alone(r.json(), bad, [good1, good2], reason_has="not valid Unicode")
    assert as_user(demo, "demo-admin").get(f"{DB}/{bad}").status_code == 404
    assert len(quarantined(demo, bad)) == 1
    # The cadre is told, in the village's own feed, which record and what to fix, in Chinese.
    feed = cadre.ok_json("GET", f"{DB}/_changes", params={"include_docs": "true"})["results"]
    notices = [row["doc"] for row in feed if row["doc"].get("type") == "refusal_notice"
               and row["doc"].get("doc_id") == bad]
    assert len(notices) == 1 and notices[0]["reason_code"] == "half_character", notices
    assert "残缺的字" in notices[0]["reason"] and "重新输入" in notices[0]["action"]
    fresh_phone_pulls(device_factory, demo, [good1, good2])


def test_a_real_phone_with_a_truncated_name_finishes_its_push(demo, device_factory):
    """PouchDB (real, in Node) holds the half character and sends it; the push ends, the other
    documents are on the server, and the phone is told which one was refused."""
    tag = uuid.uuid4().hex[:6]
    phone = device_factory("cadre", auth={"username": "demo-village", "password": PW})
    good, bad = f"p-ok-{tag}", f"p-half-{tag}"
    phone.put(dispute(good), dispute(bad, summary="（测试）" + HALF_CHARACTER))
    result = phone.push(f"{demo.url}/{DB}", check=False)
    assert result.get("ok"), result
    assert result["push"]["docs_written"] == 1 and result["push"]["doc_write_failures"] == 1, result["push"]
    assert as_user(demo, "demo-admin").ok_json("GET", f"{DB}/{good}")["_id"] == good
    again = phone.push(f"{demo.url}/{DB}", check=False)  # a retry is not stuck either
    assert again.get("ok"), again
    assert len(quarantined(demo, bad)) == 1
    fresh_phone_pulls(device_factory, demo, [good])


def test_a_fix_time_out_of_range_refuses_that_visit_alone(demo):
    tag = uuid.uuid4().hex[:6]
    staff = as_user(demo, "demo-township")
    good, bad = f"v-ok-{tag}", f"v-year1-{tag}"
    year_one = visit(bad)
    year_one["fix"] = {**year_one["fix"], "fix_time": "0001-01-01T00:00:00+14:00"}
    r = staff.post(f"{DB}/_bulk_docs", json={"docs": [visit(good), year_one]})
    assert r.status_code == 201, r.text
    by_id = {e["id"]: e for e in r.json()}
    assert by_id[good].get("ok") is True
    assert by_id[bad]["error"] in ("forbidden", "bad_request") and by_id[bad]["reason"]


@pytest.mark.parametrize("what,text,reason_has", [
    ("too deep", '{"_id":"%s","type":"dispute","x":' + deep(DEEP) + "}", "nested deeper"),
    ("number too large", '{"_id":"%s","type":"dispute","x":1e400}', "too large"),
    ("not JSON", '{"_id":"%s","type":"dispute","x":tru}', "not valid JSON"),
])
def test_an_unreadable_document_is_refused_alone_and_kept_as_sent(demo, device_factory, what, text, reason_has):
    tag = uuid.uuid4().hex[:6]
    good1, bad, good2 = f"u-ok1-{tag}", f"u-bad-{tag}", f"u-ok2-{tag}"
    raw_bad = text % bad
    body = '{"docs":[%s,%s,%s]}' % (as_json(dispute(good1)), raw_bad, as_json(dispute(good2)))
    r = post_raw(as_user(demo, "demo-village"), f"{DB}/_bulk_docs", body)
    assert r.status_code == 201, r.text
    assert_refused_alone(r.json(), bad, [good1, good2], reason_has=reason_has)
    assert len(quarantined(demo, bad)) == 1
    fresh_phone_pulls(device_factory, demo, [good1, good2])


# -- nothing accepted can break a reader --------------------------------------------------------------

@pytest.mark.parametrize("name,reason_has", [
    ("_x", "starts with prohibited character '_'"),
    ("", "non-empty"),
    ("../x", "'..'"),
    ("a//b", "empty"),
])
def test_attachment_names_a_reader_cannot_fetch_are_refused(demo, device_factory, name, reason_has):
    tag = uuid.uuid4().hex[:6]
    doc = dispute(f"att-{tag}", _attachments={name: {"content_type": "text/plain", "data": "aGk="}})
    r = as_user(demo, "demo-village").put(f"{DB}/att-{tag}", json=doc)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request" and reason_has in r.json()["reason"]
    fresh_phone_pulls(device_factory, demo, [])


# -- PouchDB creates and destroys a remote database at its URL with a slash -----------------------------

def test_put_and_delete_of_a_database_with_a_trailing_slash(demo, device_factory):
    admin = as_user(demo, "demo-admin")
    name = f"slash_{uuid.uuid4().hex[:8]}"
    assert admin.put(f"{name}/").status_code == 201
    assert admin.put(f"{name}/").json()["error"] == "file_exists"
    assert admin.delete(f"{name}/").status_code == 200
    assert admin.get(name).status_code == 404
    # PouchDB's own path: replicate into a database that does not exist yet (it PUTs "{db}/").
    phone = device_factory("admin-phone", auth={"username": "demo-admin", "password": PW})
    phone.put({"_id": "one", "n": 1})
    assert phone.push(f"{demo.url}/{name}", create_remote=True)["ok"]
    assert admin.ok_json("GET", f"{name}/one")["n"] == 1
    assert admin.delete(f"{name}/").status_code == 200


# -- bodies, parameters and framing: 4xx with a reason, never 5xx -----------------------------------------

@pytest.mark.parametrize("method,path,text", [
    ("PUT", f"{DB}/deep-put", '{"type":"dispute","x":' + deep(DEEP) + "}"),
    ("POST", f"{DB}/_revs_diff", '{"a":' + deep(DEEP) + "}"),
    ("PUT", f"{DB}/_local/deep", '{"x":' + deep(DEEP) + "}"),
    ("POST", f"{DB}/_changes?filter=_selector", '{"selector":' + deep(DEEP) + "}"),
    ("POST", f"{DB}/_bulk_get", '{"docs":' + deep(DEEP) + "}"),
    ("POST", f"{DB}/_all_docs", '{"keys":' + deep(DEEP) + "}"),
    ("POST", f"{DB}/_bulk_docs", deep(DEEP)),
    ("PUT", f"{DB}/_local/half", '{"x":"\\ud800"}'),
    ("PUT", f"{DB}/_local/half-key", '{"\\ud800":1}'),
    ("POST", f"{DB}/_revs_diff", '{"\\ud800":["1-a"]}'),
    ("POST", f"{DB}/_bulk_get", '{"docs":[{"id":"\\ud800"}]}'),
    ("POST", f"{DB}/_all_docs", '{"keys":["\\ud800"]}'),
])
def test_hostile_bodies_get_a_4xx_with_a_reason(demo, method, path, text):
    r = post_raw(as_user(demo, "demo-village"), path, text, method=method)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert set(r.json()) == BAD_REQUEST_SHAPE and r.json()["error"] == "bad_request" and r.json()["reason"]


def test_half_a_character_in_an_id_or_local_doc_is_refused(demo):
    cadre = as_user(demo, "demo-village")
    r = post_raw(cadre, f"{DB}/_bulk_docs", '{"docs":[{"_id":"x\\ud800","type":"dispute"}]}')
    assert r.status_code == 201
    assert r.json()[0]["error"] == "forbidden" and "not valid Unicode" in r.json()[0]["reason"]
    r = post_raw(cadre, f"{DB}/_bulk_docs", '{"docs":[{"_id":"_local/x\\ud800","n":1}]}')
    assert r.status_code == 201 and r.json()[0]["error"] == "forbidden"
    r = post_raw(cadre, f"{DB}/_bulk_docs", '{"docs":[{"_id":"_local/half-body","n":"\\ud800"}]}')
    assert r.status_code == 201 and r.json()[0]["error"] == "forbidden", r.text
    assert "not valid Unicode" in r.json()[0]["reason"]


@pytest.mark.parametrize("params", [
    {"skip": str(2**64)}, {"limit": str(2**64)}, {"skip": "9" * 30, "limit": "9" * 30},
])
def test_all_docs_counts_beyond_64_bits(demo, params):
    r = as_user(demo, "demo-village").get(f"{DB}/_all_docs", params=params)
    assert r.status_code == 200, r.text
    if "skip" in params:
        assert r.json()["rows"] == []
    else:
        assert r.json()["rows"]


@pytest.mark.parametrize("params", [
    {"since": str(2**64)}, {"since": "9" * 50}, {"since": str(2**64), "feed": "longpoll", "timeout": "100"},
    {"timeout": str(2**70), "feed": "longpoll", "since": "now", "limit": "0"}, {"heartbeat": str(2**70), "limit": "1"},
])
def test_changes_since_beyond_64_bits_is_a_whole_answer(demo, params):
    r = as_user(demo, "demo-village").get(f"{DB}/_changes", params=params, timeout=30)
    assert r.status_code == 200
    body = r.json()  # the whole document arrived: the connection was not dropped mid-way
    assert "last_seq" in body and "results" in body


def test_a_malformed_chunked_body_is_a_400(demo):
    host, port = demo.url.split("//")[1].split(":")
    auth = "Basic ZGVtby12aWxsYWdlOmRlbW8tcGFzc3dvcmQ="  # demo-village:demo-password
    request = (f"POST /{DB}/_bulk_docs HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n")
    with socket.create_connection((host, int(port.rstrip("/"))), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]


# -- numbers are kept exactly or refused ---------------------------------------------------------------

def test_big_integers_are_kept_exactly_and_infinite_numbers_refused(demo, device_factory):
    tag = uuid.uuid4().hex[:6]
    admin = as_user(demo, "demo-admin")
    name = f"numbers_{tag}"
    assert admin.put(name).status_code == 201
    big = "12345678901234567890123456789012345678901"  # 41 digits
    r = post_raw(admin, f"{name}/big", '{"n":%s,"m":-%s,"small":7}' % (big, big), method="PUT")
    assert r.status_code == 201, r.text
    text = admin.get(f"{name}/big").text
    assert f'"n":{big}' in text and f'"m":-{big}' in text
    feed = admin.get(f"{name}/_changes", params={"include_docs": "true"}).text
    assert f'"n":{big}' in feed
    r = post_raw(admin, f"{name}/inf", '{"n":1e400}', method="PUT")
    assert r.status_code == 400 and "too large" in r.json()["reason"]
    assert admin.get(f"{name}/inf").status_code == 404
    r = post_raw(admin, f"{name}/_bulk_docs", '{"docs":[{"_id":"a","n":1e400},{"_id":"b","n":%s}]}' % big)
    assert r.status_code == 201
    assert r.json()[0]["error"] == "forbidden" and r.json()[1]["ok"]
    assert f'"n":{big}' in admin.get(f"{name}/b").text


# -- the NUL character: no id holds it (PostgreSQL cannot store it), so it is never looked up --------

@pytest.mark.parametrize("method,path,body,status", [
    ("GET", f"{DB}/x%00", None, 404),
    ("PUT", f"{DB}/x%00", '{"type":"dispute"}', 400),
    ("GET", f"{DB}/x%00/photo.jpg", None, 404),
    ("GET", f"{DB}/_local/x%00", None, 404),
    ("PUT", f"{DB}/_local/x%00", '{"n":1}', 404),
    ("GET", "no%00db", None, 404),
    ("GET", f"{DB}/_all_docs?startkey=%22a%5Cu0000%22", None, 400),
    ("POST", f"{DB}/_bulk_get", '{"docs":[{"id":"x\\u0000"}]}', 200),
    ("POST", f"{DB}/_revs_diff", '{"x\\u0000":["1-a"]}', 200),
    ("POST", f"{DB}/_all_docs", '{"keys":["x\\u0000"]}', 200),
    ("POST", f"{DB}/_bulk_docs", '{"docs":[{"_id":"x\\u0000","type":"dispute"}]}', 201),
])
def test_the_nul_character_in_ids_is_never_a_server_error(demo, method, path, body, status):
    cadre = as_user(demo, "demo-village")
    r = cadre.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, (r.status_code, r.text[:300])
    if status >= 400:
        assert set(r.json()) == BAD_REQUEST_SHAPE
    if path.endswith("_bulk_docs"):
        assert r.json()[0]["error"] == "forbidden" and "NUL" in r.json()[0]["reason"]
    if path.endswith("_all_docs") and method == "POST":
        assert r.json()["rows"] == [{"key": "x\x00", "error": "not_found"}]
