"""The field app (/app/) in real headless Chromium as a 360×640 Android phone, against a real server.

A village cadre logs in, loses the signal, files a nil report and registers a dispute with a photo
from the camera, starts a second dispute and reloads the page with no signal: the app opens from its
service worker, the saved records and the unsaved draft are there. The signal comes back: everything
reaches the server (read back through the CouchDB API, the photo shrunk to a JPEG of at most 1600
px), and the status says so. A record the server refuses shows its reason in Chinese; a review sent
back on the ledger reaches the phone and the corrected report goes up; a supervision notice is
answered. A township officer records a household visit with an emulated GPS fix and sees the
server's flags on it. Both clocks (server and phone) are frozen. Screenshots of every screen go to
tests/artifacts/field-app/ (the README's are in mobile_api/field_app/screenshots/).
"""
from __future__ import annotations

import base64
import datetime as dt
import re
import struct
import time

import pytest
import requests

from bench.weaklink import Cut, LinkProfile, SimulatedLink
from support import ARTIFACTS_DIR
from support.http import Couch
from support.server import REFERENCE_RUN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(REFERENCE_RUN, reason="the field app is Paicha's own")]

DB = "paicha"
PW = "field-app-pw"
DISTRICT, TOWNSHIP = "610402", "610402001"
VILLAGE, OTHER_VILLAGE = "610402001001", "610402001002"
NOW = dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
HOUSE = (35.0700, 109.0700)
SHOTS = ARTIFACTS_DIR / "field-app"
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
         "user_agent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Mobile Safari/537.36"}
SHELL_LIMIT = 300 * 1024
WORKBOX_FILES = ("workbox-sw.js", "workbox-core.prod.js", "workbox-precaching.prod.js", "workbox-routing.prod.js",
                 "workbox-strategies.prod.js")


@pytest.fixture(scope="module")
def site(stores):
    """A fresh SQLite store with a township of two villages, its accounts, a household with a known
    location and the calendar's rounds up to NOW; the server (a subprocess) with its clock stopped at NOW."""
    from server import create_app
    from server.setup import prepare
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.core.db import db
    from server.services.calendar import tick as calendar_tick

    url = stores.new("sqlite")
    app = prepare(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False,
                              "PAICHA_SCHEDULER": "off", "PAICHA_CALENDAR_START": "2026-11-01"}))
    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(TOWNSHIP, "七一路街道"),
                      check_area(VILLAGE, "一村"), check_area(OTHER_VILLAGE, "二村")])
        add_account("cadre", PW, "village_cadre", VILLAGE, "李娟")
        add_account("cadre2", PW, "village_cadre", OTHER_VILLAGE, "王刚")
        add_account("staff", PW, "township_staff", TOWNSHIP, "张强")
        add_account("sup", PW, "district_supervisor", DISTRICT, "孙督查")
        db.session.commit()
    # the calendar ran through the month: the rounds came in time, the missed one was reminded of
    for moment in (dt.datetime(2026, 11, 1, 0, 10, tzinfo=NOW.tzinfo), NOW):
        assert not calendar_tick.tick(app, moment).errors
    srv = ServerProcess(url, name="field-app", env={"PAICHA_CLOCK": NOW.isoformat() + "!"})
    srv.start()
    admin = Couch(srv.url, srv.auth)
    admin.ok_json("PUT", f"{DB}/household-1", json={
        "type": "household", "area": VILLAGE, "created_by": "admin", "created_at": NOW.isoformat(),
        "address": "一村三组 12 号", "head_name": "王建国",
        "location": {"lat": HOUSE[0], "lon": HOUSE[1], "crs": "WGS-84"}})
    yield srv
    srv.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE, permissions=["geolocation"])
    page = context.new_page()
    page.clock.set_fixed_time(NOW.timestamp())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc} {exc.stack}"))
    yield context, page, errors
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), style=".van-toast, .van-overlay { display: none !important; }")


