"""An administrator works the quarantine in real headless Chromium, on refusals that came from a real
phone: the list (Chinese, then English), one entry, a correction in the page's editor that is still
refused (the reason is shown), then one that is accepted, and a discard with its reason. Screenshots
go to tests/artifacts/quarantine-browser/."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from support import ARTIFACTS_DIR
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("node_installed"),
              pytest.mark.skipif(REFERENCE_RUN, reason="the quarantine pages are Paicha's own")]

DB = "paicha"
PW = "demo-password"
VILLAGE = "990101001001"
SHOTS = ARTIFACTS_DIR / "quarantine-browser"


@pytest.fixture(scope="module")
def demo(stores):
    srv = ServerProcess(stores.new("sqlite", "demo"), name="quarantine-browser", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def _dispute(**extra) -> dict:
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")
    return {"_id": f"dispute-{uuid.uuid4().hex[:10]}", "type": "dispute", "area": VILLAGE, "created_by": "demo-village",
            "created_at": now, "summary": "（测试）宅基地界址纠纷", "parties": [{"name": "王五", "role": "applicant"}],
            "category": "homestead", "risk_level": "medium", "status": "registered", **extra}


def test_an_administrator_works_the_quarantine(demo, device_factory, browser):
    remote = f"{demo.url}/{DB}"
    cadre = device_factory("demo-village", auth={"username": "demo-village", "password": PW})
    wrong_level, neighbours, duplicate = _dispute(), _dispute(), _dispute()
    cadre.put(wrong_level, neighbours, duplicate)
    cadre.push(remote)
    docs = cadre.docs()
    cadre.put({**docs[wrong_level["_id"]], "risk_level": "extreme", "summary": "（测试）宅基地界址纠纷，双方已动手"},
              {**docs[neighbours["_id"]], "area": "990101001002"},
              {**docs[duplicate["_id"]], "status": "finished"})
    assert cadre.push(remote)["push"]["doc_write_failures"] == 3
    cadre.push(remote, checkpoint=False)  # sent again: counted, not listed twice

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{demo.url}/ledger/quarantine")
        assert "/ledger/login" in page.url
        page.fill("#name", "demo-admin")
        page.fill("#password", PW)
        page.click("#login")
        page.wait_for_selector("#quarantine-title")
        table = page.inner_text("#quarantine-table")
        for doc in (wrong_level, neighbours, duplicate):
            assert table.count(doc["_id"]) == 1
        assert "内容不合格式" in table and "改了区域" in table and "待处理" in table and "刘芳（示范村一）" in table
        assert "invalid_document" not in table and "held" not in table
        page.screenshot(path=SHOTS / "01-list.png", full_page=True)

        page.select_option('select[name="type"]', "dispute")
        page.fill('#quarantine-filters input[name="q"]', wrong_level["_id"])  # the header has a search box too
        page.click('#quarantine-filters button[type="submit"]')
        page.wait_for_selector("#quarantine-table")
        assert page.locator("#quarantine-table tbody tr").count() == 1
        page.click("#quarantine-table a.entry-link")
        page.wait_for_selector("#entry-title")
        assert page.inner_text("#doc-id") == wrong_level["_id"]
        assert page.inner_text("#times-received") == "2"
        assert "记录内容不符合格式要求。" in page.inner_text("#reason")
        page.screenshot(path=SHOTS / "02-entry.png", full_page=True)

        # A correction that is still wrong: the page says why, and the entry stays held.
        draft = json.loads(page.input_value("#doc-editor"))
        page.fill("#doc-editor", json.dumps({**draft, "risk_level": "very-high"}, ensure_ascii=False, indent=2))
        page.click("#readmit")
        page.wait_for_selector("#error")
        assert "仍被拒收" in page.inner_text("#error")
        assert "very-high" in page.input_value("#doc-editor")
        page.screenshot(path=SHOTS / "03-still-refused.png", full_page=True)
        page.fill("#doc-editor", json.dumps({**draft, "risk_level": "high"}, ensure_ascii=False, indent=2))
        page.click("#readmit")
        page.wait_for_selector("#message")
        assert "已重新接收" in page.inner_text("#message") and "已重新接收" in page.inner_text("#entry-status")
        page.screenshot(path=SHOTS / "04-readmitted.png", full_page=True)

        page.goto(f"{demo.url}/ledger/quarantine?q={duplicate['_id']}")
        page.click("#quarantine-table a.entry-link")
        page.wait_for_selector("#discard-form")
        page.fill("#discard-reason", "与 3 号纠纷重复，已合并")
        page.click("#discard")
        page.wait_for_selector("#decision-note")
        assert page.inner_text("#decision-note") == "与 3 号纠纷重复，已合并"
        assert "演示管理员" in page.inner_text("#decided-by")
        page.screenshot(path=SHOTS / "05-discarded.png", full_page=True)

        page.goto(f"{demo.url}/ledger/quarantine?status=all&lang=en")
        page.wait_for_selector("#quarantine-title")
        assert "Refused edits" in page.inner_text("#quarantine-title")
        assert "Re-admitted" in page.inner_text("#quarantine-table")
        page.screenshot(path=SHOTS / "06-list-en.png", full_page=True)
    finally:
        context.close()

    cadre.pull(remote)
    mine = {d["doc_id"]: d for d in cadre.docs().values() if d.get("type") == "refusal_notice"}
    assert mine[wrong_level["_id"]]["resolution"] == "readmitted"
    assert mine[duplicate["_id"]]["resolution_note"] == "与 3 号纠纷重复，已合并"
    assert mine[neighbours["_id"]]["status"] == "open" and mine[neighbours["_id"]]["area"] == VILLAGE
    assert cadre.get(wrong_level["_id"])["risk_level"] == "high"
