"""The supervision room is live: a district supervisor keeps /ledger/room open in real headless
Chromium while a village cadre's real PouchDB phone (pouchdb-node) pushes a new key dispute of twelve
people; within 2 s of the push, without a reload, the room shows it (今日新增, 在办重点事项, 在办集体
事项, in the total and in the township's cell) and raises the collective-matter alert. The server is a
subprocess with its clock frozen (PAICHA_CLOCK), on SQLite and on PostgreSQL. Screenshots go to
tests/artifacts/room-browser/.
"""
from __future__ import annotations

import datetime as dt
import time

import pytest

from support import ARTIFACTS_DIR
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("node_installed"),
              pytest.mark.skipif(REFERENCE_RUN, reason="the ledger pages are Paicha's own")]

DB = "paicha"
PW = "browser-test-pw"
DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "610402", "610402001", "610402002"
VILLAGE, OTHER_VILLAGE = "610402001001", "610402002001"
NOW = "2031-03-20T10:00:00+08:00"
SHOTS = ARTIFACTS_DIR / "room-browser"
LIVE_WITHIN_MS = 2000


@pytest.fixture(scope="module")
def site(stores, store_kind):
    from server import create_app
    from server.setup import prepare
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.db import db

    url = stores.new(store_kind)
    app = prepare(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False,
                              "PAICHA_SCHEDULER": "off"}))
    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(TOWNSHIP, "七一路街道"),
                      check_area(OTHER_TOWNSHIP, "黄堡镇"), check_area(VILLAGE, "一村"),
                      check_area(OTHER_VILLAGE, "二村")])
        add_account("cadre", PW, "village_cadre", VILLAGE, "李娟")
        add_account("sup", PW, "district_supervisor", DISTRICT, "孙督查")
        db.session.commit()
    srv = ServerProcess(url, name=f"room-browser-{store_kind}",
                        env={"PAICHA_SCHEDULER": "off", "PAICHA_CLOCK": NOW + "!"})
    srv.start()
    yield srv, store_kind
    srv.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def number(page, selector: str) -> int:
    return int(page.inner_text(selector).strip())


def test_the_room_shows_a_phones_dispute_within_two_seconds(site, device_factory, browser):
    srv, store_kind = site
    remote = f"{srv.url}/{DB}"
    phone = device_factory("cadre", auth={"username": "cadre", "password": PW})
    phone.pull(remote)

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{srv.url}/ledger/login?next=/ledger/room")
        page.fill("#name", "sup")
        page.fill("#password", PW)
        page.click("#login")
        page.wait_for_selector("#room-title")
        assert "网上督查室" in page.inner_text("#room-title")
        page.wait_for_selector("#room-live.live-on")  # the stream is open
        before = {key: number(page, f'[data-total="{key}"]') for key in ("new_today", "key_open", "collective_open")}
        township_cell = f'[data-cell="new_today"][data-area="{TOWNSHIP}"] a'
        assert before == {"new_today": 0, "key_open": 0, "collective_open": 0}
        assert number(page, township_cell) == 0
        assert "hidden" in page.get_attribute('[data-alert-of="collective_open"]', "class")
        page.screenshot(path=SHOTS / f"01-room-before-{store_kind}.png", full_page=True)
        loaded_url = page.url

        made = dt.datetime.fromisoformat(NOW)
        phone.put({"_id": "dispute-live-1", "type": "dispute", "area": VILLAGE, "created_by": "cadre",
                   "created_at": made.isoformat(), "summary": "（测试）十二户因灌溉用水发生争执。",
                   "parties": [{"name": "甲某", "role": "applicant"}, {"name": "乙某", "role": "respondent"}],
                   "people_involved": 12, "category": "neighbourhood", "risk_level": "key", "status": "registered"})
        assert phone.push(remote)["push"]["docs_written"] == 1
        pushed = time.monotonic()
        page.wait_for_function(
            """() => document.querySelector('[data-total="new_today"]').textContent.trim() === '1'
                  && document.querySelector('[data-total="collective_open"]').textContent.trim() === '1'""",
            timeout=LIVE_WITHIN_MS)
        took = time.monotonic() - pushed
        assert took < LIVE_WITHIN_MS / 1000, took
        assert page.url == loaded_url  # no reload: updated in place
        assert number(page, '[data-total="key_open"]') == 1
        assert number(page, township_cell) == 1
        assert number(page, f'[data-cell="new_today"][data-area="{OTHER_TOWNSHIP}"] a') == 0
        assert "alert" in page.get_attribute("#fig-collective_open", "class")
        assert "hidden" not in page.get_attribute('[data-alert-of="collective_open"]', "class")
        page.screenshot(path=SHOTS / f"02-room-after-{store_kind}.png", full_page=True)

        # the number leads to the record it counts
        page.click('[data-total="collective_open"]')
        page.wait_for_selector('a[href="/ledger/dispute/dispute-live-1"]')
    except Exception:
        page.screenshot(path=SHOTS / f"failure-{store_kind}.png", full_page=True)
        raise
    finally:
        context.close()