def login(page, base: str, name: str) -> None:
    page.goto(f"{base}/app/")
    page.fill("[data-test=login-name] input", name)
    page.fill("[data-test=login-password] input", PW)
    shot(page, "00-login")
    page.click("[data-test=login]")
    page.wait_for_selector("[data-test=sync-status]")
    # the first pull is done, and the service worker controls the page (the shell is cached)
    page.wait_for_function("document.querySelector('[data-test=last-sync]').textContent.trim() !== '从未'")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_selector("[data-test=round]")  # the rounds the first pull brought


def pending(page) -> str:
    return page.inner_text("[data-test=pending]")


def camera_photo(page, path, width: int = 2400, height: int = 1800) -> None:
    """A PNG as large as a phone camera's picture, with a little grain (its 1600 px JPEG at quality
    0.7 is about 110 KB, as a plain photo's), drawn by the browser."""
    data = page.evaluate("""async ([width, height]) => {
      const canvas = document.createElement('canvas');
      canvas.width = width; canvas.height = height;
      const ctx = canvas.getContext('2d');
      const img = ctx.createImageData(width, height);
      let seed = 1;
      for (let i = 0; i < width * height; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const x = i % width, y = (i / width) | 0;
        const v = ((x + y) >> 3) % 256 + (seed % 9) - 4;
        img.data.set([v, (v + x / 8) % 256, (v + y / 6) % 256, 255], 4 * i);
      }
      ctx.putImageData(img, 0, 0);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    }""", [width, height])
    path.write_bytes(base64.b64decode(data))


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a JPEG, from its start-of-frame marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no frame in the JPEG")


