"""A document revision with its photo sent over tus (resumable uploads): written as the very revision
the phone made once whole, byte for byte; a body cut anywhere is kept up to the cut and resumed from
there; a revision the rules refuse is refused as soon as its JSON is in, and nothing of it is kept;
the protocol's own errors are answered with the statuses tus clients act on."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid

import pytest
import sqlalchemy as sa

from support.checks import md5_digest, random_bytes

pytestmark = pytest.mark.demo

DB = "/paicha"
VILLAGE = "990101001001"
OTHER_VILLAGE = "990101001002"
TUS = {"Tus-Resumable": "1.0.0"}
PHOTO = random_bytes(200 * 1024 + 17, seed=b"upload-photo")


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:demo-password".encode()).decode()}


CADRE, OTHER_CADRE, ADMIN = basic("demo-village"), basic("demo-village2"), basic("demo-admin")


def dispute(area: str = VILLAGE, **changes) -> dict:
    doc_id = f"dispute-{uuid.uuid4()}"
    rev_hash = uuid.uuid4().hex
    doc = {
        "_id": doc_id, "_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]},
        "type": "dispute", "area": area, "created_by": "demo-village", "created_at": "2026-12-01T09:20:00+08:00",
        "summary": "两家因宅基地界墙位置发生争执，需村调委调解。", "parties": [{"name": "王建国", "role": "applicant"}],
        "category": "homestead", "risk_level": "medium", "status": "registered",
    }
    doc.update(changes)
    return doc


def multipart_revision(doc: dict, photos: dict[str, bytes], boundary: str = "paicha-b0undary") -> tuple[str, bytes]:
    """CouchDB's multipart/related form of a revision: the JSON, then each attachment's bytes."""
    doc = {**doc, "_attachments": {name: {"content_type": "image/jpeg", "length": len(data), "follows": True}
                                   for name, data in photos.items()}}
    body = b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(doc).encode()
    for data in photos.values():
        body += b"\r\n--" + boundary.encode() + b"\r\nContent-Type: image/jpeg\r\n\r\n" + data
    body += b"\r\n--" + boundary.encode() + b"--"
    return f'multipart/related; boundary="{boundary}"', body


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def begin(client, doc: dict, body: bytes, content_type: str, auth=CADRE, **extra) -> str:
    r = client.post(f"{DB}/_uploads", headers={
        **auth, **TUS, "Upload-Length": str(len(body)),
        "Upload-Metadata": metadata(doc_id=doc["_id"], content_type=content_type)}, **extra)
    assert r.status_code == 201, r.data
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Upload-Expires"].endswith("GMT")
    return r.headers["Location"]


def patch(client, location: str, offset: int, data: bytes, auth=CADRE, stream=None):
    return client.patch(location, input_stream=stream or io.BytesIO(data), headers={
        **auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(data))})


def offset_of(client, location: str, auth=CADRE) -> int:
    r = client.head(location, headers={**auth, **TUS})
    assert r.status_code == 200, r.status_code
    assert r.headers["Cache-Control"] == "no-store"
    return int(r.headers["Upload-Offset"])


class CutStream(io.RawIOBase):
    """A body that ends after `keep` bytes of what its Content-Length promised: a cut link."""

    def __init__(self, data: bytes, keep: int):
        self._data, self._pos, self._keep = data, 0, keep

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, pos, whence=io.SEEK_SET):
        # The test client measures the body by seeking to its end: the length the request promises.
        self._pos = {io.SEEK_SET: pos, io.SEEK_CUR: self._pos + pos, io.SEEK_END: len(self._data) + pos}[whence]
        return self._pos

    def readinto(self, buffer):
        n = min(len(buffer), self._keep - self._pos, 3000)  # arrives in small packets
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def assert_written(client, doc: dict, photo: bytes = PHOTO, name: str = "photo.jpg"):
    stored = client.get(f"{DB}/{doc['_id']}", headers=CADRE)
    assert stored.status_code == 200, stored.data
    assert stored.json["_rev"] == doc["_rev"]  # the phone's own revision: nothing for it to fetch back
    stub = stored.json["_attachments"][name]
    assert stub["digest"] == md5_digest(photo) and stub["length"] == len(photo)
    r = client.get(f"{DB}/{doc['_id']}/{name}", headers=CADRE)
    assert r.status_code == 200 and r.data == photo and r.content_type == "image/jpeg"
    diff = client.post(f"{DB}/_revs_diff", json={doc["_id"]: [doc["_rev"]]}, headers=CADRE).json
    assert diff == {}  # a phone replicating afterwards has nothing left to send


def pieces_left(app, location: str | None = None) -> int:
    """Pieces the store holds: of the upload at `location`, or of every upload."""
    from server.core.db import db

    query = "SELECT count(*) FROM sync_upload_pieces" + (" WHERE upload_id = :id" if location else "")
    with app.app_context():
        with db.engine.connect() as conn:
            return conn.execute(sa.text(query), {"id": (location or "").rsplit("/", 1)[-1]}).scalar_one()


def test_the_server_says_what_it_speaks(client, app):
    r = client.options(f"{DB}/_uploads")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) >= {"creation", "creation-with-upload", "termination",
                                                          "expiration"}
    assert int(r.headers["Tus-Max-Size"]) == app.config["MAX_CONTENT_LENGTH"]


def test_an_upload_in_pieces_is_written_as_the_phones_own_revision(client):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    assert offset_of(client, location) == 0
    cuts = [0, 700, 90_000, len(body)]
    for start, end in zip(cuts, cuts[1:]):
        r = patch(client, location, start, body[start:end])
        assert r.status_code == 204, r.data
        assert int(r.headers["Upload-Offset"]) == end
    assert_written(client, doc)
    # The upload is remembered as whole until it expires: a client that lost the last answer asks.
    assert offset_of(client, location) == len(body)
    assert patch(client, location, len(body), b"x").status_code == 409


def test_creation_with_upload_sends_everything_in_one_request(client, app):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO, "second.jpg": PHOTO[:5000]})
    r = client.post(f"{DB}/_uploads", data=body, headers={
        **CADRE, **TUS, "Upload-Length": str(len(body)), "Content-Type": "application/offset+octet-stream",
        "Upload-Metadata": metadata(doc_id=doc["_id"], content_type=content_type)})
    assert r.status_code == 201 and int(r.headers["Upload-Offset"]) == len(body)
    assert_written(client, doc)
    assert_written(client, doc, PHOTO[:5000], "second.jpg")
    assert pieces_left(app, r.headers["Location"]) == 0


@pytest.mark.parametrize("cut_at", [1, 300, 2000, 64 * 1024, 150_000, -1])
def test_a_cut_body_keeps_what_arrived_and_resumes_to_identical_bytes(client, app, cut_at):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    cut_at = cut_at if cut_at > 0 else len(body) - 1  # one byte short of whole
    location = begin(client, doc, body, content_type)
    patch(client, location, 0, body, stream=CutStream(body, cut_at))  # the client is gone: no one reads this
    held = offset_of(client, location)
    assert held == cut_at  # every byte that arrived, and not one more
    assert client.get(f"{DB}/{doc['_id']}", headers=CADRE).status_code == 404  # nothing written half
    r = patch(client, location, held, body[held:])
    assert r.status_code == 204 and int(r.headers["Upload-Offset"]) == len(body)
    assert_written(client, doc)


def test_resuming_from_the_wrong_offset_is_a_conflict_that_says_where(client):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    assert patch(client, location, 0, body[:5000]).status_code == 204
    r = patch(client, location, 4000, body[4000:9000])
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert offset_of(client, location) == 5000


def test_a_revision_outside_the_writers_area_is_refused_as_soon_as_its_json_is_in(client, app):
    doc = dispute(area=OTHER_VILLAGE)
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    r = patch(client, location, 0, body[:4096])  # the JSON and a little of the photo
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert "outside your area" in r.json["reason"]
    assert client.head(location, headers={**CADRE, **TUS}).status_code == 404  # nothing kept
    assert pieces_left(app, location) == 0
    assert client.get(f"{DB}/{doc['_id']}", headers=ADMIN).status_code == 404


def test_a_revision_the_schema_refuses_is_refused_with_the_reason_and_kept_for_review(client, app):
    doc = dispute(risk_level="apocalyptic")
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    r = patch(client, location, 0, body)
    assert r.status_code == 403 and "risk_level" in r.json["reason"]
    assert client.head(location, headers={**CADRE, **TUS}).status_code == 404 and pieces_left(app, location) == 0
    from server.core.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT account, status FROM quarantine WHERE doc_id = :d"),
                                {"d": doc["_id"]}).all()
    assert [tuple(row) for row in kept] == [("demo-village", "held")]  # nothing refused is lost


def test_a_body_that_does_not_match_its_json_is_refused_and_nothing_written(client, app):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    truncated = body[:-200] + body[-len(b"\r\n--paicha-b0undary--"):]  # the photo 200 bytes short
    location = begin(client, doc, truncated, content_type)
    r = patch(client, location, 0, truncated)
    assert r.status_code == 400 and "bytes" in r.json["reason"]
    assert client.get(f"{DB}/{doc['_id']}", headers=CADRE).status_code == 404
    assert client.head(location, headers={**CADRE, **TUS}).status_code == 404 and pieces_left(app, location) == 0


def test_an_upload_over_the_limit_is_refused_before_any_byte(client, app):
    doc = dispute()
    limit = app.config["MAX_CONTENT_LENGTH"]
    r = client.post(f"{DB}/_uploads", headers={
        **CADRE, **TUS, "Upload-Length": str(limit + 1),
        "Upload-Metadata": metadata(doc_id=doc["_id"], content_type='multipart/related; boundary="b"')})
    assert r.status_code == 413 and r.json["error"] == "too_large" and str(limit) in r.json["reason"]


def test_an_upload_is_its_owners_alone(client):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    assert client.head(location, headers={**OTHER_CADRE, **TUS}).status_code == 404
    assert patch(client, location, 0, body, auth=OTHER_CADRE).status_code == 404
    assert client.delete(location, headers={**OTHER_CADRE, **TUS}).status_code == 404
    assert client.head(location, headers=TUS).status_code == 401
    assert client.post(f"{DB}/_uploads", headers={**TUS, "Upload-Length": "10"}).status_code == 401
    assert offset_of(client, location) == 0  # untouched by the others


def test_termination_forgets_the_upload(client, app):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    assert patch(client, location, 0, body[:100_000]).status_code == 204
    assert client.delete(location, headers={**CADRE, **TUS}).status_code == 204
    assert client.head(location, headers={**CADRE, **TUS}).status_code == 404 and pieces_left(app, location) == 0


def test_an_unfinished_upload_expires_after_its_lifetime(client, app, monkeypatch):
    from server.core import clock

    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    start = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: start)
    location = begin(client, doc, body, content_type)
    assert patch(client, location, 0, body[:100_000]).status_code == 204
    lifetime = dt.timedelta(hours=app.config["PAICHA_UPLOAD_LIFETIME_HOURS"])
    monkeypatch.setattr(clock, "now", lambda: start + lifetime - dt.timedelta(minutes=1))
    assert offset_of(client, location) == 100_000
    monkeypatch.setattr(clock, "now", lambda: start + lifetime + dt.timedelta(minutes=1))
    assert client.head(location, headers={**CADRE, **TUS}).status_code == 404
    begin(client, dispute(), body, content_type)  # a new upload sweeps the expired ones away
    assert pieces_left(app, location) == 0


@pytest.mark.parametrize("headers, status, says", [
    ({"Tus-Resumable": "0.2.2", "Upload-Length": "10"}, 412, "1.0.0"),
    ({"Upload-Length": "10"}, 412, "1.0.0"),
    ({**TUS}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "-5"}, 400, "Upload-Length"),
    ({**TUS, "Upload-Defer-Length": "1"}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": "doc_id !!!"}, 400, "base64"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": metadata(doc_id="x")}, 400, "content_type"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": metadata(doc_id="x", content_type="image/jpeg")},
     400, "multipart/related"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": metadata(doc_id="_local/x",
                                                                content_type="multipart/related; boundary=b")},
     400, "_local"),
])
def test_a_malformed_beginning_is_a_4xx_that_says_why(client, headers, status, says):
    r = client.post(f"{DB}/_uploads", headers={**CADRE, **headers})
    assert r.status_code == status, r.data
    assert says in r.json["reason"]
    if status == 412:
        assert r.headers["Tus-Version"] == "1.0.0"


def test_a_patch_must_say_its_type_and_offset(client):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    location = begin(client, doc, body, content_type)
    r = client.patch(location, data=body[:10], headers={**CADRE, **TUS, "Upload-Offset": "0",
                                                         "Content-Type": "application/octet-stream"})
    assert r.status_code == 415 and "offset+octet-stream" in r.json["reason"]
    r = client.patch(location, data=body[:10], headers={**CADRE, **TUS,
                                                         "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 400 and "Upload-Offset" in r.json["reason"]
    r = patch(client, location, 0, body + b"more")
    assert r.status_code == 400 and "bytes long" in r.json["reason"]
    assert offset_of(client, location) == 0


def test_a_revision_already_held_completes_without_a_second_write(client):
    doc = dispute()
    content_type, body = multipart_revision(doc, {"photo.jpg": PHOTO})
    for _ in range(2):
        location = begin(client, doc, body, content_type)
        assert patch(client, location, 0, body).status_code == 204
    assert_written(client, doc)
    changes = client.get(f"{DB}/_changes", headers=CADRE).json["results"]
    assert sum(1 for c in changes if c["id"] == doc["_id"]) == 1
