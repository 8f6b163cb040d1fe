"""Nothing refused is lost from sight: one quarantine entry per refused revision however often it
is sent, a refusal notice synced to the writer's area (and nowhere else), closed when a later valid
revision is accepted, and the administrator's page and commands to correct and re-admit or discard.
SQLite and PostgreSQL, on the demo district, through the CouchDB API, the ledger pages and the CLI."""
from __future__ import annotations

import base64
import html
import json
import re
import uuid

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"
VILLAGE, NEIGHBOUR, TOWNSHIP = "990101001001", "990101001002", "990101001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HASH = re.compile(r"^[0-9a-f]{64}$")
CODES = ("invalid_document", "out_of_scope", "server_owned", "role_not_allowed", "created_by_mismatch")
STATUS_CODES = ("held", "readmitted", "discarded", "superseded")


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PW}".encode()).decode(),
            "X-Paicha-Device": f"{name}-phone"}


def dispute(doc_id: str, area: str = VILLAGE, **extra) -> dict:
    return {"_id": doc_id, "type": "dispute", "area": area, "created_by": "demo-village",
            "created_at": "2026-11-20T09:00:00+08:00", "summary": "（测试）宅基地边界纠纷",
            "parties": [{"name": "张三", "role": "applicant"}], "category": "homestead",
            "risk_level": "low", "status": "registered", **extra}


def new_id(prefix: str = "q-dispute") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def replicated(doc: dict, rev: str, history: list[str]) -> dict:
    """The revision `rev` as a phone's replication sends it (its ancestors' hashes in `history`)."""
    pos, _, own = rev.partition("-")
    return {**doc, "_rev": rev, "_revisions": {"start": int(pos), "ids": [own] + history}}


def entries(app, doc_id: str) -> list:
    from server.core.models import QuarantinedDoc

    table = QuarantinedDoc.__table__
    with app.extensions["paicha_store"].engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.doc_id == doc_id).order_by(table.c.id)))


def notice_of(client, entry, who: str = "demo-admin"):
    return client.get(f"/paicha/{entry.notice_id}", headers=basic(who))


def created(client, doc: dict) -> str:
    r = client.put(f"/paicha/{doc['_id']}", json=doc, headers=basic("demo-village"))
    assert r.status_code == 201, r.json
    return r.json["rev"]


def refused_edit(client, doc_id: str) -> tuple[str, str]:
    """A cadre's dispute on the server (rev 1), then a replicated rev 2 the schema refuses."""
    first = created(client, dispute(doc_id))
    bad = "2-" + "b" * 32
    body = replicated(dispute(doc_id, risk_level="apocalyptic"), bad, [first.partition("-")[2]])
    r = client.post("/paicha/_bulk_docs", json={"docs": [body], "new_edits": False}, headers=basic("demo-village"))
    assert r.status_code == 201 and r.json[0]["error"] == "forbidden", r.json
    return first, bad


# -- the notice ---------------------------------------------------------------------------------------------