def test_the_shell_is_small_installable_and_compressed(site):
    index = requests.get(f"{site.url}/app/", timeout=10)
    assert index.status_code == 200 and 'rel="manifest"' in index.text
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]  # no CDN, nothing but Paicha
    assert requests.get(f"{site.url}/app", allow_redirects=False, timeout=10).headers["Location"].endswith("/app/")
    manifest = requests.get(f"{site.url}/app/manifest.webmanifest", timeout=10)
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest.json()["icons"]}
    assert manifest.json()["display"] == "standalone" and manifest.json()["lang"] == "zh-CN"
    worker = requests.get(f"{site.url}/app/sw.js", timeout=10).text
    precache = re.findall(r'"url":"([^"]+)"', worker)
    assert "./" in precache and "vendor/vue.global.prod.js" in precache and "schemas.json" in precache
    assert "package.json" not in precache and not any("node_modules" in url for url in precache)
    # every file of the shell, libraries and the worker's own modules included, as a phone's browser
    # downloads it (brotli; gzip for a client that takes only gzip)
    worker_modules = ["sw.js"] + [f"vendor/workbox/{name}" for name in WORKBOX_FILES]
    for accepted, encoding in (("gzip, deflate, br", "br"), ("gzip, deflate", "gzip")):  # HTTPS; plain HTTP
        total = 0
        for url in precache + worker_modules:
            r = requests.get(f"{site.url}/app/{url}", headers={"Accept-Encoding": accepted}, stream=True, timeout=30)
            assert r.status_code == 200, url
            assert r.headers.get("Content-Encoding") == encoding, url
            total += len(r.raw.read(decode_content=False))
            assert r.headers["Cache-Control"] == "no-cache"
        assert total <= SHELL_LIMIT, f"the shell is {total} bytes compressed ({encoding})"
    plain = requests.get(f"{site.url}/app/vendor/vant.min.js", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert plain.headers["Content-Encoding"] == "gzip" and "vant" in plain.text.lower()
    # revalidation costs a 304; what is not the shell is not served
    etag = requests.get(f"{site.url}/app/js/main.js", timeout=10).headers["ETag"]
    assert requests.get(f"{site.url}/app/js/main.js", headers={"If-None-Match": etag}, timeout=10).status_code == 304
    for hidden in ("package.json", "package-lock.json", "node_modules/vue/package.json", "vendor/.installed",
                   "js/%2e%2e/package.json", "%2e%2e/README.md"):
        assert requests.get(f"{site.url}/app/{hidden}", timeout=10).status_code == 404, hidden
    schemas = requests.get(f"{site.url}/app/schemas.json", timeout=10).json()
    assert schemas["dispute"]["properties"]["category"]["enum"][0] == "land"
    words = requests.get(f"{site.url}/app/words.json", timeout=10).json()
    assert words["words"]["cat_homestead"]["zh"] == "宅基地"


def test_a_village_round_offline_reaches_the_server(site, phone, tmp_path):
    context, page, errors = phone
    base = site.url
    login(page, base, "cadre")
    assert page.inner_text("[data-test=round-state]") == "未报送"
    assert "截止 2026-11-20" in page.inner_text("[data-test=round]")
    # the round of 1–10 November was due on the 10th and has no report: overdue, and reminded of
    assert "2026年11月上旬" in page.inner_text("[data-test=overdue]")
    assert "尚未收到报告" in page.inner_text("[data-test=reminders]")
    shot(page, "01-home")

    # -- no signal: a nil report in two taps, a dispute with a photo ---------------------------------------
    context.set_offline(True)
    page.wait_for_function("document.querySelector('[data-test=online]').textContent.includes('无网络')")
    page.click("[data-test=nil-report]")
    page.click(".van-dialog__confirm")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('1')")
    page.wait_for_function("document.querySelector('[data-test=round-state]').textContent.includes('已报送')")

    page.click("[data-test=register-dispute]")
    page.click("[data-test=save]")  # nothing filled: the schema's own refusals, in Chinese
    page.wait_for_selector("text=必须填写")
    page.fill("[data-test=party-name-0] input", "甲某")
    page.fill("[data-test=party-phone-0] input", "12")  # too short a number: the schema refuses it
    page.fill("[data-test=party-name-1] input", "乙某")
    page.click("[data-test=category-homestead]")
    page.click("[data-test=risk-high]")
    page.fill("[data-test=dispute-summary] textarea", "（测试）两户因宅基地界线发生争执。")
    page.click("[data-test=save]")
    page.wait_for_selector("text=格式不对")
    page.fill("[data-test=party-phone-0] input", "13800000000")
    photo = tmp_path / "camera.png"
    camera_photo(page, photo)
    page.set_input_files("[data-test=photo-input] input[type=file]", str(photo))
    page.wait_for_selector("[data-test=photo-thumb]")
    shot(page, "02-dispute-form")
    page.click("[data-test=save]")
    page.wait_for_selector("[data-test=sync-status]")
    assert "2 条" in pending(page)

    # a second dispute is started and not saved: its draft is kept on the phone
    page.click("[data-test=register-dispute]")
    page.set_input_files("[data-test=photo-input] input[type=file]", str(photo))
    page.wait_for_selector("[data-test=photo-thumb]")
    page.fill("[data-test=dispute-summary] textarea", "草稿：还没写完")
    page.wait_for_timeout(600)  # the draft is written a moment after typing stops

    # -- reload with no signal: the app opens from its service worker, drafts and records are there --------
    page.reload()
    page.wait_for_selector("[data-test=dispute-summary] textarea")
    page.wait_for_function("document.querySelector('[data-test=dispute-summary] textarea').value === '草稿：还没写完'")
    assert page.locator("[data-test=photo-thumb]").count() == 1  # the draft's photo too
    page.click(".van-nav-bar__left")
    page.wait_for_selector("[data-test=sync-status]")
    assert "2 条" in pending(page)
    page.click("[data-test=tab-records]")
    states = page.locator("[data-test=state]").all_inner_texts()
    assert states == ["已存手机", "已存手机"], states
    shot(page, "03-records-offline")

    # -- the signal comes back: everything goes up, and the status says so ---------------------------------
    context.set_offline(False)
    page.wait_for_function("[...document.querySelectorAll('[data-test=state]')].every(e => e.textContent.includes('已到服务器'))",
                           timeout=20000)
    shot(page, "04-records-sent")
    page.click("[data-test=tab-home]")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')")
    assert page.inner_text("[data-test=last-sync]").startswith("11-18 09:30")

    admin = Couch(base, site.auth)
    docs = {row["doc"]["type"]: row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
            if row["doc"].get("created_by") == "cadre"}
    assert docs["screening_report"]["nil_report"] is True and docs["screening_report"]["area"] == VILLAGE
    assert docs["screening_report"]["created_at"] == NOW.isoformat()
    dispute = docs["dispute"]
    assert dispute["parties"][0] == {"name": "甲某", "role": "applicant", "phone": "13800000000"}
    assert dispute["category"] == "homestead" and dispute["risk_level"] == "high"
    assert dispute["_attachments"]["photo-1.jpg"]["content_type"] == "image/jpeg"
    image = admin.get(f"{DB}/{dispute['_id']}/photo-1.jpg").content
    assert max(jpeg_size(image)) == 1600 and len(image) < 400_000
    assert not errors, errors


def test_refusals_reviews_and_notices_reach_the_phone(site, phone):
    context, page, errors = phone
    base = site.url
    login(page, base, "cadre")
    if page.locator("[data-test=nil-report]").count():  # this round's report, unless the test before filed it
        page.click("[data-test=nil-report]")
        page.click(".van-dialog__confirm")
        page.wait_for_function("document.querySelector('[data-test=round-state]').textContent.includes('已报送')")
    # a record the server refuses (a report for another village's round, as an out-of-date app might
    # send): the phone shows why in Chinese, and what to do
    page.evaluate("""async () => {
      const store = await import('./js/store.js');
      await store.save({_id: 'report-wrong', type: 'screening_report', area: '%s', created_by: 'cadre',
        created_at: '%s', round_id: 'round-elsewhere', nil_report: true, disputes: [], submitted_at: '%s'});
    }""" % (OTHER_VILLAGE, NOW.isoformat(), NOW.isoformat()))
    page.click("[data-test=tab-records]")
    record = page.locator("[data-test=record-report-wrong]")
    record.locator("[data-test=refusal]").wait_for(timeout=15000)
    assert record.locator("[data-test=state]").inner_text() == "被拒收"
    page.wait_for_function("document.querySelector('[data-test=record-report-wrong] [data-test=refusal]')"
                           ".textContent.includes('怎么办')", timeout=15000)
    reason = record.locator("[data-test=refusal]").inner_text()
    assert re.search(r"[\u4e00-\u9fff]", reason), reason
    shot(page, "05-refused")

    # the ledger sends the round's report back: the review reaches the phone, the correction goes up
    admin = Couch(base, site.auth)
    report = next(row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
                  if row["doc"].get("type") == "screening_report" and row["doc"].get("area") == VILLAGE)
    sup = Couch(base, ("sup", PW))
    later = (NOW - dt.timedelta(minutes=5)).isoformat()
    assert sup.put(f"{DB}/review-1", json={
        "type": "report_review", "area": VILLAGE, "created_by": "sup", "created_at": later,
        "report_id": report["_id"], "round_id": report["round_id"], "status": "sent_back",
        "comment": "请补充排查户数。", "reviewed_at": later}).status_code == 201
    assert sup.put(f"{DB}/notice-1", json={
        "type": "supervision_notice", "area": VILLAGE, "created_by": "sup", "created_at": later,
        "target_area": VILLAGE, "subject": "宅基地纠纷督办", "body": "请于本周内回复化解进展。",
        "deadline": "2026-11-25", "issued_by": "sup", "status": "issued"}).status_code == 201
    page.click("[data-test=tab-home]")
    page.wait_for_selector("[data-test=sent-back] >> text=请补充排查户数。", timeout=15000)
    page.wait_for_selector("[data-test=notices] >> text=宅基地纠纷督办")
    assert page.inner_text("[data-test=round-state]") == "退回修改"
    shot(page, "06-home-sent-back")
    page.click("[data-test=sent-back] .van-cell")
    page.fill("[data-test=households-screened] input", "120")
    page.click("[data-test=save]")
    page.wait_for_selector("[data-test=sync-status]")
    page.wait_for_function("!document.querySelector('[data-test=sent-back]')", timeout=15000)
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=15000)
    assert admin.ok_json("GET", f"{DB}/{report['_id']}")["households_screened"] == 120

    page.click("[data-test=notices] .van-cell")
    page.fill("[data-test=reply-body] textarea", "已组织双方调解，下周回访。")
    shot(page, "08-notice-reply")
    page.click("[data-test=send-reply]")
    page.wait_for_selector("[data-test=sync-status]")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=15000)
    replies = [row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
               if row["doc"].get("type") == "notice_reply"]
    assert [r["body"] for r in replies] == ["已组织双方调解，下周回访。"] and replies[0]["notice_id"] == "notice-1"
    page.click("[data-test=tab-me]")
    shot(page, "09-me")
    assert not errors, errors


