"""Hostile input is refused with a reason, never a 5xx: each case found by hand, with the exact answer.

/api/v1 answers a problem document of the catalogue, /ledger a 400 page in Chinese, /_geo a JSON
error. Dates are kept to the years 1900 to 2100 (beyond them Python's datetime overflows applying an
offset), lone surrogates ("half a character") are not text, documents are shallow, and numbers must
be ones a phone holds exactly. tests/integration/test_hostile_fuzz.py throws random input at the
same endpoints. SQLite and PostgreSQL.
"""
from __future__ import annotations

import itertools
import json
import re
import uuid

import pytest
import sqlalchemy as sa

import mobile_api
from mobile_api.problems import PROBLEMS

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

API = "/api/v1"
VILLAGE, TOWNSHIP = "990101001001", "990101001"
YEAR_ONE = "0001-01-01T00:00:00+14:00"
YEAR_9999 = "9999-12-31T23:59:59-23:59"
OUTSIDE = "is outside the years 1900 to 2100"


@pytest.fixture(scope="module", autouse=True)
def _wired(app):
    mobile_api.init_app(app)  # a no-op once create_app calls it


@pytest.fixture(scope="module")
def bearer(app):
    """bearer(name) -> Authorization header of a fresh token (no argon2 hash: it is slow)."""
    from server.services import tokens
    from server.core.db import db
    from server.core.models import Account

    numbers = itertools.count()

    def make(name: str = "demo-township") -> dict:
        with app.app_context():
            account_id = db.session.execute(sa.select(Account.id).where(Account.name == name)).scalar_one()
            db.session.rollback()
            return {"Authorization": "Bearer " + tokens.issue(account_id, f"hostile-{next(numbers)}")[0]}

    return make


@pytest.fixture(scope="module")
def ledger(app):
    """A client logged in to the ledger as the district supervisor (its session cookie)."""
    client = app.test_client()
    page = client.get("/ledger/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/ledger/login", data={"name": "demo-district", "password": "demo-password", "csrf_token": token})
    assert r.status_code == 302, r.status_code
    return client


def problem(r, code: str, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.data[:500])
    assert r.mimetype == "application/problem+json"
    body = r.json
    assert body["code"] == code and body["status"] == status and PROBLEMS[code].status == status
    assert body["type"] == f"https://paicha.example/problems/{code}" and body["title"] and body["detail"]
    return body


def raw_post(client, path: str, text: str, headers: dict | None = None, lang: str = "en"):
    """POST JSON text as is (json= would refuse to encode half a character)."""
    return client.post(API + path, data=text.encode("utf-8"), content_type="application/json",
                       headers={**(headers or {}), "Accept-Language": lang})


def visit(**extra) -> dict:
    return {"id": f"visit-{uuid.uuid4().hex[:12]}", "area": VILLAGE, "household_id": f"household-{VILLAGE}-001",
            "purpose": "routine", "visited_at": "2026-11-20T10:00:00+08:00",
            "fix": {"lat": 34.3405, "lon": 108.7176, "crs": "WGS-84", "accuracy_m": 10,
                    "fix_time": "2026-11-20T10:00:00+08:00"}, **extra}


def dispute(**extra) -> dict:
    return {"id": f"dispute-{uuid.uuid4().hex[:12]}", "area": VILLAGE, "summary": "（测试）邻里纠纷",
            "parties": [{"name": "张三", "role": "applicant"}], "category": "neighbourhood",
            "risk_level": "low", "status": "registered", **extra}


# -- /api/v1: half a character ---------------------------------------------------------------------------

def test_login_with_a_lone_surrogate_as_name_is_not_unicode(client):
    r = raw_post(client, "/auth/login", '{"name": "\\ud800", "password": "x", "device_id": "p1"}')
    body = problem(r, "invalid_unicode", 400)
    assert body["field"] == "name"
    assert body["detail"] == ("name: holds half a character (the lone UTF-16 surrogate \\ud800): "
                              "the text is not valid Unicode.")
    zh = problem(raw_post(client, "/auth/login", '{"name": "\\ud800", "password": "x", "device_id": "p1"}',
                          lang="zh"), "invalid_unicode", 400)
    assert zh["title"] == "文本不是有效的 Unicode" and "不是有效的 Unicode 文本" in zh["detail"]


