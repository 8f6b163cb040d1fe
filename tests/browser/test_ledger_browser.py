"""A district supervisor reviews the ledger in real headless Chromium, on data that came from real sync.

PouchDB phones (pouchdb-node) of two village cadres and a township officer push screening reports, a
dispute and household visits to the server (a subprocess, SQLite store); the calendar's tick runs
in-process on the same store. Then, in Chromium: log in, the dashboard, drill into a village's
ledger, approve one report and send back another, export XLSX (parsed with openpyxl). Finally the
second cadre's phone pulls and finds the sent-back review. Screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from support import ARTIFACTS_DIR
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("node_installed"),
              pytest.mark.skipif(REFERENCE_RUN, reason="the ledger pages are Paicha's own")]

DB = "paicha"
PW = "browser-test-pw"
DISTRICT, TOWNSHIP = "610402", "610402001"
VILLAGE_A, VILLAGE_B = "610402001001", "610402001002"
SHOTS = ARTIFACTS_DIR / "ledger-browser"
DEAD_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def site(stores):
    """A fresh SQLite store with areas, accounts and village centres; the calendar app in-process;
    the server as a subprocess (scheduler off)."""
    from server import create_app
    from server.setup import prepare
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.store import get_store
    from server.core.db import db
    from server.services.geo.locate import import_boundaries

    url = stores.new("sqlite")
    app = prepare(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False,
                              "PAICHA_SCHEDULER": "off"}))
    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(TOWNSHIP, "七一路街道"),
                      check_area(VILLAGE_A, "一村"), check_area(VILLAGE_B, "二村")])
        add_account("cadre-a", PW, "village_cadre", VILLAGE_A, "李娟")
        add_account("cadre-b", PW, "village_cadre", VILLAGE_B, "王刚")
        add_account("staff", PW, "township_staff", TOWNSHIP, "张强")
        add_account("sup", PW, "district_supervisor", DISTRICT, "孙督查")
        db.session.commit()
        features = [{"type": "Feature", "properties": {"code": code, "name": name},
                     "geometry": {"type": "Point", "coordinates": [lon, lat]}}
                    for code, name, lat, lon in ((VILLAGE_A, "一村", 35.07, 109.07), (VILLAGE_B, "二村", 35.08, 109.09))]
        with get_store().writing() as conn:
            import_boundaries(conn, {"type": "FeatureCollection", "features": features}, source="test")
    # a tile server that is not there (nothing listens on port 9): the map must still plot every visit
    srv = ServerProcess(url, name="ledger-browser", env={"PAICHA_SCHEDULER": "off", "PAICHA_MAP_TILES": DEAD_TILES})
    srv.start()
    yield srv, app
    srv.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def phone(device_factory, name):
    return device_factory(name, auth={"username": name, "password": PW})


def test_supervisor_reviews_reports_that_came_from_phones(site, device_factory, browser):
    from server.services.calendar import tick as calendar_tick
    from server.services.calendar.periods import (
        SHANGHAI,
        local_date,
        period_containing,
        round_id,
        start_of_day,
        stamp,
    )

    srv, app = site
    remote = f"{srv.url}/{DB}"
    today = local_date(dt.datetime.now(dt.timezone.utc))
    period = period_containing("xun", today - dt.timedelta(days=12))
    assert not calendar_tick.tick(app, start_of_day(period.start) + dt.timedelta(minutes=10)).errors
    round_a, round_b = round_id("village", VILLAGE_A, period), round_id("village", VILLAGE_B, period)

    # -- the phones ---------------------------------------------------------------------------------------
    made = dt.datetime.combine(period.end, dt.time(17, 0), SHANGHAI)
    a = phone(device_factory, "cadre-a")
    a.pull(remote)
    assert round_a in a.docs()
    a.put({"_id": "dispute-a-1", "type": "dispute", "area": VILLAGE_A, "created_by": "cadre-a",
           "created_at": stamp(made), "accepted_at": stamp(made), "round_id": round_a,
           "summary": "（测试）两户因宅基地界线发生争执。", "parties": [{"name": "甲某", "role": "applicant"},
                                                          {"name": "乙某", "role": "respondent"}],
           "category": "homestead", "risk_level": "high", "status": "mediating"},
          {"_id": "report-a", "type": "screening_report", "area": VILLAGE_A, "created_by": "cadre-a",
           "created_at": stamp(made), "round_id": round_a, "nil_report": False, "disputes": ["dispute-a-1"],
           "summary": "（测试）发现宅基地纠纷一起。", "households_screened": 180, "submitted_at": stamp(made)})
    assert a.push(remote)["push"]["docs_written"] == 2
    b = phone(device_factory, "cadre-b")
    b.pull(remote)
    b.put({"_id": "report-b", "type": "screening_report", "area": VILLAGE_B, "created_by": "cadre-b",
           "created_at": stamp(made), "round_id": round_b, "nil_report": True, "households_screened": 95,
           "submitted_at": stamp(made)})
    assert b.push(remote)["push"]["docs_written"] == 1
    staff = phone(device_factory, "staff")
    visits = []
    for n, (lat, lon) in enumerate(((35.0701, 109.0702), (35.0805, 109.0895), (35.2, 109.3))):
        at = stamp(made - dt.timedelta(days=3 - n, hours=2))
        visits.append({"_id": f"visit-{n}", "type": "household_visit", "area": (VILLAGE_A, VILLAGE_B, VILLAGE_A)[n],
                       "created_by": "staff", "created_at": at, "household_id": f"household-{n}",
                       "visitor": "staff", "visited_at": at, "purpose": "routine",
                       "fix": {"lat": lat, "lon": lon, "accuracy_m": 10, "fix_time": at, "crs": "WGS-84"}})
    staff.put(*visits)
    assert staff.push(remote)["push"]["docs_written"] == 3

    # -- the supervisor, in Chromium -----------------------------------------------------------------------
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{srv.url}/ledger/")
        assert "/ledger/login" in page.url
        page.fill("#name", "sup")
        page.fill("#password", PW)
        page.screenshot(path=SHOTS / "01-login.png")
        page.click("#login")
        page.wait_for_selector("#dashboard-title")
        assert "王益区" in page.inner_text("#dashboard-title")
        assert "七一路街道" in page.inner_text("#rounds-table")
        assert "宅基地" in page.content()  # the open high-risk dispute from the phone
        page.screenshot(path=SHOTS / "02-dashboard.png", full_page=True)

        # drill into the township, then village A's ledger
        page.click(f'tr[data-area="{TOWNSHIP}"] a.drill')
        page.wait_for_selector(f'tr[data-area="{VILLAGE_A}"]')
        rows = page.inner_text("#rounds-table")
        assert "一村" in rows and "二村" in rows
        page.screenshot(path=SHOTS / "02b-dashboard-township.png", full_page=True)
        page.click(f'tr[data-area="{VILLAGE_A}"] a.ledger-link')
        page.wait_for_selector("#ledger-title")
        assert "一村" in page.inner_text("#ledger-title")
        row = page.locator(f'tr[data-report="report-a"]')
        assert "按时" in row.inner_text()
        page.screenshot(path=SHOTS / "03-ledger-village-a.png", full_page=True)
        row.locator("a.report-link").click()
        page.wait_for_selector("#review-form")
        assert page.inner_text("#report-id") == "report-a"
        page.check('input[name="status"][value="approved"]')
        page.click("#save-review")
        page.wait_for_selector("#message")
        assert "已通过" in page.inner_text("#current-review")
        page.screenshot(path=SHOTS / "04-approved.png", full_page=True)

        # village B's report: send it back with a comment
        page.goto(f"{srv.url}/ledger/ledger?area={VILLAGE_B}")
        page.locator('tr[data-report="report-b"] a.report-link').click()
        page.wait_for_selector("#review-form")
        page.check('input[name="status"][value="sent_back"]')
        page.click("#save-review")  # without a comment: refused by the page
        page.wait_for_selector("#error")
        page.check('input[name="status"][value="sent_back"]')
        page.fill('textarea[name="comment"]', "排查户数与花名册不符，请核实后重新上报。")
        page.click("#save-review")
        page.wait_for_selector("#message")
        assert "退回" in page.inner_text("#current-review")
        page.screenshot(path=SHOTS / "05-sent-back.png", full_page=True)

        # the township's ledger, exported to XLSX
        page.goto(f"{srv.url}/ledger/ledger?area={TOWNSHIP}&level=village")
        with page.expect_download() as download:
            page.click("#export-xlsx")
        data = open(download.value.path(), "rb").read()
        sheet = load_workbook(io.BytesIO(data))["台账"]
        table = list(sheet.iter_rows(values_only=True))
        header = table[0]
        by_report = {r[header.index("报告编号")]: dict(zip(header, r)) for r in table[1:] if r[header.index("报告编号")]}
        assert by_report["report-a"]["审核"] == "已通过" and by_report["report-a"]["状态"] == "按时"
        assert by_report["report-b"]["审核"] == "退回" and by_report["report-b"]["区域代码"] == VILLAGE_B
        (SHOTS / "ledger-export.xlsx").write_bytes(data)

        page.goto(f"{srv.url}/ledger/map?area={TOWNSHIP}")
        assert page.locator("#visit-map circle.visit").count() == 3
        # the vendored Leaflet on the (unreachable) tile server: the visits and villages are plotted,
        # the failure is said, and the offline SVG map stays visible
        page.wait_for_selector("#tile-map[data-ready]", timeout=5000)
        assert page.locator("#tile-map path.visit").count() == 3
        assert page.locator("#tile-map path.village-centre").count() == 2
        page.wait_for_selector("#tile-map.tiles-failed", timeout=5000)
        assert page.locator("#visit-map").is_visible()
        page.screenshot(path=SHOTS / "06-map.png", full_page=True)
        page.goto(f"{srv.url}/ledger/dispute/dispute-a-1?lang=en")
        assert "Dispute file" in page.inner_text("h1") and "李娟" in page.inner_text("#revisions")  # the writer, by name
        page.screenshot(path=SHOTS / "07-dispute-file-en.png", full_page=True)
    except Exception:
        page.screenshot(path=SHOTS / "failure.png", full_page=True)
        raise
    finally:
        context.close()

    # -- the sent-back review reaches cadre B's phone (and only B's) ------------------------------------------
    b.pull(remote)
    reviews_b = [d for d in b.docs().values() if d.get("type") == "report_review"]
    assert [(r["status"], r["report_id"], r["created_by"]) for r in reviews_b] == [("sent_back", "report-b", "sup")]
    assert reviews_b[0]["_id"].startswith("review-report-b~") and "重新上报" in reviews_b[0]["comment"]
    a.pull(remote)
    reviews_a = [d for d in a.docs().values() if d.get("type") == "report_review"]
    assert [(r["status"], r["report_id"]) for r in reviews_a] == [("approved", "report-a")]


def test_the_disputes_filter_form_picks_an_area_by_name_and_sorts_by_a_heading(site, device_factory, browser):
    """A cadre's phone pushes two disputes of village B; in Chromium the supervisor picks 二村 by name
    and 高 risk in the filter form, then sorts by the registration time, on a phone-width screen."""
    from server.services.calendar.periods import stamp

    srv, _app = site
    remote = f"{srv.url}/{DB}"
    b = phone(device_factory, "cadre-b")
    b.pull(remote)
    made = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
    b.put(*({"_id": f"dispute-b-{n}", "type": "dispute", "area": VILLAGE_B, "created_by": "cadre-b",
             "created_at": stamp(made + dt.timedelta(hours=n)), "summary": f"（测试）灌溉用水纠纷 {n}",
             "parties": [{"name": "丙某", "role": "applicant"}], "category": "neighbourhood", "risk_level": "high",
             "status": "registered"} for n in (1, 2)),
          {"_id": "dispute-b-low", "type": "dispute", "area": VILLAGE_B, "created_by": "cadre-b",
           "created_at": stamp(made), "summary": "（测试）低风险", "parties": [{"name": "丁某", "role": "applicant"}],
           "category": "neighbourhood", "risk_level": "low", "status": "registered"})
    pushed = b.push(remote)
    assert pushed["push"]["docs_written"] == 3, [e for e in pushed["events"] if e["event"] == "denied"][:1]

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{srv.url}/ledger/login")
        page.fill("#name", "sup")
        page.fill("#password", PW)
        page.click("#login")
        page.wait_for_selector("#dashboard-title")
        page.goto(f"{srv.url}/ledger/disputes")
        labels = page.eval_on_selector_all("select.area-picker option", "os => os.map(o => o.textContent.trim())")
        assert labels[0] == "全部" and "七一路街道" in labels and "二村" in labels
        assert not any(ch.isdigit() for label in labels for ch in label)  # names, not codes
        page.select_option("select.area-picker", label="\u3000二村")
        page.select_option('select[name="risk"]', "high")
        page.click("#matter-filter button")
        page.wait_for_load_state()
        assert f"area={VILLAGE_B}" in page.url and "risk=high" in page.url
        rows = page.eval_on_selector_all("table.disputes tbody tr td.summary", "ts => ts.map(t => t.textContent.trim())")
        assert sorted(rows) == ["（测试）灌溉用水纠纷 1", "（测试）灌溉用水纠纷 2"]
        page.click("a.sort >> text=登记时间")
        page.click("a.sort.sorted")  # a second click: newest first
        page.wait_for_load_state()
        assert "sort=created" in page.url and "dir=desc" in page.url and f"area={VILLAGE_B}" in page.url
        assert "▼" in page.inner_text("a.sort.sorted")
        rows = page.eval_on_selector_all("table.disputes tbody tr td.summary", "ts => ts.map(t => t.textContent.trim())")
        assert rows == ["（测试）灌溉用水纠纷 2", "（测试）灌溉用水纠纷 1"]
        # on a phone the form wraps and the page does not scroll sideways (the table scrolls in its box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=SHOTS / "09-disputes-filtered-phone.png", full_page=True)
    finally:
        context.close()