def test_a_township_visit_with_the_phones_fix_and_the_servers_flags(site, phone, tmp_path):
    context, page, errors = phone
    login(page, site.url, "staff")
    shot(page, "10-township-home")
    page.click("[data-test=households]")
    page.fill("[data-test=household-search] input", "王建")
    page.wait_for_selector("[data-test=household] >> text=王建国")
    shot(page, "11-households")
    page.click("[data-test=household]")
    # about 1 km from the household, with a poor fix: off site and poor accuracy
    context.set_geolocation({"latitude": HOUSE[0] + 0.009, "longitude": HOUSE[1], "accuracy": 250})
    page.click("[data-test=get-fix]")
    page.wait_for_selector("[data-test=fix] >> text=精度 ±250 米")
    page.fill("[data-test=visit-notes] textarea", "入户了解宅基地纠纷情况。")
    photo = tmp_path / "visit.png"
    camera_photo(page, photo)
    page.set_input_files("[data-test=photo-input] input[type=file]", str(photo))
    page.wait_for_selector("img.photo-thumb")
    shot(page, "12-visit-form")
    page.click("[data-test=save]")
    page.wait_for_selector("[data-test=household-search]")
    admin = Couch(site.url, site.auth)
    def visits():
        return [row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
                if row["doc"].get("type") == "household_visit"]
    page.wait_for_function("document.querySelector('[data-test=visits]') !== null")
    deadline = dt.datetime.now() + dt.timedelta(seconds=15)
    while not visits() and dt.datetime.now() < deadline:
        page.wait_for_timeout(200)
    visit = visits()[0]
    assert visit["fix"]["crs"] == "WGS-84" and visit["fix"]["accuracy_m"] == 250
    assert abs(visit["fix"]["lat"] - (HOUSE[0] + 0.009)) < 1e-6 and visit["photos"] == ["photo-1.jpg"]
    assert visit["_attachments"]["photo-1.jpg"]["content_type"] == "image/jpeg"
    # back on the list, the server's checks of the visit
    page.click(".van-nav-bar__left")
    page.click("[data-test=households]")
    page.wait_for_selector("[data-test=flag-off_site]", timeout=15000)
    page.wait_for_selector("[data-test=flag-poor_accuracy]")
    shot(page, "13-visit-flags")
    assert not errors, errors