def test_a_visit_with_half_a_character_in_its_notes_is_not_unicode(client, bearer):
    text = json.dumps(visit(notes="走访\ud83d"), ensure_ascii=True)  # a high surrogate without its pair
    body = problem(raw_post(client, "/visits", text, bearer()), "invalid_unicode", 400)
    assert body["field"] == "notes" and "\\ud83d" in body["reason"]
    # The whole pair is one character, and welcome.
    whole = visit(notes="走访 \U0001F600")
    r = raw_post(client, "/visits", json.dumps(whole, ensure_ascii=True), bearer())
    assert r.status_code == 201 and r.json["notes"] == whole["notes"]


@pytest.mark.parametrize("text, field", [
    ('{"id": "x", "parties": [{"name": "\\udc00"}]}', "parties[0].name"),
    ('{"\\udfff": 1}', "\\udfff"),
])
def test_half_a_character_is_found_anywhere_in_the_body(client, bearer, text, field):
    body = problem(raw_post(client, "/disputes", text, bearer()), "invalid_unicode", 400)
    assert body["field"] == field


def test_surrogates_encoded_as_utf8_and_other_non_utf8_bytes_are_not_unicode(client, bearer):
    for raw in (b'{"notes": "\xed\xa0\x80"}', b'{"notes": "\xff"}'):
        r = client.post(f"{API}/visits", data=raw, content_type="application/json", headers=bearer())
        assert problem(r, "invalid_unicode", 400)["field"] == "body"


# -- /api/v1: dates the domain cannot handle -------------------------------------------------------------

def test_a_fix_time_in_year_one_with_a_positive_offset_is_refused_naming_the_field(client, bearer):
    v = visit()
    v["fix"]["fix_time"] = YEAR_ONE
    body = problem(client.post(f"{API}/visits", json=v, headers=bearer()), "invalid_body", 400)
    assert body["errors"] == [f"fix.fix_time: '{YEAR_ONE}' {OUTSIDE}"]


def test_visited_at_at_the_end_of_9999_with_a_negative_offset_is_refused(client, bearer):
    body = problem(client.post(f"{API}/visits", json=visit(visited_at=YEAR_9999), headers=bearer()),
                   "invalid_body", 400)
    assert body["errors"] == [f"visited_at: '{YEAR_9999}' {OUTSIDE}"]


@pytest.mark.parametrize("value, ok", [("1899-12-31T23:59:59Z", False), ("1900-01-01T00:00:00+08:00", True),
                                       ("2100-12-31T23:59:59-12:00", True), ("2101-01-01T00:00:00Z", False)])
def test_the_years_1900_to_2100_are_the_edge(client, bearer, value, ok):
    r = client.post(f"{API}/visits", json=visit(visited_at=value), headers=bearer())
    if ok:
        assert r.status_code == 201, r.json
    else:
        assert problem(r, "invalid_body", 400)["errors"] == [f"visited_at: '{value}' {OUTSIDE}"]


def test_dates_of_other_records_are_kept_to_the_same_years(client, bearer):
    body = problem(client.post(f"{API}/disputes", json=dispute(occurred_on="0001-01-01"), headers=bearer()),
                   "invalid_body", 400)
    assert body["errors"] == [f"occurred_on: '0001-01-01' {OUTSIDE}"]
    report = {"id": f"report-{uuid.uuid4().hex[:12]}", "area": VILLAGE, "round_id": "round-x", "nil_report": True,
              "submitted_at": YEAR_9999}
    body = problem(client.post(f"{API}/reports", json=report, headers=bearer("demo-village")), "invalid_body", 400)
    assert body["errors"] == [f"submitted_at: '{YEAR_9999}' {OUTSIDE}"]