def test_a_refused_revision_is_kept_once_and_its_writer_told(app, client):
    doc_id = new_id()
    first, bad = refused_edit(client, doc_id)
    [entry] = entries(app, doc_id)
    assert (entry.status, entry.times_received, entry.reason_code, entry.rev) == ("held", 1, "invalid_document", bad)
    assert entry.account == "demo-village" and entry.device_id == "demo-village-phone" and entry.notice_state == "open"
    r = notice_of(client, entry, "demo-village")
    assert r.status_code == 200
    notice = r.json
    assert notice["_rev"].startswith("1-")
    assert notice["type"] == "refusal_notice" and notice["area"] == VILLAGE and notice["created_by"] == "server"
    assert (notice["doc_id"], notice["doc_type"], notice["sent_rev"], notice["new_edits"]) == (doc_id, "dispute", bad, False)
    assert notice["reason_code"] == "invalid_document" and notice["reason"] == "记录内容不符合格式要求。"
    assert "apocalyptic" in notice["reason_en"] and notice["action"] and notice["action_en"]
    assert notice["kept_rev"] == first and notice["status"] == "open" and notice["quarantine_id"] == entry.id
    assert doc_id in notice["message"] and "未被服务器接收" in notice["message"]
    assert HASH.match(notice["body_hash"]) and notice["account"] == "demo-village"
    assert "parent_rev" not in notice
    # In the cadre's feed; never in the neighbour village's; the township above sees its villages.
    feed = client.get("/paicha/_changes?include_docs=true", headers=basic("demo-village")).json["results"]
    assert entry.notice_id in {row["id"] for row in feed}
    assert notice_of(client, entry, "demo-village2").status_code == 404
    assert entry.notice_id not in {row["id"] for row in client.get(
        "/paicha/_changes", headers=basic("demo-village2")).json["results"]}
    assert notice_of(client, entry, "demo-township").status_code == 200

    # PouchDB sends it again (a lost checkpoint, a second phone): one entry, counted; one notice, unchanged.
    body = replicated(dispute(doc_id, risk_level="apocalyptic"), bad, [first.partition("-")[2]])
    for _ in range(2):
        r = client.post("/paicha/_bulk_docs", json={"docs": [body], "new_edits": False}, headers=basic("demo-village"))
        assert r.json[0]["error"] == "forbidden"
    [entry] = entries(app, doc_id)
    assert entry.times_received == 3 and entry.last_received_at >= entry.received_at
    assert notice_of(client, entry).json["_rev"] == notice["_rev"]

    # The cadre fixes it on the phone: rev 3 on top of the refused rev 2 is accepted.
    good = "3-" + "c" * 32
    fixed = replicated(dispute(doc_id, risk_level="medium"), good, ["b" * 32, first.partition("-")[2]])
    r = client.post("/paicha/_bulk_docs", json={"docs": [fixed], "new_edits": False}, headers=basic("demo-village"))
    assert r.status_code == 201 and r.json == []
    [entry] = entries(app, doc_id)
    assert entry.status == "superseded" and entry.resolved_by == "demo-village"
    resolved = notice_of(client, entry, "demo-village").json
    assert resolved["_rev"].startswith("2-") and resolved["status"] == "resolved"
    assert resolved["resolution"] == "superseded" and resolved["resolved_rev"] == good == resolved["kept_rev"]
    assert resolved["resolved_by"] == "demo-village" and resolved["resolved_at"] and resolved["created_at"] == notice["created_at"]


def test_a_direct_edit_outside_the_scope_is_told_in_the_writers_own_village(app, client):
    doc_id = new_id()
    for _ in range(2):  # a thin client retrying the same refused write
        r = client.put(f"/paicha/{doc_id}", json=dispute(doc_id, area=NEIGHBOUR), headers=basic("demo-village"))
        assert r.status_code == 403
    [entry] = entries(app, doc_id)
    assert entry.times_received == 2 and entry.new_edits and entry.rev is None and entry.reason_code == "out_of_scope"
    notice = notice_of(client, entry, "demo-village").json
    assert notice["area"] == VILLAGE and notice["new_edits"] is True and "sent_rev" not in notice
    assert "parent_rev" not in notice and "kept_rev" not in notice and NEIGHBOUR in notice["reason_en"]
    assert notice["reason"] == "该记录所属区域不在您的辖区内。"
    assert notice_of(client, entry, "demo-village2").status_code == 404  # never outside the writer's scope
    # Other contents of the same edit are another refused revision.
    client.put(f"/paicha/{doc_id}", json=dispute(doc_id, area=NEIGHBOUR, summary="（测试）另一版"),
               headers=basic("demo-village"))
    assert len(entries(app, doc_id)) == 2


def test_a_direct_edit_refused_names_the_revision_it_edited(app, client):
    doc_id = new_id()
    first = created(client, dispute(doc_id))
    r = client.put(f"/paicha/{doc_id}", json={**dispute(doc_id, created_by="someone-else"), "_rev": first},
                   headers=basic("demo-village"))
    assert r.status_code == 403
    [entry] = entries(app, doc_id)
    notice = notice_of(client, entry, "demo-village").json
    assert notice["parent_rev"] == first == notice["kept_rev"] and notice["reason_code"] == "immutable_field"
    assert notice["reason"] == "记录保存后，登记人、登记时间和走访人不能更改。"


def test_no_phone_user_writes_refusal_notices(app, client):
    doc_id = new_id()
    refused_edit(client, doc_id)
    [entry] = entries(app, doc_id)
    notice = notice_of(client, entry, "demo-village").json
    for who in ("demo-village", "demo-township", "demo-district"):
        r = client.put(f"/paicha/{entry.notice_id}", json={**notice, "status": "resolved", "resolution": "superseded",
                                                           "resolved_at": notice["created_at"]}, headers=basic(who))
        assert r.status_code == 403, who
        forged = {**notice, "_id": new_id("refusal"), "area": VILLAGE}
        forged.pop("_rev")
        r = client.put(f"/paicha/{forged['_id']}", json=forged, headers=basic(who))
        assert r.status_code == 403, who
        assert "server" in r.json["reason"]
    assert notice_of(client, entry).json["_rev"] == notice["_rev"]