TWO_G = LinkProfile()  # bench/weaklink's 2G: 8 000 B/s each way, 250 ms each way
FAST = LinkProfile(up_bandwidth=None, down_bandwidth=None, delay_s=0.0)


def uploads_request(exchange) -> bool:
    return exchange.method in ("PATCH", "POST") and "/_uploads" in exchange.path


def test_a_village_round_over_2g_with_a_cut_during_the_photo(site, phone, tmp_path):
    """The app is installed over a fast link; the round itself (a dispute with a photo and the report
    naming it) goes up over bench/weaklink's 2G link, cut in the middle of the photo."""
    context, page, errors = phone
    with SimulatedLink(site.url, FAST) as link:
        login(page, link.url, "cadre2")
        context.set_offline(True)
        page.click("[data-test=register-dispute]")
        page.fill("[data-test=party-name-0] input", "赵某")
        page.fill("[data-test=party-name-1] input", "钱某")
        page.click("[data-test=category-neighbourhood]")
        page.click("[data-test=risk-medium]")
        page.fill("[data-test=dispute-summary] textarea", "（测试）邻里因排水沟堵塞发生口角。")
        photo = tmp_path / "camera.png"
        camera_photo(page, photo, 1600, 1200)
        page.set_input_files("[data-test=photo-input] input[type=file]", str(photo))
        page.wait_for_selector("[data-test=photo-thumb]")
        page.click("[data-test=save]")
        page.wait_for_selector("[data-test=sync-status]")
        page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('1 条')")
        page.click("[data-test=file-report]")
        page.fill("[data-test=households-screened] input", "95")
        page.click(".van-checkbox")
        shot(page, "07-report-form")
        page.click("[data-test=save]")
        page.wait_for_selector("[data-test=sync-status]")
        page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('2 条')")

        link.reshape(TWO_G)
        link.plan(Cut(outage_s=3.0, after_bytes_up=8_000, armed_by=uploads_request))
        before = link.counters()["bytes_up"]
        started = time.monotonic()
        context.set_offline(False)
        page.wait_for_function("/正在发送照片 [3-9][0-9] %/.test(document.querySelector('[data-test=sync-status]').textContent)",
                               timeout=20000)
        shot(page, "14-sending-photo")
        page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=40000)
        took = time.monotonic() - started
        counters = link.counters()
    print(f"the round took {took:.1f} s over 2G, {counters['bytes_up'] - before} bytes up")
    assert took < 30, f"the round took {took:.1f} s over 2G"
    assert len(counters["cuts"]) == 1, "the link was cut during the photo"
    uploads = [e for e in counters["exchanges"] if "/_uploads" in e["path"]]
    assert any(e["method"] == "HEAD" for e in uploads), "the upload asked where to resume"
    admin = Couch(site.url, site.auth)
    mine = {row["doc"]["type"]: row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
            if row["doc"].get("created_by") == "cadre2"}
    dispute, report = mine["dispute"], mine["screening_report"]
    assert report["disputes"] == [dispute["_id"]] and report["households_screened"] == 95
    local = page.evaluate("""async (id) => {
      const store = await import('./js/store.js');
      return (await store.db().get(id))._attachments['photo-1.jpg'];
    }""", dispute["_id"])
    held = dispute["_attachments"]["photo-1.jpg"]
    assert held["digest"] == local["digest"] and held["length"] == local["length"]
    # resumed, not sent again from the start: what went up is about the photo once, plus requests' heads
    sent_up = counters["bytes_up"] - before
    assert sent_up < held["length"] + 30_000, (sent_up, held["length"])
    assert not errors, errors