def test_a_bad_fix_time_pushed_through_bulk_docs_is_refused_for_that_document_only(client, bearer):
    """The same checks run for replication: one refused document, with its reason; the others saved."""
    v = visit(visitor="demo-township", created_by="demo-township", created_at="2026-11-20T10:00:00+08:00",
              type="household_visit")
    bad = {**v, "_id": v.pop("id"), "fix": {**v["fix"], "fix_time": YEAR_ONE}}
    good = {**v, "_id": f"visit-{uuid.uuid4().hex[:12]}"}
    r = client.post("/paicha/_bulk_docs", json={"docs": [bad, good]}, headers=bearer())
    assert r.status_code == 201, r.data[:500]
    refused, saved = r.json
    assert refused["id"] == bad["_id"] and refused["error"] == "forbidden"
    assert f"fix.fix_time: '{YEAR_ONE}' {OUTSIDE}" in refused["reason"]
    assert saved["id"] == good["_id"] and saved.get("ok") is True


def test_the_geo_check_itself_refuses_an_overflowing_fix_time():
    from server.services.geo.checks import parse_time, validate_fix

    fix = {"lat": 34.3405, "lon": 108.7176, "crs": "WGS-84", "accuracy_m": 10, "fix_time": YEAR_ONE}
    assert validate_fix(fix) == f"fix.fix_time '{YEAR_ONE}' {OUTSIDE}"
    assert parse_time(YEAR_ONE) is None and parse_time(YEAR_9999) is None


# -- /api/v1: depth and numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/auth/login", "/visits", "/disputes", "/reports"])
def test_json_nested_10000_deep_is_refused(client, bearer, path):
    for text in ("[" * 10000 + "]" * 10000, '{"notes": ' + '{"a": ' * 10000 + "1" + "}" * 10001):
        body = problem(raw_post(client, path, text, bearer()), "invalid_json", 400)
        assert body["reason"] == "it is nested more than 32 levels deep"


@pytest.mark.parametrize("literal, error", [
    ("1e400", "amount_yuan: 1e400 is too large a number (beyond a 64-bit float)"),
    ("-1e400", "amount_yuan: -1e400 is too large a number (beyond a 64-bit float)"),
    ("1" + "0" * 40, "amount_yuan: 100000000000...(41 characters) is beyond the whole numbers a phone holds "
                     "exactly (-9007199254740991 to 9007199254740991)"),
    ("9007199254740992", "amount_yuan: 9007199254740992 is beyond the whole numbers a phone holds exactly "
                         "(-9007199254740991 to 9007199254740991)"),
])
def test_numbers_a_phone_cannot_hold_are_refused_naming_the_field(client, bearer, literal, error):
    text = json.dumps(dispute(amount_yuan=0)).replace('"amount_yuan": 0', f'"amount_yuan": {literal}')
    body = problem(raw_post(client, "/disputes", text, bearer()), "invalid_body", 400)
    assert body["errors"] == [error]


def test_nan_and_infinity_are_not_json(client, bearer):
    text = json.dumps(dispute(amount_yuan=0)).replace('"amount_yuan": 0', '"amount_yuan": NaN')
    body = problem(raw_post(client, "/disputes", text, bearer()), "invalid_json", 400)
    assert body["reason"] == "it holds NaN or Infinity, which are not JSON"


def test_the_largest_numbers_a_phone_holds_are_kept_exactly(client, bearer):
    d = dispute(amount_yuan=9007199254740991, people_involved=9007199254740991)
    r = client.post(f"{API}/disputes", json=d, headers=bearer())
    assert r.status_code == 201, r.json
    back = client.get(f"{API}/disputes/{d['id']}", headers=bearer()).json
    assert back["amount_yuan"] == back["people_involved"] == 9007199254740991


@pytest.mark.parametrize("query, name", [
    ("limit=18446744073709551617", "limit"), ("limit=-9223372036854775809", "limit"), ("limit=1.5", "limit"),
    ("limit=", "limit"), ("limit=%00", "limit"), ("cursor=%ff%fe", "cursor"), ("area=1e3", "area"),
])
def test_bad_query_parameters_are_invalid_parameter(client, bearer, query, name):
    for path in ("/visits", "/disputes", "/reports", "/households"):
        body = problem(client.get(f"{API}{path}?{query}", headers=bearer()), "invalid_parameter", 400)
        assert body["name"] == name