def test_supervisors_refusals_are_kept_but_not_sent_to_phones(app, client):
    doc_id = new_id()
    r = client.put(f"/paicha/{doc_id}", json=dispute(doc_id, created_by="demo-district"), headers=basic("demo-district"))
    assert r.status_code == 201  # the district's office registers matters ...
    edit = {**dispute(doc_id, created_by="demo-district"), "_rev": r.json["rev"], "status": "mediating"}
    r = client.put(f"/paicha/{doc_id}", json=edit, headers=basic("demo-district"))
    assert r.status_code == 403  # ... and never edits one
    [entry] = entries(app, doc_id)
    assert entry.reason_code == "operation_not_allowed" and entry.notice_state == "none" and entry.notice_id is None


# -- the administrator's pages ------------------------------------------------------------------------------

def csrf(client, path="/ledger/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.text).group(1)


def login(client, name: str) -> None:
    r = client.post("/ledger/login", data={"name": name, "password": PW, "csrf_token": csrf(client)})
    assert r.status_code == 302, (r.status_code, r.text[:300])


def visible(page: str) -> str:
    """The text a reader sees: no tags, no attribute values, the document's JSON left out."""
    page = re.sub(r'<pre class="json".*?</pre>|<textarea.*?</textarea>|<details.*?</details>', " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def admin(app):
    client = app.test_client()
    login(client, "demo-admin")
    return client


def entry_id(app, doc_id: str) -> int:
    [entry] = entries(app, doc_id)
    return entry.id


def test_the_list_filters_and_pages_in_chinese(app, client, admin):
    doc_id = new_id("q-list")
    refused_edit(client, doc_id)
    other = new_id("q-list")
    client.put(f"/paicha/{other}", json=dispute(other, area=NEIGHBOUR), headers=basic("demo-village"))
    page = admin.get("/ledger/quarantine")
    assert page.status_code == 200
    text = visible(page.text)
    assert "被拒收的修改" in text and doc_id in text and other in text
    assert "内容不合格式" in text and "超出辖区" in text and "待处理" in text and "矛盾纠纷" in text
    assert "刘芳（示范村一）" in text and "拒收记录" in text
    for code in CODES + STATUS_CODES:
        assert code not in text, code
    assert doc_id in visible(admin.get(f"/ledger/quarantine?q={doc_id[-6:]}").text)
    assert other not in visible(admin.get(f"/ledger/quarantine?q={doc_id[-6:]}").text)
    assert other not in visible(admin.get("/ledger/quarantine?type=screening_report").text)
    assert doc_id in visible(admin.get("/ledger/quarantine?account=demo-village&type=dispute").text)
    assert doc_id not in visible(admin.get("/ledger/quarantine?account=demo-village2").text)
    assert doc_id not in visible(admin.get("/ledger/quarantine?since=2020-01-01&until=2020-01-31").text)
    assert doc_id in visible(admin.get("/ledger/quarantine?status=all&since=2020-01-01").text)
    assert doc_id not in visible(admin.get("/ledger/quarantine?status=discarded").text)
    assert admin.get("/ledger/quarantine?status=bogus").status_code == 400
    assert admin.get("/ledger/quarantine?since=2026-02-30").status_code == 400
    saved = app.config["PAICHA_LEDGER_PAGE_SIZE"]
    app.config["PAICHA_LEDGER_PAGE_SIZE"] = 1
    try:
        first, second = (visible(admin.get(f"/ledger/quarantine?q=q-list-&page={n}").text) for n in (1, 2))
    finally:
        app.config["PAICHA_LEDGER_PAGE_SIZE"] = saved
    assert (other in first) != (other in second) and (doc_id in first) != (doc_id in second)
    english = admin.get("/ledger/quarantine?lang=en").text
    assert "Refused edits" in english and "Invalid content" in english and "Held" in english


def test_the_list_sorts_by_a_heading_with_the_number_breaking_ties(app, client, admin):
    for _ in range(2):
        refused_edit(client, new_id("q-sort"))
    numbers = lambda url: [int(n) for n in re.findall(r'<tr data-entry="(\d+)"', admin.get(url).text)]
    ascending = numbers("/ledger/quarantine?status=all&sort=id&dir=asc")
    assert len(ascending) >= 2 and ascending == sorted(ascending)
    by_account = admin.get("/ledger/quarantine?status=all&sort=account&dir=desc&q=q-sort")
    assert by_account.status_code == 200 and 'aria-sort="descending"' in by_account.text
    same = numbers("/ledger/quarantine?status=all&sort=account&dir=desc&q=q-sort")  # one account: by number
    assert len(same) >= 2 and same == sorted(same, reverse=True)
    r = admin.get("/ledger/quarantine?sort=payload")
    assert r.status_code == 400 and "此列表不能按" in r.text


def test_the_entry_page_shows_the_document_and_who_sent_it(app, client, admin):
    doc_id = new_id()
    first, bad = refused_edit(client, doc_id)
    page = admin.get(f"/ledger/quarantine/{entry_id(app, doc_id)}")
    assert page.status_code == 200
    text = visible(page.text)
    assert doc_id in text and "demo-village-phone" in text and "记录内容不符合格式要求。" in text
    assert "刘芳（示范村一）" in text and f"手机同步上传的版本 {bad}" in text and first in text
    assert "接收次数" in text and "示范村一" in text
    assert "&#34;risk_level&#34;: &#34;apocalyptic&#34;" in page.text or '"risk_level": "apocalyptic"' in html.unescape(page.text)
    for code in CODES + STATUS_CODES:
        assert code not in text, code
    assert admin.get("/ledger/quarantine/99999999").status_code == 404


def test_correct_in_place_and_readmit(app, client, admin):
    doc_id = new_id()
    first, bad = refused_edit(client, doc_id)
    number = entry_id(app, doc_id)
    path = f"/ledger/quarantine/{number}"
    token = csrf(admin, path)
    # Still refused: shown with why, still held, still one entry.
    still = dispute(doc_id, risk_level="catastrophic")
    r = admin.post(f"{path}/readmit", data={"csrf_token": token, "doc": json.dumps(still)})
    assert r.status_code == 422 and "仍被拒收" in r.text and "记录内容不符合格式要求" in r.text
    assert "catastrophic" in r.text  # the administrator's draft is kept in the form
    [entry] = entries(app, doc_id)
    assert entry.status == "held"
    r = admin.post(f"{path}/readmit", data={"csrf_token": token, "doc": "{not json"})
    assert r.status_code == 422 and "不是有效的 JSON" in r.text
    r = admin.post(f"{path}/readmit", data={"csrf_token": token, "doc": json.dumps(dispute("another-id"))})
    assert r.status_code == 422 and "不能修改记录编号" in r.text
    # Corrected: written as the revision after the refused one, so the phone's branch continues.
    fixed = dispute(doc_id, risk_level="high", summary="（测试）管理员更正后的纠纷")
    r = admin.post(f"{path}/readmit", data={"csrf_token": token, "doc": json.dumps(fixed, ensure_ascii=False)})
    assert r.status_code == 302, r.text[:500]
    [entry] = entries(app, doc_id)
    assert entry.status == "readmitted" and entry.resolved_by == "demo-admin" and entry.resolved_rev.startswith("3-")
    doc = client.get(f"/paicha/{doc_id}?revs=true", headers=basic("demo-village")).json
    assert doc["_rev"] == entry.resolved_rev and doc["summary"] == "（测试）管理员更正后的纠纷"
    assert doc["_revisions"]["ids"][1:] == ["b" * 32, first.partition("-")[2]]
    notice = notice_of(client, entry, "demo-village").json
    assert (notice["status"], notice["resolution"], notice["resolved_rev"]) == ("resolved", "readmitted", entry.resolved_rev)
    assert notice["resolved_by"] == "demo-admin"
    page = admin.get(r.headers["Location"])
    assert "已重新接收" in page.text and entry.resolved_rev in page.text
    assert admin.post(f"{path}/readmit", data={"csrf_token": token}).status_code == 409  # decided already


def test_readmit_as_sent_after_the_rule_is_satisfied(app, client, admin):
    doc_id = new_id()
    r = client.put(f"/paicha/{doc_id}", json=dispute(doc_id, area=NEIGHBOUR), headers=basic("demo-village"))
    assert r.status_code == 403
    path = f"/ledger/quarantine/{entry_id(app, doc_id)}"
    r = admin.post(f"{path}/readmit", data={"csrf_token": csrf(admin, path)})  # no draft: as sent
    assert r.status_code == 302
    [entry] = entries(app, doc_id)
    assert entry.status == "readmitted"
    assert client.get(f"/paicha/{doc_id}", headers=basic("demo-village2")).json["area"] == NEIGHBOUR


def test_discard_needs_a_reason_and_keeps_it(app, client, admin):
    doc_id = new_id()
    refused_edit(client, doc_id)
    number = entry_id(app, doc_id)
    path = f"/ledger/quarantine/{number}"
    token = csrf(admin, path)
    r = admin.post(f"{path}/discard", data={"csrf_token": token, "reason": "   "})
    assert r.status_code == 422 and "请填写作废原因" in r.text
    assert entries(app, doc_id)[0].status == "held"
    r = admin.post(f"{path}/discard", data={"csrf_token": token, "reason": "重复登记，以 3 号纠纷为准"})
    assert r.status_code == 302
    [entry] = entries(app, doc_id)
    assert (entry.status, entry.resolved_by, entry.note) == ("discarded", "demo-admin", "重复登记，以 3 号纠纷为准")
    assert entry.resolved_at is not None
    text = visible(admin.get(path).text)
    assert "已作废" in text and "重复登记，以 3 号纠纷为准" in text and "演示管理员" in text
    notice = notice_of(client, entry, "demo-village").json
    assert (notice["status"], notice["resolution"], notice["resolution_note"]) == ("resolved", "discarded",
                                                                                  "重复登记，以 3 号纠纷为准")
    assert "作废" in notice["message"]


@pytest.mark.parametrize("who", ["demo-township", "demo-district"])
def test_everyone_but_administrators_gets_403(app, client, who):
    doc_id = new_id()
    refused_edit(client, doc_id)
    number = entry_id(app, doc_id)
    browser = app.test_client()
    login(browser, who)
    token = csrf(browser, "/ledger/")
    assert "拒收记录" not in browser.get("/ledger/").text
    for path in ("/ledger/quarantine", "/ledger/quarantine?status=all", f"/ledger/quarantine/{number}"):
        assert browser.get(path).status_code == 403, path
    assert browser.post(f"/ledger/quarantine/{number}/readmit", data={"csrf_token": token}).status_code == 403
    assert browser.post(f"/ledger/quarantine/{number}/discard",
                        data={"csrf_token": token, "reason": "x"}).status_code == 403
    # A phone's Basic credentials do not open it either.
    assert client.get("/ledger/quarantine", headers=basic("demo-village")).status_code == 403
    assert entries(app, doc_id)[0].status == "held"


def test_posts_without_the_csrf_token_are_refused(app, client, admin):
    doc_id = new_id()
    refused_edit(client, doc_id)
    number = entry_id(app, doc_id)
    admin.get(f"/ledger/quarantine/{number}")
    assert admin.post(f"/ledger/quarantine/{number}/discard", data={"reason": "x"}).status_code == 400
    assert admin.post(f"/ledger/quarantine/{number}/readmit", data={"csrf_token": "forged"}).status_code == 400
    assert entries(app, doc_id)[0].status == "held"


# -- the command line ---------------------------------------------------------------------------------------

def test_cli_discards_with_a_reason_and_readmits_a_corrected_file(app, client, runner, tmp_path):
    doc_id, other = new_id(), new_id()
    refused_edit(client, doc_id)
    refused_edit(client, other)
    first = entry_id(app, doc_id)
    assert runner.invoke(args=["quarantine", "discard", str(first), "--as", "demo-admin"]).exit_code != 0
    done = runner.invoke(args=["quarantine", "discard", str(first), "--as", "demo-admin", "--reason", "测试数据"])
    assert done.exit_code == 0, done.output
    assert entries(app, doc_id)[0].note == "测试数据"
    shown = runner.invoke(args=["quarantine", "show", str(first)]).output
    assert "discarded by demo-admin" in shown and "测试数据" in shown
    assert runner.invoke(args=["quarantine", "discard", str(first), "--as", "demo-village", "--reason", "x"]).exit_code != 0
    corrected = tmp_path / "fixed.json"
    corrected.write_text(json.dumps(dispute(other, risk_level="key"), ensure_ascii=False), encoding="utf-8")
    second = entry_id(app, other)
    done = runner.invoke(args=["quarantine", "readmit", str(second), "--as", "demo-admin", "--file", str(corrected)])
    assert done.exit_code == 0, done.output
    assert "corrected" in done.output
    assert client.get(f"/paicha/{other}", headers=basic("demo-village")).json["risk_level"] == "key"
    listing = runner.invoke(args=["quarantine", "list", "--status", "all"]).output
    assert f"#{second}\t" in listing and "readmitted" in listing
