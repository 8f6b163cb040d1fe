"""The REST API and replication are one store: what a plain-HTTP client writes through /api/v1 reaches
real PouchDB phones by sync (photos included), and what a phone pushes shows up in /api/v1."""
from __future__ import annotations

import datetime as dt
import sys
import uuid

import pytest
import requests

from support import REPO_ROOT
from support.http import Couch
from support.server import ServerProcess

DB = "paicha"
PW = "demo-password"
VILLAGE, VILLAGE2 = "990101001001", "990101001002"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 8

# Registers the API whether or not create_app does it yet (mobile_api.init_app is idempotent).
WIRED = """
import server, mobile_api
_create_app = server.create_app
def create_app(*args, **kwargs):
    app = _create_app(*args, **kwargs)
    mobile_api.init_app(app)
    return app
server.create_app = create_app
from server.__main__ import main
main()
"""


class WiredServer(ServerProcess):
    def command(self) -> list[str]:
        python = REPO_ROOT / ".venv" / "bin" / "python"
        return [str(python if python.exists() else sys.executable), "-c", WIRED, "serve",
                "--host", "127.0.0.1", "--port", str(self.port)]


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    if store_kind == "pouchdb-server":
        pytest.skip("pouchdb-server has no /api/v1")
    srv = WiredServer(stores.new(store_kind, "demo"), name=f"mobile-api-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


class Api:
    """A plain-HTTP field app: logs in once, then sends its bearer token."""

    def __init__(self, base: str, name: str, device: str):
        self.base = base + "/api/v1"
        r = requests.post(self.base + "/auth/login", json={"name": name, "password": PW, "device_id": device},
                          timeout=30)
        assert r.status_code == 200, r.text
        self.token = r.json()
        self.headers = {"Authorization": f"Bearer {self.token['access_token']}"}

    def call(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.base + path, headers={**self.headers, **kw.pop("headers", {})},
                                timeout=30, **kw)


def _now() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")


def test_rest_writes_reach_phones_by_sync(demo, device_factory):
    app = Api(demo.url, "demo-village", "thin-client")
    me = app.call("GET", "/me").json()
    assert me["sync"]["url"] == f"{demo.url}/{DB}"
    dispute_id = f"dispute-{uuid.uuid4().hex[:10]}"
    r = app.call("POST", "/disputes", json={
        "id": dispute_id, "area": VILLAGE, "summary": "（测试）经 REST 登记的纠纷", "category": "debt",
        "parties": [{"name": "甲", "role": "applicant"}], "risk_level": "medium", "status": "registered"})
    assert r.status_code == 201, r.text
    dispute = r.json()
    visit_id = f"visit-{uuid.uuid4().hex[:10]}"
    r = app.call("POST", "/visits", json={
        "id": visit_id, "area": VILLAGE, "household_id": f"household-{VILLAGE}-002", "purpose": "screening"})
    assert r.status_code == 201, r.text
    r = app.call("PUT", f"/visits/{visit_id}/attachments/door.jpg", data=JPEG,
                 headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    visit = r.json()

    phone = device_factory("demo-village", auth={"username": "demo-village", "password": PW})
    phone.pull(f"{demo.url}/{DB}")
    on_phone = phone.docs()
    assert on_phone[dispute_id]["_rev"] == dispute["rev"]
    assert on_phone[dispute_id]["summary"] == "（测试）经 REST 登记的纠纷"
    assert on_phone[visit_id]["_rev"] == visit["rev"] and on_phone[visit_id]["photos"] == ["door.jpg"]
    photo = phone.attachment(visit_id, "door.jpg", with_data=True)
    assert photo["bytes"] == JPEG and photo["content_type"] == "image/jpeg"

    # The same token replicates too (one credential for the app); the neighbour's phone gets nothing.
    assert requests.get(f"{demo.url}/{DB}/{dispute_id}", headers=app.headers, timeout=30).status_code == 200
    neighbour = device_factory("demo-village2", auth={"username": "demo-village2", "password": PW})
    neighbour.pull(f"{demo.url}/{DB}")
    assert not {dispute_id, visit_id} & set(neighbour.docs())


def test_phone_pushes_show_up_in_the_rest_api(demo, device_factory):
    admin = Couch(demo.url, ("demo-admin", PW))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    start = today - dt.timedelta(days=2)
    round_id = f"round-village-{VILLAGE}-{start.isoformat()}-e2e"
    admin.ok_json("PUT", f"{DB}/{round_id}", json={
        "type": "screening_round", "area": VILLAGE, "created_by": "demo-admin", "created_at": _now(),
        "level": "village", "period_start": start.isoformat(), "period_end": (today + dt.timedelta(days=3)).isoformat(),
        "due_date": (today + dt.timedelta(days=3)).isoformat(), "round_key": f"village:{VILLAGE}:e2e",
        "title": "（测试）本旬排查"})
    app = Api(demo.url, "demo-village", "thin-client-2")
    assert round_id in {t["id"] for t in app.call("GET", "/tasks").json()["rounds"]}

    phone = device_factory("demo-village", auth={"username": "demo-village", "password": PW})
    dispute_id, report_id = f"dispute-{uuid.uuid4().hex[:10]}", f"report-{uuid.uuid4().hex[:10]}"
    phone.put(
        {"_id": dispute_id, "type": "dispute", "area": VILLAGE, "created_by": "demo-village", "created_at": _now(),
         "summary": "（测试）手机离线登记", "category": "land", "parties": [{"name": "乙", "role": "applicant"}],
         "risk_level": "low", "status": "registered"},
        {"_id": report_id, "type": "screening_report", "area": VILLAGE, "created_by": "demo-village",
         "created_at": _now(), "round_id": round_id, "nil_report": False, "disputes": [dispute_id],
         "submitted_at": _now()},
    )
    phone.push(f"{demo.url}/{DB}")
    local = phone.docs()

    r = app.call("GET", f"/disputes/{dispute_id}")
    assert r.status_code == 200 and r.json()["rev"] == local[dispute_id]["_rev"]
    listed = app.call("GET", "/reports", params={"limit": 200}).json()["items"]
    assert report_id in {i["id"] for i in listed}
    assert round_id not in {t["id"] for t in app.call("GET", "/tasks").json()["rounds"]}

    # The township edits the phone's dispute over REST; the phone pulls the edit.
    township = Api(demo.url, "demo-township", "township-laptop")
    edit = {k: v for k, v in r.json().items() if k not in ("id", "type")}
    edit.update(status="mediating", mediation=[{"at": _now(), "by": "镇调委会", "method": "joint",
                                                "result": "adjourned"}])
    r = township.call("PUT", f"/disputes/{dispute_id}", json=edit)
    assert r.status_code == 200, r.text
    phone.pull(f"{demo.url}/{DB}")
    assert phone.docs()[dispute_id]["_rev"] == r.json()["rev"]
    assert phone.docs()[dispute_id]["status"] == "mediating"
    # An edit from the phone's now stale copy over REST is a conflict, not a silent overwrite.
    stale = {**edit, "rev": local[dispute_id]["_rev"], "risk_level": "high"}
    r = app.call("PUT", f"/disputes/{dispute_id}", json=stale)
    assert r.status_code == 409 and r.json()["code"] == "edit_conflict"
