"""Nothing refused is lost from sight, with real phones: a village cadre's PouchDB pushes an edit the
server refuses; the same phone pulls the refusal notice (the neighbour village's phone does not); a
re-send keeps one quarantine entry and one notice; a later valid edit resolves the notice. An
administrator corrects and re-admits a refused edit in the browser pages, and the phone pulls the
correction as the next revision of its own branch; a discarded one is told with its reason."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
import requests

from support.cli import flask_cli as run_flask
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = pytest.mark.skipif(REFERENCE_RUN, reason="the quarantine and its notices are Paicha's own")

DB = "paicha"
PW = "demo-password"
VILLAGE = "990101001001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def demo(store_kind, stores):
    srv = ServerProcess(stores.new(store_kind, "demo"), name=f"quarantine-phone-{store_kind}", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def phone(device_factory, name: str):
    return device_factory(name, auth={"username": name, "password": PW})


def flask_cli(srv, *args) -> str:
    out = run_flask(srv.database_url, *args, env={"PAICHA_SCHEDULER": "off"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def _now() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")


def new_dispute() -> dict:
    return {"_id": f"dispute-{uuid.uuid4().hex[:10]}", "type": "dispute", "area": VILLAGE, "created_by": "demo-village",
            "created_at": _now(), "summary": "（测试）邻里排水纠纷", "parties": [{"name": "李四", "role": "applicant"}],
            "category": "neighbourhood", "risk_level": "low", "status": "registered"}


def notices_for(device, doc_id: str) -> list[dict]:
    return [d for d in device.docs().values() if d.get("type") == "refusal_notice" and d.get("doc_id") == doc_id]


def edit_on_phone(device, doc_id: str, **changes) -> str:
    doc = device.get(doc_id)
    [result] = device.put({**doc, **changes})
    return result["rev"]


def entry_line(srv, doc_id: str) -> str:
    lines = [line for line in flask_cli(srv, "quarantine", "list", "--status", "all").splitlines() if f"\t{doc_id}\t" in line]
    assert len(lines) == 1, lines  # one entry per refused revision
    return lines[0]


def test_the_cadre_is_told_once_and_the_notice_closes_with_a_valid_edit(demo, device_factory):
    remote = f"{demo.url}/{DB}"
    cadre, neighbour = phone(device_factory, "demo-village"), phone(device_factory, "demo-village2")
    doc = new_dispute()
    cadre.put(doc)
    assert cadre.push(remote)["push"]["docs_written"] == 1
    kept = cadre.get(doc["_id"])["_rev"]
    refused_rev = edit_on_phone(cadre, doc["_id"], risk_level="apocalyptic")
    pushed = cadre.push(remote)["push"]
    assert pushed["doc_write_failures"] == 1

    cadre.pull(remote)
    [notice] = notices_for(cadre, doc["_id"])
    assert notice["area"] == VILLAGE and notice["account"] == "demo-village" and notice["status"] == "open"
    assert notice["sent_rev"] == refused_rev and notice["kept_rev"] == kept and notice["new_edits"] is False
    assert notice["reason_code"] == "invalid_document" and notice["reason"] == "记录内容不符合格式要求。"
    assert "apocalyptic" in notice["reason_en"] and notice["action"] and doc["_id"] in notice["message"]
    assert cadre.get(doc["_id"])["_rev"] == refused_rev  # the phone still holds its own revision

    neighbour.pull(remote)
    assert not [d for d in neighbour.docs().values() if d.get("type") == "refusal_notice"]

    # The phone sends the same revision again (a checkpoint lost): still one entry, counted, one notice.
    again = cadre.push(remote, checkpoint=False)["push"]
    assert again["doc_write_failures"] == 1
    number = entry_line(demo, doc["_id"]).split("\t")[0].lstrip("#")
    assert "received 2 time(s)" in flask_cli(demo, "quarantine", "show", number)
    cadre.pull(remote)
    [same] = notices_for(cadre, doc["_id"])
    assert same["_rev"] == notice["_rev"]

    # The cadre corrects it on the phone: the next revision of the same branch is accepted.
    fixed_rev = edit_on_phone(cadre, doc["_id"], risk_level="medium")
    pushed = cadre.push(remote)["push"]
    assert (pushed["docs_written"], pushed["doc_write_failures"]) == (1, 0)
    cadre.pull(remote)
    [resolved] = notices_for(cadre, doc["_id"])
    assert (resolved["status"], resolved["resolution"], resolved["resolved_rev"]) == ("resolved", "superseded", fixed_rev)
    assert "\tsuperseded\t" in entry_line(demo, doc["_id"])
    neighbour.pull(remote)
    assert not [d for d in neighbour.docs().values() if d.get("type") == "refusal_notice"]


class Browser:
    """The administrator's browser on the ledger pages (cookies, CSRF tokens from the forms)."""

    def __init__(self, base: str, name: str):
        self.base = base
        self.session = requests.Session()
        token = self.token("/ledger/login")
        r = self.session.post(f"{base}/ledger/login", data={"name": name, "password": PW, "csrf_token": token},
                              allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text[:300]

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, timeout=30)

    def token(self, path: str) -> str:
        return CSRF.search(self.get(path).text).group(1)

    def post(self, path: str, data: dict, form: str) -> requests.Response:
        return self.session.post(self.base + path, data={"csrf_token": self.token(form), **data},
                                 allow_redirects=False, timeout=30)

    def entry_of(self, doc_id: str) -> str:
        page = self.get(f"/ledger/quarantine?q={doc_id}").text
        [number] = set(re.findall(r'href="/ledger/quarantine/(\d+)"', page))
        return f"/ledger/quarantine/{number}"


