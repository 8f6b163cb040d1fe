"""The field app's photo path, end to end: a real PouchDB phone (a village cadre) pushes its small
documents by replication, then sends the photo's revision over tus (tus-js-client) through a link
that is cut in the middle of the photo; the upload resumes from what the server received, the
attachment arrives byte for byte as the phone's own revision, and plain replication afterwards has
nothing left to send or fetch back. A refused photo is refused with its reason, nothing kept."""
from __future__ import annotations

import base64
import uuid

import pytest

from bench.weaklink import Cut, LinkProfile, SimulatedLink
from support.checks import b64, md5_digest, random_bytes
from support.device import DeviceError
from support.http import Couch
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = pytest.mark.skipif(REFERENCE_RUN, reason="resumable uploads are Paicha's own")

DB = "paicha"
VILLAGE, OTHER_VILLAGE = "990101001001", "990101001002"
CADRE = {"username": "demo-village", "password": "demo-password"}
PHOTO = random_bytes(200 * 1024, seed=b"field-photo")
# Fast enough for a test, slow enough that a cut lands in the middle of the photo.
LINK = LinkProfile(up_bandwidth=400_000, down_bandwidth=400_000, delay_s=0.005)


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"resumable-photo-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def dispute(area: str = VILLAGE, with_photo: bool = True) -> dict:
    doc = {"_id": f"dispute-{uuid.uuid4()}", "type": "dispute", "area": area, "created_by": "demo-village",
           "created_at": "2026-12-01T09:20:00+08:00", "summary": "两家因宅基地界墙位置发生争执，需村调委调解。",
           "parties": [{"name": "王建国", "role": "applicant"}], "category": "homestead", "risk_level": "medium",
           "status": "registered"}
    if with_photo:
        doc["_attachments"] = {"photo.jpg": {"content_type": "image/jpeg", "data": b64(PHOTO)}}
    return doc


def uploads_request(exchange) -> bool:
    return exchange.method in ("PATCH", "POST") and "/_uploads" in exchange.path


def server_attachment(demo, doc_id: str) -> bytes:
    admin = Couch(demo.url, demo.auth)
    r = admin.get(f"{DB}/{doc_id}/photo.jpg")
    assert r.status_code == 200, r.text[:300]
    return r.content


@pytest.mark.parametrize("cut_after", [20_000, 120_000, 200_000])
def test_a_round_with_a_photo_cut_mid_way_resumes_and_arrives_whole(demo, device_factory, cut_after):
    phone = device_factory("cadre", auth=CADRE)
    small = [dispute(with_photo=False) for _ in range(4)]
    photo_doc = dispute()
    phone.put(*small, photo_doc)
    with SimulatedLink(demo.url, LINK) as link:
        remote = f"{link.url}/{DB}"
        # The small documents first, by replication: safe on the server before the photo starts.
        pushed = phone.push(remote, doc_ids=[d["_id"] for d in small])
        assert pushed["push"]["docs_written"] == 4
        link.plan(Cut(outage_s=1.0, after_bytes_up=cut_after, armed_by=uploads_request))
        before = link.counters()["bytes_up"]
        sent = phone.upload_revision(remote, photo_doc["_id"], retry_delays=[200, 500, 1000, 2000])
        uploaded = link.counters()["bytes_up"] - before
        assert len(link.counters()["cuts"]) == 1, "the link was cut in the middle of the photo"
    assert sent["ok"] and not sent["already_held"] and sent["follows"] == ["photo.jpg"]
    assert sent["retries"] >= 1
    # Resumed, not restarted: what crossed the link is the body once and the requests' heads (about
    # 4 KB); a restart would send again everything before the cut (20 KB or more).
    assert uploaded < sent["body_bytes"] + 12_000, (uploaded, sent["body_bytes"])
    assert server_attachment(demo, photo_doc["_id"]) == PHOTO
    local = phone.get(photo_doc["_id"])
    server_doc = Couch(demo.url, demo.auth).get(f"{DB}/{photo_doc['_id']}").json()
    assert server_doc["_rev"] == local["_rev"]
    assert server_doc["_attachments"]["photo.jpg"]["digest"] == md5_digest(PHOTO)
    # Plain replication afterwards: nothing to send, and the photo is not fetched back (the village's
    # other documents, other tests' photos among them, are another matter: this phone pulls only its own).
    with SimulatedLink(demo.url, LINK) as link:
        assert phone.push(f"{link.url}/{DB}")["push"]["docs_written"] == 0
        pulled = phone.pull(f"{link.url}/{DB}", doc_ids=[photo_doc["_id"]])
        assert pulled["pull"]["docs_written"] == 0
        assert link.counters()["bytes_down"] < len(PHOTO) // 4


