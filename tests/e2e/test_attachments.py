"""A household-visit 'photo' (~300 KB of random bytes) survives byte for byte: phone -> server ->
phone, phone -> server -> phone again with a second photo, and server upload -> phone."""
from __future__ import annotations

import base64

from support.checks import b64, md5_digest, random_bytes, sha256

PHOTO = random_bytes(300 * 1024, seed=b"photo-1")
PHOTO2 = random_bytes(217 * 1024 + 13, seed=b"photo-2")
SCAN = random_bytes(64 * 1024 + 1, seed=b"scan")


def assert_server_has(db, doc_id, name, data, content_type):
    r = db.attachment(doc_id, name)
    assert r.status_code == 200, r.text[:300]
    assert r.content == data, f"{name}: {len(r.content)} bytes from the server, {len(data)} expected"
    assert r.headers["Content-Type"].split(";")[0] == content_type
    stub = db.doc(doc_id)["_attachments"][name]
    assert stub.get("stub") is True
    assert stub["digest"] == md5_digest(data)
    assert stub["length"] == len(data)
    assert stub["content_type"] == content_type
    return stub


def assert_phone_has(phone, doc_id, name, data, content_type):
    att = phone.attachment(doc_id, name, with_data=True)
    assert att["length"] == len(data)
    assert att["sha256"] == sha256(data)
    assert att["bytes"] == data
    assert att["digest"] == md5_digest(data)
    assert att["content_type"] == content_type


def test_photo_survives_both_ways(new_db, device_factory):
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    a.put({"_id": "visit-1", "type": "household_visit", "household": "h-17",
           "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "data": b64(PHOTO)}}})

    res = a.push(new_db)
    assert res["push"]["docs_written"] == 1 and res["push"]["doc_write_failures"] == 0
    assert_server_has(db, "visit-1", "photo.jpg", PHOTO, "image/jpeg")
    # the whole doc with attachments=true carries the same bytes inline
    inline = db.doc("visit-1", attachments=True)["_attachments"]["photo.jpg"]
    assert base64.b64decode(inline["data"]) == PHOTO

    assert b.pull(new_db)["pull"]["docs_written"] == 1
    assert_phone_has(b, "visit-1", "photo.jpg", PHOTO, "image/jpeg")

    # b adds a second photo to the same visit (the first goes back as a stub) and pushes
    doc = b.get("visit-1")
    doc["_attachments"]["photo-2.png"] = {"content_type": "image/png", "data": b64(PHOTO2)}
    b.put(doc)
    assert b.push(new_db)["push"]["docs_written"] == 1
    assert_server_has(db, "visit-1", "photo.jpg", PHOTO, "image/jpeg")
    assert_server_has(db, "visit-1", "photo-2.png", PHOTO2, "image/png")

    assert a.pull(new_db)["pull"]["docs_written"] == 1
    assert_phone_has(a, "visit-1", "photo.jpg", PHOTO, "image/jpeg")
    assert_phone_has(a, "visit-1", "photo-2.png", PHOTO2, "image/png")
    assert a.get("visit-1")["_rev"] == b.get("visit-1")["_rev"] == db.doc("visit-1")["_rev"]


def test_attachment_uploaded_on_the_server_reaches_the_phone(new_db, device_factory):
    db = new_db.api
    rev = db.put({"_id": "notice-1", "type": "supervision_notice"})["rev"]
    r = db.couch.put(f"{db.name}/notice-1/scan.pdf", params={"rev": rev}, data=SCAN,
                     headers={"Content-Type": "application/pdf"})
    assert r.status_code in (201, 202), r.text
    assert r.json()["ok"] and r.json()["rev"].startswith("2-")
    assert_server_has(db, "notice-1", "scan.pdf", SCAN, "application/pdf")

    phone = device_factory("phone")
    assert phone.pull(new_db)["pull"]["docs_written"] == 1
    assert_phone_has(phone, "notice-1", "scan.pdf", SCAN, "application/pdf")


def test_unchanged_attachment_is_not_lost_by_an_edit(new_db, device_factory):
    """An edit of the doc body alone (attachment as stub) keeps the photo on the server and phones."""
    db = new_db.api
    a, b = device_factory("a"), device_factory("b")
    a.put({"_id": "visit-2", "note": "v1",
           "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "data": b64(PHOTO)}}})
    a.push(new_db)
    doc = a.get("visit-2")
    a.put({**doc, "note": "v2"})
    assert a.push(new_db)["push"]["docs_written"] == 1
    assert db.doc("visit-2")["note"] == "v2"
    assert_server_has(db, "visit-2", "photo.jpg", PHOTO, "image/jpeg")
    b.pull(new_db)
    assert b.get("visit-2")["note"] == "v2"
    assert_phone_has(b, "visit-2", "photo.jpg", PHOTO, "image/jpeg")