def test_an_administrator_corrects_or_discards_and_the_phone_follows(demo, device_factory):
    remote = f"{demo.url}/{DB}"
    cadre = phone(device_factory, "demo-village")
    fixable, dropped = new_dispute(), new_dispute()
    cadre.put(fixable, dropped)
    cadre.push(remote)
    refused_rev = edit_on_phone(cadre, fixable["_id"], risk_level="extreme", summary="（测试）排水沟堵塞，双方争执")
    edit_on_phone(cadre, dropped["_id"], status="unknown-status")
    assert cadre.push(remote)["push"]["doc_write_failures"] == 2

    # Not for township staff.
    township = Browser(demo.url, "demo-township")
    assert township.get("/ledger/quarantine").status_code == 403

    admin = Browser(demo.url, "demo-admin")
    path = admin.entry_of(fixable["_id"])
    page = admin.get(path)
    assert page.status_code == 200 and "记录内容不符合格式要求。" in page.text and refused_rev in page.text
    draft = json.loads(re.search(r'<textarea name="doc"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
                       .replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    assert draft["risk_level"] == "extreme" and "_rev" not in draft
    r = admin.post(f"{path}/readmit", {"doc": json.dumps({**draft, "risk_level": "high"}, ensure_ascii=False)}, path)
    assert r.status_code == 302, r.text[:500]
    assert "已重新接收" in admin.get(r.headers["Location"]).text

    cadre.pull(remote)
    on_phone = cadre.get(fixable["_id"], conflicts=True, revs=True)
    assert on_phone["risk_level"] == "high" and on_phone["summary"] == "（测试）排水沟堵塞，双方争执"
    assert on_phone["_rev"].startswith("3-") and "_conflicts" not in on_phone
    assert on_phone["_revisions"]["ids"][1] == refused_rev.partition("-")[2]  # the phone's own branch, continued
    [notice] = notices_for(cadre, fixable["_id"])
    assert (notice["status"], notice["resolution"], notice["resolved_by"]) == ("resolved", "readmitted", "demo-admin")

    path = admin.entry_of(dropped["_id"])
    assert admin.post(f"{path}/discard", {"reason": ""}, path).status_code == 422
    r = admin.post(f"{path}/discard", {"reason": "重复登记，已合并到另一条纠纷"}, path)
    assert r.status_code == 302
    shown = admin.get(path).text
    assert "已作废" in shown and "重复登记，已合并到另一条纠纷" in shown
    cadre.pull(remote)
    [notice] = notices_for(cadre, dropped["_id"])
    assert (notice["status"], notice["resolution"]) == ("resolved", "discarded")
    assert notice["resolution_note"] == "重复登记，已合并到另一条纠纷" and "重复登记" in notice["message"]