def test_a_matter_is_carried_through_the_village_steps(site, phone):
    """The village cadre records the handling (a mediation) and the reply of a matter of the village;
    both reach the server as the matter's steps, in the file's order."""
    context, page, errors = phone
    admin = Couch(site.url, site.auth)
    admin.ok_json("PUT", f"{DB}/dispute-matter-1", json={
        "type": "dispute", "area": VILLAGE, "created_by": "admin", "created_at": NOW.isoformat(),
        "summary": "（测试）两户因灌溉用水发生争执。", "parties": [{"name": "孙某", "role": "applicant"}],
        "category": "land", "risk_level": "medium", "status": "registered"})
    login(page, site.url, "cadre")
    page.click("[data-test=tab-matters]")
    page.wait_for_selector("[data-test=matter-dispute-matter-1]")
    shot(page, "16-matters")
    page.click("[data-test=matter-dispute-matter-1]")
    page.fill("[data-test=participants] input", "村调委会、双方当事人")
    page.fill("[data-test=conclusion] textarea", "双方同意轮流灌溉，已签协议。")
    shot(page, "15-matter-file")
    page.click("[data-test=save-step]")
    page.click("[data-test=matter-dispute-matter-1]")
    page.wait_for_selector("[data-test=steps] >> text=办理记录")
    page.click("[data-test=step-reply]")
    page.fill("[data-test=reply-content] textarea", "已当面告知调解结果。")
    page.click("[data-test=save-step]")
    page.click("[data-test=tab-home]")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=15000)
    steps = sorted((row["doc"] for row in admin.ok_json("GET", f"{DB}/_all_docs?include_docs=true")["rows"]
                    if row["doc"].get("type") == "matter_step"), key=lambda d: d["kind"])
    assert [(s["kind"], s["matter_id"], s["area"]) for s in steps] == [
        ("handle", "dispute-matter-1", VILLAGE), ("reply", "dispute-matter-1", VILLAGE)]
    assert steps[0]["method"] == "mediation" and steps[0]["conclusion"] == "双方同意轮流灌溉，已签协议。"
    assert steps[1]["channel"] == "in_person" and steps[1]["date"] == "2026-11-18"
    # the server counts both: the matter's file through the mobile API has them in order
    token = requests.post(f"{site.url}/api/v1/auth/login", json={"name": "cadre", "password": PW, "device_id": "check"},
                          timeout=10).json()["access_token"]
    file = requests.get(f"{site.url}/api/v1/disputes/dispute-matter-1/steps",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    counted = [s["kind"] for s in file["steps"] if not s.get("refusal")]
    assert counted == ["handle", "reply"], file

    # the person's evaluation collected by the cadre who replied: the phone lets it through (the
    # schema cannot see who replied), the server keeps it but does not count it, and the file on the
    # phone says why, in Chinese
    page.click("[data-test=tab-matters]")
    page.click("[data-test=matter-dispute-matter-1]")
    page.wait_for_selector("[data-test=stage]")
    assert page.inner_text("[data-test=stage]").endswith("已答复")
    page.click("[data-test=step-evaluate]")
    page.fill("[data-test=collected-by] input", "李娟")
    page.click("[data-test=save-step]")
    page.click("[data-test=matter-dispute-matter-1]")
    page.wait_for_selector("[data-test=step-refusal] >> text=填写答复的账号不能录入评价", timeout=15000)
    kinds = page.locator("[data-test=steps] .van-cell__title > span").all_inner_texts()
    assert kinds == ["办理记录", "答复", "评价"], kinds
    shot(page, "17-step-not-counted")
    assert not errors, errors


def save_dispute(page, doc_id: str) -> None:
    """A dispute saved through the app's own store (what its form does), to set the sync going."""
    page.evaluate("""async ([id, area, at]) => {
      const store = await import('./js/store.js');
      await store.save({_id: id, type: 'dispute', area, created_by: 'cadre', created_at: at, status: 'registered',
        summary: '（测试）' + id, parties: [{name: '周某', role: 'applicant'}], category: 'debt', risk_level: 'low'});
    }""", [doc_id, VILLAGE, NOW.isoformat()])


def test_the_token_is_renewed_silently_and_a_revoked_phone_logs_in_again(site, phone):
    context, page, errors = phone
    admin = Couch(site.url, site.auth)
    login(page, site.url, "cadre")
    session = page.evaluate("JSON.parse(localStorage.getItem('paicha.session'))")
    device = page.evaluate("localStorage.getItem('paicha.device')")
    # an access token the server no longer takes: renewed with the refresh token, nothing asked
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('paicha.session'));
      s.access = 'expired-token'; localStorage.setItem('paicha.session', JSON.stringify(s)); }""")
    save_dispute(page, "dispute-after-refresh")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=15000)
    assert admin.get(f"{DB}/dispute-after-refresh").status_code == 200
    renewed = page.evaluate("JSON.parse(localStorage.getItem('paicha.session'))")
    assert renewed["access"] not in ("expired-token", session["access"]) and renewed["refresh"] != session["refresh"]

    # the phone is lost: revoked from the web, it is asked to log in again, and keeps what it holds
    token = requests.post(f"{site.url}/api/v1/auth/login", timeout=10,
                          json={"name": "admin", "password": site.admin_password, "device_id": "admin-desk"}).json()
    revoked = requests.delete(f"{site.url}/api/v1/devices/{device}/tokens?account=cadre", timeout=10,
                              headers={"Authorization": f"Bearer {token['access_token']}"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 1
    save_dispute(page, "dispute-after-revoke")
    page.wait_for_selector("[data-test=login]", timeout=15000)
    assert admin.get(f"{DB}/dispute-after-revoke").status_code == 404
    page.fill("[data-test=login-name] input", "cadre")
    page.fill("[data-test=login-password] input", PW)
    page.click("[data-test=login]")
    page.wait_for_selector("[data-test=sync-status]")
    page.wait_for_function("document.querySelector('[data-test=pending]').textContent.includes('0 条')", timeout=15000)
    assert admin.get(f"{DB}/dispute-after-revoke").status_code == 200

    # English on request
    page.click("[data-test=tab-me]")
    page.click("[data-test=lang-en]")
    page.wait_for_selector("text=Log out")
    page.click("[data-test=tab-home]")
    assert page.inner_text("[data-test=pending]").startswith("Waiting to go up")
    assert page.evaluate("vant.Locale.messages().cancel") == "Cancel"  # the UI kit's own words too
    page.click("[data-test=tab-me]")
    page.click("[data-test=lang-zh]")
    assert page.evaluate("vant.Locale.messages().cancel") == "取消"
    assert not errors, errors


FORM_TYPES = ("screening_report", "dispute", "household_visit", "notice_reply", "matter_step")


def _variants(doc: dict):
    """The document, and variants of it each broken (or not) in one field, as a form might make them."""
    yield doc
    yield {**doc, "unexpected": 1}
    for key, value in doc.items():
        if key.startswith("_") or key == "type":
            continue
        yield {k: v for k, v in doc.items() if k != key}
        if isinstance(value, str):
            for other in ("", " ", value + "字" * 10_001, "bogus", "2024-02-30", "2024-06-03T10:00:00",
                          "2024-06-03T25:00:00+08:00", "2024-06-03T10:00:60+08:00", "2024-06-03T10:00:00+08:60",
                          "2024-06-03T10:00:00+23:60", "1899-12-31", "2101-01-01T00:00:00Z", "12", "+86 138"):
                yield {**doc, key: other}
        elif isinstance(value, bool):
            yield {**doc, key: "true"}
        elif isinstance(value, (int, float)):
            yield {**doc, key: -1}
            yield {**doc, key: 1.5}
        elif isinstance(value, list):
            yield {**doc, key: []}
            yield {**doc, key: value + value}
            if value and isinstance(value[0], dict):
                first = value[0]
                for inner in first:
                    yield {**doc, key: [{k: v for k, v in first.items() if k != inner}]}
                    yield {**doc, key: [{**first, inner: ""}]}
        elif isinstance(value, dict):
            for inner in value:
                yield {**doc, key: {k: v for k, v in value.items() if k != inner}}
                yield {**doc, key: {**value, inner: "x"}}


def test_the_phone_refuses_what_the_servers_schema_refuses(site, phone):
    """Each form's document type, its example and hundreds of variants of it broken in one field:
    the phone's check (js/schema.js over /app/schemas.json) and the server's JSON Schema agree."""
    import json

    from schemas._loader import EXAMPLES_DIR, validator_for
    from schemas.validation import strip_couchdb_fields

    context, page, errors = phone
    page.goto(f"{site.url}/app/")
    page.wait_for_selector("[data-test=login]")
    cases = []
    for doc_type in FORM_TYPES:
        example = json.loads((EXAMPLES_DIR / f"{doc_type}.json").read_text("utf-8"))
        for variant in _variants(example):
            body = strip_couchdb_fields(variant)
            server_ok = not any(True for _ in validator_for(doc_type).iter_errors(body))
            cases.append((doc_type, body, server_ok))
    phone_ok = page.evaluate("""async (cases) => {
      const schema = await import('./js/schema.js');
      await schema.loadSchemas();
      return cases.map(([type, doc]) => schema.validate(type, doc).length === 0);
    }""", [[t, d] for t, d, _ in cases])
    disagree = [(t, d, s) for (t, d, s), p in zip(cases, phone_ok) if p != s]
    assert len(cases) > 300 and sum(not s for *_, s in cases) > 200
    assert not disagree, f"{len(disagree)} disagree, e.g. {disagree[:3]}"
    assert not errors, errors