def test_a_second_upload_of_a_held_revision_sends_nothing(demo, device_factory):
    phone = device_factory("cadre", auth=CADRE)
    doc = dispute()
    phone.put(doc)
    remote = f"{demo.url}/{DB}"
    assert phone.upload_revision(remote, doc["_id"])["already_held"] is False
    again = phone.upload_revision(remote, doc["_id"])
    assert again["already_held"] is True and again["body_bytes"] == 0


def test_a_new_photo_on_a_held_document_sends_only_the_new_bytes(demo, device_factory):
    phone = device_factory("cadre", auth=CADRE)
    doc = dispute()
    phone.put(doc)
    remote = f"{demo.url}/{DB}"
    phone.upload_revision(remote, doc["_id"])
    second = random_bytes(50 * 1024, seed=b"second-photo")
    edited = phone.get(doc["_id"])
    edited["_attachments"]["second.jpg"] = {"content_type": "image/jpeg", "data": b64(second)}
    edited["status"] = "mediating"
    phone.put(edited)
    sent = phone.upload_revision(remote, doc["_id"])
    assert sent["follows"] == ["second.jpg"] and sent["body_bytes"] < len(second) + 4096
    admin = Couch(demo.url, demo.auth)
    stored = admin.get(f"{DB}/{doc['_id']}").json()
    assert stored["status"] == "mediating" and stored["_rev"] == phone.get(doc["_id"])["_rev"]
    assert admin.get(f"{DB}/{doc['_id']}/photo.jpg").content == PHOTO
    assert admin.get(f"{DB}/{doc['_id']}/second.jpg").content == second


def test_a_photo_outside_the_cadres_village_is_refused_with_its_reason(demo, device_factory):
    phone = device_factory("cadre", auth=CADRE)
    doc = dispute(area=OTHER_VILLAGE)
    phone.put(doc)
    with pytest.raises(DeviceError) as refused:
        phone.upload_revision(f"{demo.url}/{DB}", doc["_id"], retry_delays=[100])
    payload = refused.value.payload
    assert payload["status"] == 403 and payload["error"] == "forbidden"
    assert OTHER_VILLAGE in payload["reason"] and "outside your area" in payload["reason"]
    admin = Couch(demo.url, demo.auth)
    assert admin.get(f"{DB}/{doc['_id']}").status_code == 404


def test_a_stranger_cannot_touch_an_upload(demo):
    cadre = {"Authorization": "Basic " + base64.b64encode(b"demo-village:demo-password").decode(),
             "Tus-Resumable": "1.0.0"}
    other = {**cadre, "Authorization": "Basic " + base64.b64encode(b"demo-village2:demo-password").decode()}
    couch = Couch(demo.url, None)
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"doc_id": "dispute-x", "content_type": 'multipart/related; boundary="b"'}.items())
    r = couch.post(f"{DB}/_uploads", headers={**cadre, "Upload-Length": "100", "Upload-Metadata": meta})
    assert r.status_code == 201
    location = r.headers["Location"]
    assert couch.request("HEAD", location.lstrip("/"), headers=other).status_code == 404
    assert couch.request("PATCH", location.lstrip("/"), data=b"x" * 10, headers={
        **other, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}).status_code == 404
    r = couch.request("HEAD", location.lstrip("/"), headers=cadre)
    assert r.status_code == 200 and r.headers["Upload-Offset"] == "0"


def test_a_rounds_small_documents_go_in_one_request_and_replication_then_has_nothing_to_send(demo, device_factory):
    phone = device_factory("cadre", auth=CADRE)
    small = [dispute(with_photo=False) for _ in range(4)]
    stray = dispute(area=OTHER_VILLAGE, with_photo=False)
    phone.put(*small, stray)
    with SimulatedLink(demo.url, LINK) as link:
        sent = phone.send_revisions(f"{link.url}/{DB}", [d["_id"] for d in [*small, stray]])
        assert link.counters()["requests"] == 1
    assert sent["written"] == 4 and [r["id"] for r in sent["refused"]] == [stray["_id"]]
    assert sent["refused"][0]["error"] == "forbidden"
    admin = Couch(demo.url, demo.auth)
    for doc in small:
        assert admin.get(f"{DB}/{doc['_id']}").json()["_rev"] == phone.get(doc["_id"])["_rev"]
    pushed = phone.push(f"{demo.url}/{DB}", doc_ids=[d["_id"] for d in small])
    assert pushed["push"]["docs_written"] == 0 and pushed["push"]["doc_write_failures"] == 0
