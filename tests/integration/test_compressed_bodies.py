"""Request bodies sent compressed (Content-Encoding gzip or deflate) are taken by every interface as
if sent plain; a damaged one, an unknown encoding, and one that inflates past the body limit are
refused in each interface's own shape."""
from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest

pytestmark = pytest.mark.demo

ADMIN = {"Authorization": "Basic " + base64.b64encode(b"demo-admin:demo-password").decode()}
JSON = {"Content-Type": "application/json"}


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


@pytest.fixture(scope="module")
def plain_db(app):
    client = app.test_client()
    assert client.put("/zipped", headers=ADMIN).status_code in (201, 412)
    return "/zipped"


@pytest.mark.parametrize("encoding, pack", [("gzip", gzip.compress), ("deflate", _deflate),
                                            ("x-gzip", gzip.compress), ("GZIP", gzip.compress)])
def test_a_compressed_bulk_docs_is_stored_as_if_sent_plain(client, plain_db, encoding, pack):
    docs = [{"_id": f"{encoding}-{n}", "text": "排查台账 " * 30} for n in range(20)]
    body = pack(json.dumps({"docs": docs}).encode())
    r = client.post(f"{plain_db}/_bulk_docs", data=body,
                    headers={**ADMIN, **JSON, "Content-Encoding": encoding})
    assert r.status_code == 201, r.data[:300]
    assert [row["id"] for row in r.json] == [d["_id"] for d in docs] and all(row["ok"] for row in r.json)
    stored = client.get(f"{plain_db}/{encoding}-7", headers=ADMIN).json
    assert stored["text"] == docs[7]["text"]


def test_a_compressed_put_and_a_compressed_api_login(client, plain_db):
    r = client.put(f"{plain_db}/one", data=gzip.compress(b'{"v": 1}'),
                   headers={**ADMIN, **JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 201 and client.get(f"{plain_db}/one", headers=ADMIN).json["v"] == 1
    login = {"name": "demo-village", "password": "demo-password", "device_id": "zipped-phone"}
    r = client.post("/api/v1/auth/login", data=gzip.compress(json.dumps(login).encode()),
                    headers={**JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json["access_token"]


def test_a_damaged_body_is_a_400_in_each_interfaces_shape(client, plain_db):
    damaged = gzip.compress(b'{"docs": []}')[:-6]  # cut before its end
    r = client.post(f"{plain_db}/_bulk_docs", data=damaged, headers={**ADMIN, **JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json["error"] == "bad_request" and "gzip" in r.json["reason"]
    r = client.post(f"{plain_db}/_bulk_docs", data=b"not gzip at all",
                    headers={**ADMIN, **JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json["error"] == "bad_request"
    r = client.post("/api/v1/auth/login", data=damaged, headers={**JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.json["code"] == "invalid_body" and "解压" in r.json["detail"]


def test_an_encoding_not_taken_is_a_415_that_says_which_are(client, plain_db):
    r = client.post(f"{plain_db}/_bulk_docs", data=b"\x0b\x02\x80{}\x03",
                    headers={**ADMIN, **JSON, "Content-Encoding": "br"})
    assert r.status_code == 415 and r.json["error"] == "bad_content_type"
    assert "gzip, deflate" in r.json["reason"]
    r = client.post("/api/v1/auth/login", data=b"x", headers={**JSON, "Content-Encoding": "compress"})
    assert r.status_code == 415 and r.json["code"] == "unsupported_media_type"
    assert "compress" in r.json["detail"] and "gzip" in r.json["detail"]


def test_a_body_that_inflates_past_the_limit_is_a_413(app, client, plain_db, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200_000)
    bomb = gzip.compress(b'{"docs": [' + b" " * 50_000_000 + b"]}")  # 50 MB of spaces in ~50 KB
    assert len(bomb) < 200_000
    r = client.post(f"{plain_db}/_bulk_docs", data=bomb, headers={**ADMIN, **JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 413 and r.json["error"] == "too_large" and "200000" in r.json["reason"]
    fits = gzip.compress(json.dumps({"docs": [{"_id": "fits", "pad": " " * 150_000}]}).encode())
    r = client.post(f"{plain_db}/_bulk_docs", data=fits, headers={**ADMIN, **JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 201, r.data[:300]


def test_nothing_is_inflated_for_someone_not_logged_in(client, plain_db):
    """The body is decompressed as a view reads it, after it has checked who asks: a stranger's
    damaged or oversized compressed body gets the 401, not a 400 or 413 that would mean it was read."""
    damaged = gzip.compress(b'{"docs": []}')[:-6]
    r = client.post(f"{plain_db}/_bulk_docs", data=damaged, headers={**JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    bomb = gzip.compress(b'{"docs": [' + b" " * 100_000_000 + b"]}")
    r = client.post(f"{plain_db}/_bulk_docs", data=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 401