# -- /ledger: a 400 page in Chinese ---------------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("quarter=0001Q1", "参数 quarter 不是有效季度：须为 1900 至 2100 年间的季度，格式如 2026Q1。"),
    ("quarter=9999Q4", "参数 quarter 不是有效季度：须为 1900 至 2100 年间的季度，格式如 2026Q1。"),
    ("quarter=2026Q5", "参数 quarter 不是有效季度：须为 1900 至 2100 年间的季度，格式如 2026Q1。"),
])
def test_quarters_outside_the_ledgers_years_are_a_400_page(ledger, query, message):
    r = ledger.get(f"/ledger/quarterly?{query}")
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert '<html lang="zh-CN">' in r.text and message in r.text


@pytest.mark.parametrize("page", ["/ledger/", "/ledger/ledger", "/ledger/ledger.csv", "/ledger/figures",
                                  "/ledger/map", "/ledger/disputes?metric=timely_acceptance"])
@pytest.mark.parametrize("query, message", [
    ("since=0001-01-01", "参数 since 不是有效日期：须为 1900 至 2100 年间的日期，格式 YYYY-MM-DD。"),
    ("until=0001-01-05", "参数 until 不是有效日期"),
    ("since=9999-12-01&until=2026-01-01", "参数 since 不是有效日期"),
    ("until=9999-12-31", "参数 until 不是有效日期"),
    ("until=2026-02-30", "参数 until 不是有效日期"),
    ("page=18446744073709551617", "参数 page 不正确"),
    ("page=-1", "参数 page 不正确"),
    ("page=1.5", "参数 page 不正确"),
])
def test_ledger_dates_and_pages_out_of_range_are_a_400_page(ledger, page, query, message):
    sep = "&" if "?" in page else "?"
    r = ledger.get(f"{page}{sep}{query}")
    if "page=" in query and page in ("/ledger/", "/ledger/ledger.csv", "/ledger/figures", "/ledger/map"):
        assert r.status_code == 200  # those pages have no pages
        return
    assert r.status_code == 400 and r.mimetype == "text/html", (r.status_code, r.text[:300])
    assert message in r.text


# -- /_geo: a JSON error ----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, reason", [
    ("since=0001-01-01", "since is outside the years 1900 to 2100"),
    ("until=9999-12-31", "until is outside the years 1900 to 2100"),
    (f"since={YEAR_ONE.replace('+', '%2B')}", "since is outside the years 1900 to 2100"),
    (f"until={YEAR_9999}", "until is outside the years 1900 to 2100"),
    ("since=June", "since must be a date (YYYY-MM-DD) or a timestamp with an offset"),
    ("limit=18446744073709551617", "limit must be a whole number from 1 to 5000"),
    ("limit=1e3", "limit must be a whole number from 1 to 5000"),
    ("visitor=a%00b", "visitor must be at most 100 printable characters"),
    ("area=%EF%BC%91", "area must be an area code (6, 9 or 12 digits)"),
])
def test_geo_query_parameters_out_of_range_are_a_json_400(client, bearer, query, reason):
    for path in ("/_geo/visits", "/_geo/coverage"):
        if path.endswith("coverage") and query.split("=")[0] in ("limit", "visitor"):
            continue
        r = client.get(f"{path}?{query}", headers=bearer("demo-district"))
        assert r.status_code == 400 and r.mimetype == "application/json", (r.status_code, r.data[:300])
        assert r.json == {"error": "bad_request", "reason": reason}


# -- names no account can have ---------------------------------------------------------------------------

def test_a_ledger_login_with_a_nul_in_the_name_is_a_failed_login(app):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ledger/login").text).group(1)
    r = client.post("/ledger/login", data={"name": "demo\x00district", "password": "x", "csrf_token": token})
    assert r.status_code == 401 and "账号或密码错误。" in r.text


@pytest.mark.parametrize("path", ["/api/v1/me", "/_geo/visits", "/ledger/", "/paicha", "/_session"])
def test_basic_credentials_with_a_nul_in_the_name_are_refused(app, path):
    import base64

    header = {"Authorization": "Basic " + base64.b64encode(b"demo\x00district:x").decode()}
    status = app.test_client().get(path, headers=header).status_code
    assert status in (302, 400, 401), status
