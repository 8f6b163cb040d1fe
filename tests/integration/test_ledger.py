"""The supervisors' ledger pages (/ledger/): login and CSRF, scope (tries to break it), pagination,
exports parsed back, reviews and notices written as synced documents. SQLite and PostgreSQL, on the
demo district (townships 990101001 示范镇 and 990101002 东山镇)."""
from __future__ import annotations

import base64
import csv
import io
import re

import pytest

from server.core import clock
from openpyxl import load_workbook

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"
OWN_TOWNSHIP, FOREIGN_TOWNSHIP = "990101001", "990101002"
OWN_VILLAGE, FOREIGN_VILLAGE = "990101001001", "990101002001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REPORT_LINK = re.compile(r'href="/ledger/report/([^"?]+)"')


def csrf(client, path="/ledger/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.text).group(1)


def login(client, name: str) -> None:
    r = client.post("/ledger/login", data={"name": name, "password": PW, "csrf_token": csrf(client)})
    assert r.status_code == 302, (r.status_code, r.text[:500])


def put_in_time_order(client, events) -> None:
    """PUT each (when, account, doc id, document) in time order as that account's phone, the
    server's clock stopped at `when` for it (receipt times, registration days and deadlines as they
    would be); the clock as it was afterwards."""
    original = clock.now
    try:
        for when, who, doc_id, doc in sorted(events, key=lambda e: e[0]):
            clock.now = lambda when=when: when
            r = client.put(f"/paicha/{doc_id}", json=doc, headers={**basic(who), "X-Paicha-Device": "phone-1"})
            assert r.status_code == 201, (doc_id, r.text)
    finally:
        clock.now = original


def browser(app, name: str):
    """A browser of its own, logged in to the ledger as `name`."""
    client = app.test_client()
    login(client, name)
    return client


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PW}".encode()).decode()}


def reports_of(client, area: str) -> list[str]:
    r = client.get(f"/ledger/ledger?area={area}")
    assert r.status_code == 200
    return list(dict.fromkeys(REPORT_LINK.findall(r.text)))


@pytest.fixture
def district(client):
    login(client, "demo-district")
    return client


@pytest.fixture
def township(client):
    login(client, "demo-township")
    return client


PAGES = ["/ledger/", "/ledger/ledger", "/ledger/ledger.xlsx", "/ledger/ledger.csv", "/ledger/figures",
         "/ledger/quarterly", "/ledger/map", "/ledger/disputes", "/ledger/disputes.xlsx", "/ledger/disputes.csv",
         "/ledger/access-log", f"/ledger/dispute/dispute-{OWN_VILLAGE}-01",
         f"/ledger/doc/dispute-{OWN_VILLAGE}-01/attachment/photo.jpg", "/ledger/notice"]


# -- who may come in ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/ledger/login")


def test_login_page_is_chinese_by_default_and_english_is_remembered(client):
    assert "登录" in client.get("/ledger/login").text
    r = client.get("/ledger/login?lang=en")
    assert "Log in" in r.text and "paicha_lang=en" in r.headers.get("Set-Cookie", "")
    assert "Log in" in client.get("/ledger/login").text  # the cookie remembers it


def test_login_needs_the_csrf_token(client):
    csrf(client)  # sets the CSRF cookie
    r = client.post("/ledger/login", data={"name": "demo-district", "password": PW})
    assert r.status_code == 400
    r = client.post("/ledger/login", data={"name": "demo-district", "password": PW, "csrf_token": "forged"})
    assert r.status_code == 400
    assert "AuthSession" not in r.headers.get("Set-Cookie", "")


def test_csrf_token_of_another_browser_is_refused(app, client):
    other = app.test_client()
    token = csrf(other)
    csrf(client)
    r = client.post("/ledger/login", data={"name": "demo-district", "password": PW, "csrf_token": token})
    assert r.status_code == 400


def test_wrong_password_is_refused(client):
    r = client.post("/ledger/login", data={"name": "demo-district", "password": "nope", "csrf_token": csrf(client)})
    assert r.status_code == 401 and "AuthSession" not in r.headers.get("Set-Cookie", "")


def test_login_sets_the_same_session_cookie_as_sync(district):
    r = district.get("/_session")
    assert r.json["userCtx"]["name"] == "demo-district"


def test_open_redirect_after_login_is_refused(client):
    r = client.post("/ledger/login", data={"name": "demo-district", "password": PW, "csrf_token": csrf(client),
                                           "next": "//evil.example/ledger"})
    assert r.status_code == 302 and r.headers["Location"] == "/ledger/"


def test_village_cadre_gets_403(client):
    r = client.post("/ledger/login", data={"name": "demo-village", "password": PW, "csrf_token": csrf(client)})
    assert r.status_code == 403
    # ... and with a session from /_session (the phone's cookie) or Basic auth, still 403
    client.post("/_session", json={"name": "demo-village", "password": PW})
    assert client.get("/ledger/").status_code == 403
    assert client.get("/ledger/ledger.xlsx").status_code == 403
    assert client.get(f"/ledger/dispute/dispute-{OWN_VILLAGE}-01").status_code == 403


def test_logout_needs_csrf_and_ends_the_session(district):
    assert district.post("/ledger/logout").status_code == 400
    assert district.get("/ledger/").status_code == 200
    r = district.post("/ledger/logout", data={"csrf_token": csrf(district, "/ledger/")})
    assert r.status_code == 302
    assert district.get("/ledger/").status_code == 302


# -- scope: a township user sees only its township --------------------------------------------------------

def test_township_dashboard_shows_only_its_township(township):
    r = township.get("/ledger/")
    assert r.status_code == 200
    assert "示范镇" in r.text and "示范村一" in r.text
    assert "东山" not in r.text and "石桥村" not in r.text and FOREIGN_VILLAGE not in r.text


@pytest.mark.parametrize("path", ["/ledger/", "/ledger/ledger", "/ledger/ledger.xlsx", "/ledger/ledger.csv",
                                  "/ledger/figures", "/ledger/quarterly", "/ledger/map", "/ledger/disputes"])
@pytest.mark.parametrize("area", [FOREIGN_TOWNSHIP, FOREIGN_VILLAGE, "990101", "99", "990101001x", "abc"])
def test_township_user_cannot_ask_for_another_area(township, path, area):
    r = township.get(f"{path}?area={area}")
    assert r.status_code in (400, 403)
    assert "东山" not in r.text and "石桥" not in r.text


def test_township_user_cannot_open_foreign_records(township):
    foreign_dispute = f"dispute-{FOREIGN_VILLAGE}-01"
    assert township.get(f"/ledger/dispute/{foreign_dispute}").status_code == 404
    assert township.get(f"/ledger/dispute/dispute-{OWN_VILLAGE}-01").status_code == 200
    assert township.get(f"/ledger/report/report-village-{FOREIGN_VILLAGE}-2000-01-01").status_code == 404



def test_township_user_cannot_review_or_issue_notices(app, township):
    report_id = reports_of(township, OWN_VILLAGE)[0]
    token = csrf(township, "/ledger/")
    r = township.post(f"/ledger/report/{report_id}/review", data={"status": "approved", "csrf_token": token})
    assert r.status_code == 403
    r = township.post("/ledger/notice", data={"target_area": OWN_VILLAGE, "subject": "x", "body": "y",
                                              "deadline": "2030-01-01", "csrf_token": token})
    assert r.status_code == 403
    assert "save-review" not in township.get(f"/ledger/report/{report_id}").text


def test_foreign_dispute_and_its_attachment_are_404(app, client):
    # photos on one dispute of each township, written by the admin through CouchDB's API
    admin = basic("demo-admin")
    for village in (OWN_VILLAGE, FOREIGN_VILLAGE):
        doc_id = f"dispute-{village}-02"
        rev = client.get(f"/paicha/{doc_id}", headers=admin).json["_rev"]
        r = client.put(f"/paicha/{doc_id}/photo.jpg?rev={rev}", data=b"\xff\xd8jpeg-" + village.encode(),
                       headers={**admin, "Content-Type": "image/jpeg"})
        assert r.status_code == 201, r.text
    client.delete_cookie("AuthSession")
    login(client, "demo-township")
    own = client.get(f"/ledger/doc/dispute-{OWN_VILLAGE}-02/attachment/photo.jpg")
    assert own.status_code == 200 and own.data == b"\xff\xd8jpeg-" + OWN_VILLAGE.encode()
    assert own.mimetype == "image/jpeg" and own.headers["X-Content-Type-Options"] == "nosniff"
    foreign = client.get(f"/ledger/doc/dispute-{FOREIGN_VILLAGE}-02/attachment/photo.jpg")
    assert foreign.status_code == 404 and b"jpeg" not in foreign.data
    assert client.get(f"/ledger/doc/dispute-{OWN_VILLAGE}-02/attachment/nope.jpg").status_code == 404
    page = client.get(f"/ledger/dispute/dispute-{OWN_VILLAGE}-02")
    assert "photo.jpg" in page.text and "demo-admin" in page.text  # the photo and who added it


# -- the district supervisor's pages -------------------------------------------------------------------------

def test_district_dashboard_covers_every_township(district):
    r = district.get("/ledger/")
    assert r.status_code == 200
    for name in ("示范镇", "东山镇", "示范村一", "石桥村"):
        assert name in r.text
    assert "<svg" in r.text and "http://" not in r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "demo-village" in r.text  # demo phones never synced: listed as not synced
    en = district.get("/ledger/?lang=en")
    assert "Dashboard" in en.text and "Open disputes by category and risk" in en.text


def test_ledger_is_paginated_and_export_has_the_same_rows(app, district):
    area = OWN_TOWNSHIP
    full = district.get(f"/ledger/ledger.csv?area={area}")
    assert full.status_code == 200 and full.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(full.data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["area", "name", "level"] and len(body) > 10
    assert all(r[0].startswith(area) for r in body)
    saved = app.config["PAICHA_LEDGER_PAGE_SIZE"]
    app.config["PAICHA_LEDGER_PAGE_SIZE"] = 5
    try:
        seen = []
        page = 1
        while True:
            r = district.get(f"/ledger/ledger?area={area}&page={page}")
            assert r.status_code == 200
            rounds = re.findall(r'data-round="([^"]+)"', r.text)
            assert len(rounds) <= 5
            seen += rounds
            if 'rel="next"' not in r.text:
                break
            page += 1
        assert page == -(-len(body) // 5)
        assert seen == [r[3] for r in body]  # same rows, same order
        assert district.get(f"/ledger/ledger?area={area}&page=0").status_code == 400
        assert district.get(f"/ledger/ledger?area={area}&page=x").status_code == 400
    finally:
        app.config["PAICHA_LEDGER_PAGE_SIZE"] = saved


def test_xlsx_export_with_filters(district):
    r = district.get(f"/ledger/ledger.xlsx?area={OWN_VILLAGE}&status=on_time&level=village")
    assert r.status_code == 200 and "spreadsheetml" in r.mimetype
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["台账", "筛选条件"]
    sheet = wb["台账"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("区域代码", "区域", "层级", "轮次编号")
    assert len(rows) > 1
    assert {row[0] for row in rows[1:]} == {OWN_VILLAGE} and {row[8] for row in rows[1:]} == {"按时"}
    assert {row[2] for row in rows[1:]} == {"村级"}
    assert all(row[9] for row in rows[1:])  # every on-time round has its report
    assert sheet.column_dimensions["D"].width == 40  # columns as wide as their contents
    filters = dict(wb["筛选条件"].iter_rows(values_only=True))
    assert filters["区域"] == OWN_VILLAGE and filters["状态"] == "按时" and filters["层级"] == "村级"
    # the CSV keeps the keys and codes, for programs
    csv_text = district.get(f"/ledger/ledger.csv?area={OWN_VILLAGE}&status=on_time&level=village").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("area,name,level,round_id") and ",on_time," in csv_text
    assert district.get("/ledger/ledger.xlsx?status=bogus").status_code == 400
    assert district.get("/ledger/ledger.xlsx?area=990201").status_code == 403  # another district


def test_figures_quarterly_map_and_disputes(district):
    figures = district.get("/ledger/figures")
    assert figures.status_code == 200 and "及时受理率" in figures.text and "<svg" in figures.text
    links = re.findall(r'href="(/ledger/disputes\?[^"]*figure=[^"]+)"', figures.text)
    assert len(links) == 10 * 4  # each figure's numerator and denominator, this period and a year before
    behind = district.get(links[0].replace("&amp;", "&"))
    assert behind.status_code == 200 and "dispute-" in behind.text
    quarterly = district.get("/ledger/quarterly")
    assert quarterly.status_code == 200 and "@media print" in district.get("/ledger/static/ledger.css").text
    m = district.get("/ledger/map")
    assert m.status_code == 200 and 'class="visit' in m.text and "flagged" in m.text
    assert district.get("/ledger/disputes?open=1&key=1").status_code == 200
    assert district.get("/ledger/disputes?risk=extreme").status_code == 400


def test_dispute_file_shows_history(district):
    r = district.get(f"/ledger/dispute/dispute-{OWN_VILLAGE}-01")
    assert r.status_code == 200
    assert "demo-admin" in r.text  # who wrote it (the demo seed writes as the admin)
    assert 'id="revisions"' in r.text and "当面调解" in r.text  # mediation records, in words
    assert district.get("/ledger/dispute/household-990101001001-001").status_code == 404  # not a dispute


# -- writes: reviews and notices ---------------------------------------------------------------------------

def reviews_of(client, report_id: str, who: str = "demo-district") -> list[dict]:
    """The report's review documents as `who` reads them by sync (an id range)."""
    r = client.get(f'/paicha/_all_docs?include_docs=true&startkey="review-{report_id}"'
                   f'&endkey="review-{report_id}~\ufff0"', headers=basic(who))
    assert r.status_code == 200
    return sorted((row["doc"] for row in r.json["rows"] if row["doc"]["report_id"] == report_id),
                  key=lambda d: (d["reviewed_at"], d["_id"]))


def test_every_review_is_kept_and_a_corrected_report_awaits_re_review(app, district, client):
    report_id = reports_of(district, OWN_VILLAGE)[1]
    page = f"/ledger/report/{report_id}"
    token = csrf(district, page)
    # no CSRF token: refused, nothing written
    assert district.post(f"{page}/review", data={"status": "approved"}).status_code == 400
    assert reviews_of(client, report_id) == []
    # sent back needs a comment
    r = district.post(f"{page}/review", data={"status": "sent_back", "csrf_token": token})
    assert r.status_code == 422
    r = district.post(f"{page}/review", data={"status": "sent_back", "comment": "请补充排查户数", "csrf_token": token})
    assert r.status_code == 302
    # the cadre of that village reads it through sync (their scope) ...
    [sent_back] = reviews_of(client, report_id, "demo-village")
    assert sent_back["type"] == "report_review" and sent_back["status"] == "sent_back"
    assert sent_back["area"] == OWN_VILLAGE and sent_back["created_by"] == "demo-district"
    # ... but not the cadre of the other village
    assert reviews_of(client, report_id, "demo-village2") == []
    assert report_id in district.get(f"/ledger/ledger?area={OWN_VILLAGE}&review=sent_back").text
    # the cadre corrects the report: awaiting re-review, in the ledger and on the report page
    report = client.get(f"/paicha/{report_id}", headers=basic("demo-village")).json
    r = client.put(f"/paicha/{report_id}", json={**report, "households_screened": 212}, headers=basic("demo-village"))
    assert r.status_code == 201, r.json
    assert report_id in district.get(f"/ledger/ledger?area={OWN_VILLAGE}&review=resubmitted").text
    assert report_id not in district.get(f"/ledger/ledger?area={OWN_VILLAGE}&review=sent_back").text
    assert "已更正重报，待复审" in district.get(page).text
    # a re-review is a new review: the first is kept as written
    r = district.post(f"{page}/review", data={"status": "approved", "comment": "", "csrf_token": token})
    assert r.status_code == 302
    first, second = reviews_of(client, report_id, "demo-village")
    assert first == {**sent_back} and second["status"] == "approved" and second["_rev"].startswith("1-")
    assert "comment" not in second and second["_id"] != first["_id"]
    text = district.get(page).text
    trail = text[text.index('id="review-trail"'):]
    trail = trail[:trail.index("</table>")]
    assert "请补充排查户数" in trail and trail.index("退回") < trail.index("已通过")  # both, oldest first
    listed = district.get(f"/ledger/ledger?area={OWN_VILLAGE}&review=approved")
    assert report_id in listed.text
    # editing a review by sync is refused: every review stays as it was written
    r = client.put(f"/paicha/{first['_id']}", json={**first, "status": "approved"}, headers=basic("demo-district"))
    assert r.status_code == 403 and "new review" in r.json["reason"]
    with app.app_context():
        from server.services.audit import history

        entries = history("paicha", first["_id"])
    assert [e.account for e in entries] == ["demo-district"]
    assert district.post(f"{page}/review", data={"status": "bogus", "csrf_token": token}).status_code == 400


def test_review_of_unknown_report_is_404(district):
    token = csrf(district, "/ledger/")
    r = district.post("/ledger/report/no-such-report/review", data={"status": "approved", "csrf_token": token})
    assert r.status_code == 404


def test_supervision_notice(app, district, client):
    r = district.get(f"/ledger/notice?area={OWN_VILLAGE}&dispute_id=dispute-{OWN_VILLAGE}-01")
    assert r.status_code == 200
    token = CSRF.search(r.text).group(1)
    form = {"target_area": OWN_VILLAGE, "subject": "督办：宅基地纠纷", "body": "请于期限内化解并报告。",
            "deadline": "2030-01-15", "issued_by": "区矛盾纠纷排查化解办", "dispute_id": f"dispute-{OWN_VILLAGE}-01",
            "csrf_token": token}
    assert district.post("/ledger/notice", data={**form, "csrf_token": ""}).status_code == 400
    assert district.post("/ledger/notice", data={**form, "target_area": "990201001001"}).status_code == 403
    r = district.post("/ledger/notice", data=form)
    assert r.status_code == 200, r.text[:500]
    notice_id = re.search(r"<code>(notice-[^<]+)</code>", r.text).group(1)
    doc = client.get(f"/paicha/{notice_id}", headers=basic("demo-village")).json
    assert doc["type"] == "supervision_notice" and doc["target_area"] == OWN_VILLAGE and doc["status"] == "issued"
    assert doc["created_by"] == "demo-district" and doc["dispute_id"] == f"dispute-{OWN_VILLAGE}-01"
    r = district.post("/ledger/notice", data={**form, "deadline": "not-a-date"})
    assert r.status_code == 422  # refused by the schema (and kept in the quarantine)
    assert "督办：宅基地纠纷" in district.get(f"/ledger/?area={OWN_TOWNSHIP}").text


# -- the ledger's round index agrees with the calendar ------------------------------------------------------

def test_ledger_status_in_sql_is_the_calendars_status(app):
    """calendar_rounds (settled status + `status_at_sql`) gives every round the status the calendar's
    own `status_report` computes, at several moments (before and after due dates)."""
    import datetime as dt

    from server.services.calendar.tracking import status_report
    from server.services.ledger import rounds, windows

    today = windows.today()
    for since, until in ((today - dt.timedelta(days=90), today), (today - dt.timedelta(days=60), today - dt.timedelta(days=25)),
                         (today - dt.timedelta(days=20), today - dt.timedelta(days=9))):
        with app.test_request_context("/ledger/"):
            sql = {r.round_id: (r.status, r.report_id, r.area) for r in rounds.round_rows("", since, until)}
            counts = rounds.status_counts("", since, until, by="level")
        with app.app_context():
            now = windows.status_now(until)
            python = {s.planned.id: (s.status.status, s.status.submission.doc_id if s.status.submission else None,
                                     s.planned.area)
                      for s in status_report(app, day=until, since=since, now=now) if s.doc is not None}
        assert sql == python
        assert sum(sum(c.values()) for c in counts.values()) == len(sql)
        assert {st for st, _, _ in sql.values()} >= {"on_time", "late"}


def test_ledger_rows_follow_deleted_rounds_and_reviews(app, district):
    """A deleted round document shows as missing; a review shows in the row without re-reading docs."""
    admin = basic("demo-admin")
    rows = district.get(f"/ledger/ledger.csv?area={FOREIGN_VILLAGE}&status=overdue").data.decode("utf-8-sig")
    body = list(csv.reader(io.StringIO(rows)))[1:]
    if not body:
        pytest.skip("the demo seed left no overdue round in that village")
    round_id = body[0][3]
    rev = district.get(f"/paicha/{round_id}", headers=admin).json["_rev"]
    assert district.delete(f"/paicha/{round_id}?rev={rev}", headers=admin).status_code == 200
    rows = district.get(f"/ledger/ledger.csv?area={FOREIGN_VILLAGE}&status=missing").data.decode("utf-8-sig")
    assert round_id in rows


# -- the map on a tile server ---------------------------------------------------------------------------------

TILES = "https://{s}.tiles.example/{z}/{x}/{y}.png"


def _map_data(text: str) -> dict:
    import html
    import json

    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.S)
    return json.loads(html.unescape(found.group(1))) if found else None


def test_map_without_tiles_is_svg_only(district):
    r = district.get("/ledger/map")
    assert r.status_code == 200 and 'class="visit' in r.text
    assert "leaflet" not in r.text and _map_data(r.text) is None


def test_map_on_a_configured_tile_server(app, district):
    from server.services.geo.crs import wgs84_to_gcj02

    saved = {k: app.config.get(k) for k in ("PAICHA_MAP_TILES", "PAICHA_MAP_TILES_CRS")}
    try:
        app.config.update(PAICHA_MAP_TILES=TILES, PAICHA_MAP_TILES_CRS="WGS-84")
        r = district.get("/ledger/map")
        assert r.status_code == 200
        # the vendored Leaflet, served by the app; the SVG fallback still on the page
        for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "map.js"):
            assert f"/ledger/static/{asset}" in r.text
            assert district.get(f"/ledger/static/{asset}").status_code == 200
        assert district.get("/ledger/static/vendor/leaflet/images/marker-icon.png").status_code == 200
        assert 'id="visit-map"' in r.text and 'class="visit' in r.text
        # no external URL but the tile template (the SVG namespace is a name, not a fetch)
        urls = set(re.findall(r'https?://[^\s"\'<>]+', r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")))
        assert urls == {TILES}
        assert "img-src 'self' data: https://*.tiles.example;" in r.headers["Content-Security-Policy"]
        assert "script-src 'self';" in r.headers["Content-Security-Policy"]
        wgs = _map_data(r.text)
        assert wgs["tiles"] == TILES and wgs["visits"] and wgs["villages"]
        assert any(p["flagged"] for p in wgs["visits"]) and not all(p["flagged"] for p in wgs["visits"])
        # Chinese tile servers (GCJ-02): the same points, shifted as the tiles are
        app.config["PAICHA_MAP_TILES_CRS"] = "GCJ-02"
        gcj = _map_data(district.get("/ledger/map").text)
        for a, b in zip(wgs["visits"], gcj["visits"]):
            expected = wgs84_to_gcj02(*a["at"])
            assert b["at"] == pytest.approx(list(expected), abs=1e-6) and a["at"] != b["at"]
        for a, b in zip(wgs["villages"], gcj["villages"]):
            if a["centre"]:
                assert b["centre"] == pytest.approx(list(wgs84_to_gcj02(*a["centre"])), abs=1e-6)
    finally:
        app.config.update(saved)


def test_dispute_facts_follow_writes_and_backfill(app, district):
    """ledger_records follows every write (a projection in the write's transaction), a deletion, and
    `flask projections rebuild` refills it from the store."""
    from server.services.ledger.tables import records

    admin = basic("demo-admin")
    doc_id = f"dispute-{FOREIGN_VILLAGE}-02"
    doc = district.get(f"/paicha/{doc_id}", headers=admin).json
    doc.update(risk_level="key", status="mediating", summary="（测试）升级为重大风险")
    assert district.put(f"/paicha/{doc_id}", json=doc, headers=admin).status_code == 201
    listed = district.get(f"/ledger/disputes?open=1&key=1&area={FOREIGN_VILLAGE}").text
    assert doc_id in listed and "升级为重大风险" in listed
    store = app.extensions["paicha_store"]
    with store.writing() as conn:  # as if the rows were never indexed: pages do not write, a command fills them
        conn.execute(records.delete())
    assert doc_id not in district.get(f"/ledger/disputes?open=1&key=1&area={FOREIGN_VILLAGE}").text
    result = app.test_cli_runner().invoke(args=["projections", "rebuild"])
    assert result.exit_code == 0 and "documents projected" in result.output, result.output
    assert doc_id in district.get(f"/ledger/disputes?open=1&key=1&area={FOREIGN_VILLAGE}").text
    rev = district.get(f"/paicha/{doc_id}", headers=admin).json["_rev"]
    assert district.delete(f"/paicha/{doc_id}?rev={rev}", headers=admin).status_code == 200
    assert doc_id not in district.get(f"/ledger/disputes?area={FOREIGN_VILLAGE}").text


def figure_members(facts: list[dict], metric: str, since, until, *, accept_days: int,
                   resolve_days: int) -> list[tuple[dict, bool]]:
    """The disputes behind a figure, by the rules as the ledger states them (in Python, the test's
    own reading of them): (dispute, counts towards the numerator), for the denominator set.

        timely_acceptance   registered in the window; accepted within `accept_days` of registration
        on_time_resolution  registered in the window; resolved within `resolve_days` of acceptance
        one_time_rate       resolved in the window; resolved at the first attempt
        satisfaction_rate   resolved in the window with a satisfaction recorded; satisfied or basically
    """
    import datetime as dt

    from server.services.calendar.periods import start_of_day
    from server.services.ledger.windows import end_of

    lo, hi = start_of_day(since), end_of(until)
    accept, resolve = dt.timedelta(days=accept_days), dt.timedelta(days=resolve_days)
    out = []
    for f in facts:
        created, accepted, resolved = f["created_at_dt"], f["accepted_at_dt"], f["resolved_at_dt"]
        if metric == "timely_acceptance" and created is not None and lo <= created < hi:
            out.append((f, accepted is not None and accepted - created <= accept))
        elif metric == "on_time_resolution" and created is not None and lo <= created < hi:
            start = accepted or created
            out.append((f, resolved is not None and resolved - start <= resolve))
        elif metric == "one_time_rate" and resolved is not None and lo <= resolved < hi:
            out.append((f, bool(f["one_time_resolution"])))
        elif metric == "satisfaction_rate" and resolved is not None and lo <= resolved < hi and f["satisfaction"]:
            out.append((f, f["satisfaction"] in ("satisfied", "basically")))
    return out


def test_figures_in_sql_are_the_figure_members(app, district):
    """The counts of each dispute figure (SQL) are those of `figure_members` (the rules, in Python)."""
    import datetime as dt

    from server.core.access import domain_database
    from server.core.auth import Principal
    from server.services.ledger import disputes, metrics, windows

    today = windows.today()
    with app.test_request_context("/ledger/figures"):
        database = domain_database(Principal("demo-district", "district_supervisor", "990101", None))
        for since, until, accept, resolve in ((today - dt.timedelta(days=90), today, 1, 30),
                                              (today - dt.timedelta(days=40), today, 0, 6), (today, today, 1, 30)):
            sql = metrics.dispute_figures(database, "", since, until, accept_days=accept, resolve_days=resolve)
            facts = disputes.dispute_facts(database, "", since, until)
            for metric in metrics.DISPUTE_METRICS:
                members = figure_members(facts, metric, since, until, accept_days=accept, resolve_days=resolve)
                assert (sql[metric]["den"], sql[metric]["num"]) == (len(members), sum(ok for _, ok in members)), metric
                page = metrics.dispute_members(database, "", metric, since, until, accept_days=accept,
                                               resolve_days=resolve, limit=1000)
                assert [(f["id"], ok) for f, ok in page] == sorted((f["id"], ok) for f, ok in members)
            if since < today:
                assert any(sql[m]["den"] for m in metrics.DISPUTE_METRICS)
            # the trend's months (Asia/Shanghai), grouped in SQL
            from collections import Counter

            from server.services.calendar.periods import SHANGHAI

            expected = {"registered": Counter(), "resolved": Counter()}
            for f in facts:
                for key, moment in (("registered", f["created_at_dt"]), ("resolved", f["resolved_at_dt"])):
                    if windows.in_window(moment, since, until):
                        expected[key][moment.astimezone(SHANGHAI).strftime("%Y-%m")] += 1
            months = metrics.dispute_months(database, "", since, until)
            for key in expected:
                assert {m: c[key] for m, c in months.items() if c.get(key)} == dict(expected[key])


def test_dispute_facts_are_the_winners_when_branches_are_replicated(app, district):
    """A replicated losing branch does not change a dispute's facts; a winning one does; a batch
    holding both edits of a document indexes its final winner."""
    import sqlalchemy as sa

    from server.services.ledger.tables import records

    admin = basic("demo-admin")
    doc_id = f"dispute-{OWN_VILLAGE}-01"
    doc = district.get(f"/paicha/{doc_id}", headers=admin).json
    assert district.put(f"/paicha/{doc_id}", json={**doc, "summary": "（测试）当前版本"}, headers=admin).status_code == 201
    doc = district.get(f"/paicha/{doc_id}?revs=true", headers=admin).json
    # Branches fork from the winner's parent: siblings of the winner, at its depth or deeper.
    pos, parent = int(doc["_rev"].split("-")[0]) - 1, doc["_revisions"]["ids"][1:]

    def branch(rev_hash: str, summary: str, depth: int = 1) -> dict:
        ids = [f"{rev_hash}{i}" for i in range(depth, 0, -1)] + parent
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        return {**body, "summary": summary, "_id": doc_id, "_rev": f"{pos + depth}-{ids[0]}",
                "_revisions": {"start": pos + depth, "ids": ids}}

    def summary() -> str:
        with app.extensions["paicha_store"].reading() as conn:
            return conn.execute(sa.select(records.c.summary).where(records.c.doc_id == doc_id)).scalar_one()

    def push(*docs) -> None:
        r = district.post("/paicha/_bulk_docs", json={"docs": list(docs), "new_edits": False}, headers=admin)
        assert r.status_code == 201 and r.json == [], r.json

    winner = district.get(f"/paicha/{doc_id}", headers=admin).json["summary"]
    push(branch("0000", "（测试）输掉的分支"))  # "0000..." sorts below any md5 rev: it loses
    assert district.get(f"/paicha/{doc_id}", headers=admin).json["summary"] == winner
    assert summary() == winner
    push(branch("ffff", "（测试）赢的分支"), branch("0001", "（测试）又一个输的分支"))
    assert district.get(f"/paicha/{doc_id}", headers=admin).json["summary"] == "（测试）赢的分支"
    assert summary() == "（测试）赢的分支"
    push(branch("aaaa", "（测试）更长的分支", depth=2))  # longer: wins over ffff
    assert summary() == "（测试）更长的分支"


def test_pages_only_read(app, district):
    # Read models are kept by every write's own transaction: no page brings one up to date, so a
    # GET sends no INSERT, UPDATE or DELETE to the store's documents or read models. The one write
    # a page makes on purpose is the log of who opened a matter's file (`file_openings`: the design's
    # "every opening of a file is logged"), an INSERT into that append-only table and nothing else.
    from sqlalchemy import event

    from server.core.db import db

    written: list[str] = []
    logged: list[str] = []
    seen = []

    def _note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            if statement.lstrip().upper().startswith("INSERT INTO FILE_OPENINGS "):
                logged.append(statement)
                return
            written.append(statement[:120])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _note)
    try:
        for path in PAGES + ["/ledger/ledger?level=village", f"/ledger/ledger?area={OWN_VILLAGE}"]:
            r = district.get(path)
            r.get_data()  # an export is produced as it is read: read it whole
            assert r.status_code in (200, 404), (path, r.status_code)  # the demo's dispute has no photo
    finally:
        event.remove(engine, "before_cursor_execute", _note)
    assert len(seen) > 20 and written == []  # the pages did query the store, and only read it
    assert logged  # ... but the dispute's file and the disputes' export logged their openings


def test_the_favicon_is_the_ledgers_icon_not_an_api_error(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["Location"].endswith("/ledger/static/favicon.svg")
    icon = client.get(r.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


@pytest.mark.parametrize("path", ["/ledger/ledger?area=990101009", "/ledger/?area=990101001099",
                                  "/ledger/disputes?area=990101009"])
def test_an_area_not_in_the_register_is_a_404_that_names_it(district, path):
    r = district.get(path)
    assert r.status_code == 404 and "不在区域名录中" in r.text and path.rsplit("=", 1)[1] in r.text


def test_the_figures_trend_keeps_to_the_windows_months(district):
    page = district.get("/ledger/figures?since=2026-09-09&until=2026-12-08").text
    months = re.findall(r"<td>(20\d\d-\d\d)</td>", page)
    assert months and min(months) >= "2026-09" and max(months) <= "2026-12", months


def test_a_dispute_file_says_its_codes_in_words(district):
    page = district.get(f"/ledger/dispute/dispute-{OWN_VILLAGE}-01").text
    shown = re.sub(r"<[^>]+>", " ", page)  # the text a reader sees, not attributes or links
    for code in ("satisfied", "in_person", "not_agreed", "joint", "(tree)", "available", "accepted_at",
                 "risk_level", "one_time_resolution"):
        assert code not in shown, code
    assert "满意" in shown and "当面调解" in shown and "版本链" in shown and "受理时间" in shown


def test_the_pager_goes_to_any_page_and_a_page_past_the_end_goes_to_the_last(district, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAICHA_LEDGER_PAGE_SIZE", 2)
    first = district.get(f"/ledger/ledger?area={OWN_TOWNSHIP}&since=2026-01-01&until=2026-12-31")
    pages = int(re.search(r"第 1 页 / (\d+)", first.text).group(1))
    assert pages > 10 and 'rel="last"' in first.text and 'name="page"' in first.text  # the go-to form
    numbered = re.findall(r'class="page-n" href="[^"]*page=(\d+)', first.text)
    assert numbered == ["2", "3", "4", "5"]
    r = district.get(f"/ledger/ledger?area={OWN_TOWNSHIP}&since=2026-01-01&until=2026-12-31&page=99999")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"page={pages}")
    last = district.get(r.headers["Location"])
    assert f"第 {pages} 页 / {pages}" in last.text and 'rel="next"' not in last.text


def test_the_dashboard_counts_its_key_disputes_and_rolls_coverage_up_to_the_townships(district):
    page = district.get("/ledger/").text
    count = re.search(r'id="key-count">共 (\d+) 件，显示 (\d+) 件。', page)
    assert count and int(count.group(2)) <= min(20, int(count.group(1)))
    table = page[page.index('id="coverage-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr data-area="(\d+)"', table)
    assert rows == [OWN_TOWNSHIP, FOREIGN_TOWNSHIP]  # the district's townships, not their villages
    assert f"area={OWN_TOWNSHIP}" in table
    township = district.get(f"/ledger/?area={OWN_TOWNSHIP}").text
    table = township[township.index('id="coverage-table"'):]
    assert OWN_VILLAGE in table[:table.index("</table>")]


def test_the_figures_list_the_levels_from_the_village_up(district):
    page = district.get("/ledger/figures?since=2026-01-01&until=2026-12-31").text
    order = [page.index(word) for word in ("村级", "乡镇级", "区级", "季度研判")]
    assert order == sorted(order)


def test_a_dispute_file_shows_every_recorded_field(district, client):
    doc = {"type": "dispute", "area": OWN_VILLAGE, "created_by": "demo-village",
           "created_at": "2026-12-01T09:00:00+08:00", "summary": "土地承包款纠纷", "category": "land",
           "risk_level": "medium", "status": "registered", "occurred_on": "2026-11-28", "people_involved": 7,
           "amount_yuan": 12500.5, "round_id": f"round-village-{OWN_VILLAGE}-2026-11-21",
           "parties": [{"name": "王建国", "role": "applicant", "phone": "13891234567"}]}
    assert client.put("/paicha/dispute-all-fields", json=doc, headers=basic("demo-village")).status_code == 201
    page = district.get("/ledger/dispute/dispute-all-fields").text
    assert "2026-11-28" in page and "7 人" in page and "12,500.50 元" in page
    assert f"round-village-{OWN_VILLAGE}-2026-11-21" in page


def test_a_review_comment_over_the_limit_is_refused_with_the_limit_not_cut(district, client):
    report_id = reports_of(district, OWN_VILLAGE)[2]
    page = f"/ledger/report/{report_id}"
    token = csrf(district, page)
    r = district.post(f"{page}/review", data={"status": "sent_back", "comment": "请核实。" * 1001, "csrf_token": token})
    assert r.status_code == 422 and "最多 4000 字" in r.text and "4004" in r.text
    assert "请核实。" * 1001 in r.text  # what was typed comes back
    r = district.post(f"{page}/review", data={"status": "sent_back", "comment": "请核实。" * 1000, "csrf_token": token})
    assert r.status_code == 302
