"""The field app's REST API (/api/v1): log in, who am I, tasks, households, plain-JSON writes that
retry safely, photos, devices; every refusal a catalogued problem, in Chinese or English."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
import sqlalchemy as sa

import mobile_api
from mobile_api.problems import PROBLEMS

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"
API = "/api/v1"
VILLAGE, VILLAGE2, TOWNSHIP = "990101001001", "990101001002", "990101001"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


@pytest.fixture(scope="module", autouse=True)
def _wired(app):
    mobile_api.init_app(app)  # a no-op once create_app calls it


@pytest.fixture(scope="module")
def login(app):
    """login(name, device) -> the login answer (tokens); cached per module, argon2 is slow."""
    client = app.test_client()
    cache = {}

    def make(name: str, device: str = "phone-a") -> dict:
        if (name, device) not in cache:
            r = client.post(f"{API}/auth/login", json={"name": name, "password": PW, "device_id": device})
            assert r.status_code == 200, r.json
            cache[name, device] = r.json
        return cache[name, device]

    return make


@pytest.fixture(scope="module")
def auth(login):
    def headers(name: str, device: str = "phone-a", lang: str | None = None) -> dict:
        h = {"Authorization": "Bearer " + login(name, device)["access_token"]}
        if lang:
            h["Accept-Language"] = lang
        return h

    return headers


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dispute(area: str = VILLAGE, **extra) -> dict:
    return {"id": new_id("dispute"), "area": area, "summary": "（测试）邻里因排水沟发生纠纷",
            "parties": [{"name": "张三", "role": "applicant"}, {"name": "李四", "role": "respondent"}],
            "category": "neighbourhood", "risk_level": "low", "status": "registered", **extra}


def visit(area: str = VILLAGE, household: str = "household-990101001001-001", **extra) -> dict:
    return {"id": new_id("visit"), "area": area, "household_id": household, "purpose": "routine",
            "visited_at": "2026-11-20T10:00:00+08:00",
            "fix": {"lat": 34.3405, "lon": 108.7176, "crs": "WGS-84", "accuracy_m": 10,
                    "fix_time": "2026-11-20T10:00:00+08:00"}, **extra}


def problem(r, code: str, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.data[:500])
    assert r.mimetype == "application/problem+json"
    body = r.json
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"https://paicha.example/problems/{code}"
    assert body["title"] and PROBLEMS[code].status == status
    return body


# -- log in, refresh, log out ------------------------------------------------------------------------

def test_login_token_works_here_and_for_sync_then_refresh_and_logout(client):
    r = client.post(f"{API}/auth/login", json={"name": "demo-village", "password": PW, "device_id": "login-phone",
                                                "device_label": "Redmi 9A"})
    assert r.status_code == 200
    t = r.json
    assert t["token_type"] == "Bearer" and t["device_id"] == "login-phone"
    assert 11 * 3600 < t["expires_in"] <= 12 * 3600
    assert dt.datetime.fromisoformat(t["expires_at"]) > dt.datetime.now(dt.timezone.utc)
    assert t["account"] == {"name": "demo-village", "role": "village_cadre", "scope": VILLAGE}
    bearer = {"Authorization": f"Bearer {t['access_token']}"}
    assert client.get(f"{API}/me", headers=bearer).json["name"] == "demo-village"
    # The same token replicates: the CouchDB API accepts it.
    assert client.get("/paicha", headers=bearer).status_code == 200

    r = client.post(f"{API}/auth/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 200 and r.json["device_id"] == "login-phone"
    fresh = {"Authorization": f"Bearer {r.json['access_token']}"}
    assert r.json["access_token"] != t["access_token"]
    assert client.get(f"{API}/me", headers=fresh).status_code == 200
    # Refresh tokens rotate (tests/integration/test_sessions.py: a used one presented again revokes the login).
    rotated = r.json["refresh_token"]
    assert rotated != t["refresh_token"] and r.json["refresh_expires_at"] == t["refresh_expires_at"]

    r = client.post(f"{API}/auth/logout", headers=fresh)  # no body needed
    assert r.status_code == 200 and r.json["revoked"] >= 3 and r.json["device_id"] == "login-phone"
    for headers in (bearer, fresh):
        problem(client.get(f"{API}/me", headers=headers), "invalid_token", 401)
        assert client.get("/paicha", headers=headers).status_code == 401
    problem(client.post(f"{API}/auth/refresh", json={"refresh_token": rotated}), "invalid_token", 401)


def test_refresh_token_is_not_an_access_token(client, login):
    refresh = login("demo-township", "refresh-check")["refresh_token"]
    problem(client.get(f"{API}/me", headers={"Authorization": f"Bearer {refresh}"}), "invalid_token", 401)
    access = login("demo-township", "refresh-check")["access_token"]
    problem(client.post(f"{API}/auth/refresh", json={"refresh_token": access}), "invalid_token", 401)


def _stored_for_device(app, device_id: str) -> tuple[int, int]:
    from server.core.db import db
    from server.core.models import ApiToken, Device
    with app.app_context():
        devices = db.session.execute(sa.select(sa.func.count()).where(Device.device_id == device_id)).scalar()
        tokens = db.session.execute(sa.select(sa.func.count()).where(ApiToken.device_id == device_id)).scalar()
        db.session.rollback()
    return devices, tokens


def test_a_login_stores_its_device_and_both_tokens_in_one_transaction(app, client):
    from server.core.store import get_store
    with app.app_context():
        engine = get_store().engine
    commits = []
    listener = lambda conn: commits.append(conn)  # noqa: E731
    sa.event.listen(engine, "commit", listener)
    try:
        r = client.post(f"{API}/auth/login", json={"name": "demo-village", "password": PW,
                                                    "device_id": "one-commit-phone", "device_label": "Redmi"})
    finally:
        sa.event.remove(engine, "commit", listener)
    assert r.status_code == 200, r.json
    assert _stored_for_device(app, "one-commit-phone") == (1, 2)
    assert len(commits) == 1, commits  # device, access token and refresh token together


def test_a_login_that_fails_half_way_stores_nothing(app, client, monkeypatch):
    from server.services import tokens
    # Both tokens get the same secret: the refresh token's insert breaks the unique hash, after the
    # device and the access token were written in the same transaction.
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda n: "the-same-secret-twice")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # the answer a phone would get
    r = client.post(f"{API}/auth/login", json={"name": "demo-village", "password": PW, "device_id": "half-way-phone"})
    assert r.status_code == 500
    assert _stored_for_device(app, "half-way-phone") == (0, 0)
    monkeypatch.undo()
    r = client.post(f"{API}/auth/login", json={"name": "demo-village", "password": PW, "device_id": "half-way-phone"})
    assert r.status_code == 200 and _stored_for_device(app, "half-way-phone") == (1, 2)


def test_failed_logins_use_the_lockout(app, client):
    from server.core.accounts import add_account

    with app.app_context():
        add_account("lockout-cadre", PW, "village_cadre", VILLAGE2, "锁定测试")
    wrong = {"name": "lockout-cadre", "password": "guess-guess", "device_id": "p1"}
    body = problem(client.post(f"{API}/auth/login", json=wrong), "invalid_credentials", 401)
    assert body["title"] == "用户名或密码错误"  # Chinese unless asked otherwise
    assert client.post(f"{API}/auth/login", json=wrong).headers["WWW-Authenticate"].startswith("Bearer")
    en = problem(client.post(f"{API}/auth/login", json=wrong, headers={"Accept-Language": "en-US,en;q=0.9"}),
                 "invalid_credentials", 401)
    assert en["title"] == "Wrong name or password"
    for _ in range(2):
        client.post(f"{API}/auth/login", json=wrong)
    # Five failures: locked now, even with the right password, and Basic auth on the sync API too.
    r = client.post(f"{API}/auth/login", json={**wrong, "password": PW})
    problem(r, "too_many_attempts", 429)
    assert int(r.headers["Retry-After"]) >= 1
    basic = base64.b64encode(f"lockout-cadre:{PW}".encode()).decode()
    assert client.get("/paicha", headers={"Authorization": f"Basic {basic}"}).status_code == 429
    problem(client.post(f"{API}/auth/login", json={"name": "nobody-here", "password": "x", "device_id": "p"}),
            "invalid_credentials", 401)


@pytest.mark.parametrize("body, code, status", [
    ({"name": "demo-village", "password": PW}, "invalid_body", 400),
    ({"name": "demo-village", "password": PW, "device_id": "has space"}, "invalid_body", 400),
    ({"name": "demo-village", "password": PW, "device_id": "x", "extra": 1}, "invalid_body", 400),
    ({"name": "demo\u0000village", "password": PW, "device_id": "x"}, "invalid_body", 400),
    ({"name": "demo-village", "password": PW, "device_id": "x", "device_label": "a\u0000"}, "invalid_body", 400),
])
def test_login_bodies_are_checked(client, body, code, status):
    assert problem(client.post(f"{API}/auth/login", json=body), code, status)["errors"]


def test_bodies_must_be_json_objects(client):
    problem(client.post(f"{API}/auth/login", data="name=x", content_type="application/x-www-form-urlencoded"),
            "unsupported_media_type", 415)
    problem(client.post(f"{API}/auth/login", data="{not json", content_type="application/json"), "invalid_json", 400)
    problem(client.post(f"{API}/auth/login", json=["a", "list"]), "invalid_json", 400)
    deep = "[" * 900 + "]" * 900
    problem(client.post(f"{API}/auth/login", data='{"name": %s}' % deep, content_type="application/json"),
            "invalid_json", 400)
    problem(client.post(f"{API}/auth/login", data="[" * 100000, content_type="application/json"), "invalid_json", 400)


# -- every endpoint wants a caller -----------------------------------------------------------------------

PROTECTED = [
    ("GET", "/me"), ("GET", "/tasks"), ("GET", "/households"), ("GET", "/households/x"),
    ("GET", "/devices"), ("POST", "/devices"), ("DELETE", "/devices/p/tokens"), ("POST", "/auth/logout"),
    *[(m, f"/{c}{p}") for c in ("reports", "disputes", "visits")
      for m, p in (("GET", ""), ("POST", ""), ("GET", "/x"), ("PUT", "/x"), ("PUT", "/x/attachments/a.jpg"),
                   ("GET", "/x/attachments/a.jpg"))],
]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_endpoint_needs_a_caller(client, method, path):
    body = problem(client.open(API + path, method=method, json={}), "unauthorized", 401)
    assert body["instance"] == API + path
    problem(client.open(API + path, method=method, json={}, headers={"Authorization": "Bearer nope"}),
            "invalid_token", 401)


def test_unknown_paths_and_methods_are_problems_too(client, auth):
    problem(client.get(f"{API}/nothing/here", headers=auth("demo-village")), "not_found", 404)
    r = client.delete(f"{API}/me", headers=auth("demo-village"))
    problem(r, "method_not_allowed", 405)
    assert "GET" in r.headers["Allow"]


def test_basic_auth_works_too(client):
    basic = base64.b64encode(f"demo-village:{PW}".encode()).decode()
    assert client.get(f"{API}/me", headers={"Authorization": f"Basic {basic}"}).json["scope"] == VILLAGE


@pytest.mark.parametrize("url", [
    "/households/%00x", "/households?q=a%00b", "/households?cursor=AA", "/reports/%00", "/disputes/x%01y",
    "/visits/v/attachments/a%00.jpg", "/devices?account=demo%00", "/devices/p%00/tokens",
])
def test_control_characters_never_reach_the_database(client, auth, url):
    method = "DELETE" if url.endswith("/tokens") else "GET"
    r = client.open(API + url, method=method, headers=auth("demo-admin"))
    assert r.status_code in (400, 404) and r.mimetype == "application/problem+json", (r.status_code, r.data[:300])


# -- me -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, role, scope, area_codes", [
    ("demo-village", "village_cadre", VILLAGE, {VILLAGE}),
    ("demo-township", "township_staff", TOWNSHIP, {TOWNSHIP, VILLAGE, VILLAGE2, "990101001003"}),
    ("demo-district", "district_supervisor", "990101", None),
])
def test_me_tells_role_scope_areas_and_how_to_sync(client, auth, name, role, scope, area_codes):
    me = client.get(f"{API}/me", headers=auth(name)).json
    assert (me["name"], me["role"], me["scope"]) == (name, role, scope)
    assert me["area"]["code"] == scope and me["area"]["name"]
    codes = {a["code"] for a in me["areas"]}
    assert all(c.startswith(scope) for c in codes)
    if area_codes is not None:
        assert codes == area_codes
    assert me["sync"]["url"].endswith("/paicha") and me["sync"]["db_name"] == "paicha"
    assert "Bearer" in me["sync"]["hint"] and me["token"]["device_id"] == "phone-a"
    if name == "demo-village":
        assert [p["code"] for p in me["parents"]] == ["990101", TOWNSHIP]
        assert me["display_name"] == "刘芳（示范村一）"


def test_me_hint_in_english(client, auth):
    me = client.get(f"{API}/me", headers=auth("demo-village", lang="en")).json
    assert me["sync"]["hint"].startswith("Replicate both ways")


# -- tasks ----------------------------------------------------------------------------------------------

def _round_doc(app, area: str, start: dt.date, due: dt.date) -> str:
    """A screening round written as the calendar writes them (role `server`)."""
    from server.core.access import server_access
    from server.core.store import get_store

    level = {12: "village", 9: "township", 6: "district"}[len(area)]
    doc_id = f"round-{level}-{area}-{start.isoformat()}"
    with app.app_context():
        database = get_store().open("paicha", server_access(app))
        database.bulk_docs([{"_id": doc_id, "type": "screening_round", "area": area, "created_by": "server",
                             "created_at": (dt.datetime.combine(start, dt.time(0, 10))
                                            .replace(tzinfo=dt.timezone(dt.timedelta(hours=8))).isoformat()),
                             "level": level, "period_start": start.isoformat(),
                             "period_end": (due - dt.timedelta(days=1)).isoformat(), "due_date": due.isoformat(),
                             "round_key": f"{level}:{area}:{start.isoformat()}", "title": "（测试）排查"}])
    return doc_id


def test_tasks_list_unreported_rounds_of_my_scope_and_drop_them_once_reported(app, client, auth):
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    overdue = _round_doc(app, VILLAGE, today - dt.timedelta(days=20), today - dt.timedelta(days=3))
    upcoming = _round_doc(app, VILLAGE, today - dt.timedelta(days=1), today + dt.timedelta(days=5))
    neighbour = _round_doc(app, VILLAGE2, today - dt.timedelta(days=1), today + dt.timedelta(days=5))
    township_round = _round_doc(app, TOWNSHIP, today - dt.timedelta(days=2), today + dt.timedelta(days=4))

    tasks = client.get(f"{API}/tasks", headers=auth("demo-village")).json
    assert tasks["today"] == today.isoformat()
    by_id = {r["id"]: r for r in tasks["rounds"]}
    assert by_id[overdue]["status"] == "overdue" and by_id[overdue]["days_overdue"] >= 2
    assert by_id[upcoming]["status"] == "open" and by_id[upcoming]["own"] is True
    assert by_id[upcoming]["area_name"] == "示范村一"
    assert neighbour not in by_id and township_round not in by_id
    assert all(r["area"] == VILLAGE for r in tasks["rounds"])
    assert all(r["area"].startswith(VILLAGE) for r in tasks["reminders"])

    township = {r["id"]: r for r in client.get(f"{API}/tasks", headers=auth("demo-township")).json["rounds"]}
    assert township[township_round]["own"] is True and township[neighbour]["own"] is False

    r = client.post(f"{API}/reports", headers=auth("demo-village"),
                    json={"id": new_id("report"), "area": VILLAGE, "round_id": upcoming, "nil_report": True})
    assert r.status_code == 201
    after = {r["id"] for r in client.get(f"{API}/tasks", headers=auth("demo-village")).json["rounds"]}
    assert upcoming not in after and overdue in after


def test_tasks_show_overdue_reminders_until_the_round_is_reported(app, client, auth):
    from server.core.access import server_access
    from server.services.calendar.periods import period_containing
    from server.core.store import get_store

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    start = today - dt.timedelta(days=15)
    if period_containing("xun", start).start == start:  # the demo district may have reported that round
        start -= dt.timedelta(days=1)
    round_id = _round_doc(app, VILLAGE, start, today - dt.timedelta(days=5))
    reminder = {"_id": f"reminder-{round_id}-overdue", "type": "reminder", "area": VILLAGE, "target_area": VILLAGE,
                "created_by": "server", "created_at": f"{(today - dt.timedelta(days=4)).isoformat()}T00:10:00+08:00",
                "round_id": round_id, "kind": "overdue", "due_date": (today - dt.timedelta(days=5)).isoformat(),
                "message": "（测试）已逾期"}
    with app.app_context():
        get_store().open("paicha", server_access(app)).bulk_docs([reminder])
    ids = {r["id"] for r in client.get(f"{API}/tasks", headers=auth("demo-village")).json["reminders"]}
    assert reminder["_id"] in ids
    assert reminder["_id"] not in {r["id"] for r in client.get(
        f"{API}/tasks", headers=auth("demo-village2")).json["reminders"]}
    client.post(f"{API}/reports", headers=auth("demo-village"),
                json={"id": new_id("report"), "area": VILLAGE, "round_id": round_id, "nil_report": True})
    ids = {r["id"] for r in client.get(f"{API}/tasks", headers=auth("demo-village")).json["reminders"]}
    assert reminder["_id"] not in ids


# -- households -----------------------------------------------------------------------------------------

def test_households_in_scope_paginated(client, auth):
    first = client.get(f"{API}/households?limit=4", headers=auth("demo-village")).json
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = client.get(f"{API}/households?limit=4&cursor={first['next_cursor']}", headers=auth("demo-village")).json
    ids = [h["id"] for h in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 6 and rest["next_cursor"] is None
    assert all(h["area"] == VILLAGE and h["type"] == "household" and h["rev"] for h in first["items"] + rest["items"])
    township = client.get(f"{API}/households?limit=200", headers=auth("demo-township")).json["items"]
    assert {h["area"] for h in township} == {VILLAGE, VILLAGE2, "990101001003"}
    only = client.get(f"{API}/households?area={VILLAGE2}", headers=auth("demo-township")).json["items"]
    assert {h["area"] for h in only} == {VILLAGE2}


def test_household_search_by_name_and_address(client, auth):
    everyone = client.get(f"{API}/households", headers=auth("demo-village")).json["items"]
    target = everyone[3]
    by_name = client.get(f"{API}/households", query_string={"q": target["head_name"]},
                         headers=auth("demo-village")).json["items"]
    assert target["id"] in [h["id"] for h in by_name]
    assert all(target["head_name"] in h["head_name"] for h in by_name)
    by_address = client.get(f"{API}/households", query_string={"q": target["address"]},
                            headers=auth("demo-village")).json["items"]
    assert [h["id"] for h in by_address] == [target["id"]]
    words = client.get(f"{API}/households", query_string={"q": f"示范村一 {target['head_name'][0]}"},
                       headers=auth("demo-village")).json["items"]
    assert target["id"] in [h["id"] for h in words]
    assert client.get(f"{API}/households", query_string={"q": "没有这户"}, headers=auth("demo-village")).json == {
        "items": [], "next_cursor": None}


def test_village_cadre_cannot_read_the_neighbours_households(client, auth):
    body = problem(client.get(f"{API}/households?area={VILLAGE2}", headers=auth("demo-village")), "out_of_scope", 403)
    assert body["area"] == VILLAGE2
    problem(client.get(f"{API}/households/household-{VILLAGE2}-001", headers=auth("demo-village")),
            "record_not_found", 404)
    assert client.get(f"{API}/households/household-{VILLAGE}-001", headers=auth("demo-village")).status_code == 200
    # A filter above the scope narrows nothing and leaks nothing.
    wide = client.get(f"{API}/households?area=990101", headers=auth("demo-village")).json["items"]
    assert {h["area"] for h in wide} == {VILLAGE}
    problem(client.get(f"{API}/households?area=12x", headers=auth("demo-village")), "invalid_parameter", 400)
    problem(client.get(f"{API}/households?cursor=%%%", headers=auth("demo-village")), "invalid_parameter", 400)
    problem(client.get(f"{API}/households?limit=0", headers=auth("demo-village")), "invalid_parameter", 400)


# -- reports, disputes, visits --------------------------------------------------------------------------

@pytest.mark.parametrize("collection, make", [("disputes", dispute), ("visits", visit),
                                              ("reports", lambda **kw: {"id": new_id("report"), "area": VILLAGE,
                                                                        "round_id": "round-x", "nil_report": True,
                                                                        **kw})])
def test_create_read_list_and_retry_safely(client, auth, collection, make):
    body = make()
    r = client.post(f"{API}/{collection}", json=body, headers=auth("demo-village"))
    assert r.status_code == 201, r.json
    record = r.json
    assert record["id"] == body["id"] and record["rev"].startswith("1-")
    assert record["created_by"] == "demo-village" and record["created_at"].endswith("+08:00")
    # The retry (answer lost on the way) gets the same record, not a second one.
    again = client.post(f"{API}/{collection}", json=body, headers=auth("demo-village"))
    assert again.status_code == 200 and again.json == record
    assert client.get(f"{API}/{collection}/{body['id']}", headers=auth("demo-village")).json == record
    listed = client.get(f"{API}/{collection}?limit=200", headers=auth("demo-village")).json["items"]
    assert [i for i in listed if i["id"] == body["id"]] == [record]
    # Same id, other content: refused, the stored record unchanged.
    changed = {**body, "notes" if collection == "visits" else "summary": "（测试）别的内容"}
    body409 = problem(client.post(f"{API}/{collection}", json=changed, headers=auth("demo-village")), "id_taken", 409)
    assert body409["id"] == body["id"]
    # The township sees it; the neighbour village does not.
    assert client.get(f"{API}/{collection}/{body['id']}", headers=auth("demo-township")).status_code == 200
    problem(client.get(f"{API}/{collection}/{body['id']}", headers=auth("demo-village2")), "record_not_found", 404)
    assert body["id"] not in [i["id"] for i in client.get(f"{API}/{collection}?limit=200",
                                                         headers=auth("demo-village2")).json["items"]]


@pytest.mark.parametrize("collection, make", [("disputes", dispute), ("visits", visit)])
def test_cannot_create_in_the_neighbour_village(app, client, auth, collection, make):
    body = make(area=VILLAGE2) if collection == "disputes" else make(area=VILLAGE2,
                                                                      household=f"household-{VILLAGE2}-001")
    refused = problem(client.post(f"{API}/{collection}", json=body, headers=auth("demo-village")),
                      "write_refused", 403)
    assert refused["refusal"] == "out_of_scope" and VILLAGE2 in refused["reason"]
    assert refused["detail"] == "该记录所属区域不在您的辖区内。"
    en = problem(client.post(f"{API}/{collection}", json=body, headers=auth("demo-village", lang="en")),
                 "write_refused", 403)
    assert en["detail"] == en["reason"]
    problem(client.get(f"{API}/{collection}/{body['id']}", headers=auth("demo-admin")), "record_not_found", 404)
    # Like a refused replication, the attempt is kept in the quarantine.
    from server.core.db import db
    from server.core.models import QuarantinedDoc

    with app.app_context():
        held = db.session.execute(sa.select(QuarantinedDoc).where(QuarantinedDoc.doc_id == body["id"])).scalars().all()
    assert held and held[0].account == "demo-village"


def test_role_rules_apply_as_for_replication(client, auth):
    body = dispute()
    refused = problem(client.post(f"{API}/disputes", json={**body, "created_by": "demo-village2"},
                                  headers=auth("demo-village")), "write_refused", 403)
    assert refused["refusal"] == "created_by_mismatch"
    refused = problem(client.post(f"{API}/visits", json={**visit(), "visitor": "demo-district"},
                                  headers=auth("demo-district")), "write_refused", 403)
    assert refused["refusal"] == "role_not_allowed"  # the district registers matters, it visits no household
    created = client.post(f"{API}/disputes", json=body, headers=auth("demo-district"))
    assert created.status_code == 201, created.json
    edit = {**{k: v for k, v in body.items() if k != "id"}, "rev": created.json["rev"], "status": "mediating"}
    refused = problem(client.put(f"{API}/disputes/{body['id']}", json=edit, headers=auth("demo-district")),
                      "write_refused", 403)
    assert refused["refusal"] == "operation_not_allowed"  # ... and never edits one
    problem(client.post(f"{API}/visits", json={**visit(), "visitor": "demo-township"}, headers=auth("demo-village")),
            "write_refused", 403)


def test_update_with_rev_retry_and_conflict(client, auth):
    body = dispute()
    created = client.post(f"{API}/disputes", json=body, headers=auth("demo-village")).json
    edit = {**{k: v for k, v in body.items() if k != "id"}, "rev": created["rev"], "status": "mediating",
            "mediation": [{"at": "2026-11-21T09:00:00+08:00", "by": "调解委员会", "method": "in_person",
                           "result": "adjourned"}]}
    r = client.put(f"{API}/disputes/{body['id']}", json=edit, headers=auth("demo-township"))
    assert r.status_code == 200, r.json
    updated = r.json
    assert updated["rev"].startswith("2-") and updated["status"] == "mediating"
    assert updated["created_by"] == "demo-village" and updated["created_at"] == created["created_at"]
    assert updated["updated_by"] == "demo-township"
    # The same edit again (its answer was lost): the stored result, no third revision.
    again = client.put(f"{API}/disputes/{body['id']}", json=edit, headers=auth("demo-township"))
    assert again.status_code == 200 and again.json == updated
    # A different edit from the stale rev: somebody else's change must not be overwritten.
    stale = problem(client.put(f"{API}/disputes/{body['id']}", json={**edit, "risk_level": "high"},
                               headers=auth("demo-village")), "edit_conflict", 409)
    assert stale["current_rev"] == updated["rev"]
    # History is append-only, as in replication.
    rewrite = {**edit, "rev": updated["rev"], "mediation": []}
    assert problem(client.put(f"{API}/disputes/{body['id']}", json=rewrite, headers=auth("demo-village")),
                   "write_refused", 403)["refusal"] == "history_rewritten"
    problem(client.put(f"{API}/disputes/{body['id']}", json={**edit, "rev": updated["rev"]},
                       headers=auth("demo-village2")), "record_not_found", 404)
    problem(client.put(f"{API}/visits/{body['id']}", json={**edit, "rev": updated["rev"]},
                       headers=auth("demo-village")), "record_not_found", 404)


@pytest.mark.parametrize("mutate, code, status, words", [
    (lambda b: b.pop("summary"), "invalid_body", 400, "summary"),
    (lambda b: b.update(_deleted=True), "invalid_body", 400, "_deleted"),
    (lambda b: b.update(type="household"), "invalid_body", 400, "type"),
    (lambda b: b.update(area="99010100100"), "invalid_body", 400, "area"),
    (lambda b: b.update(status="resolved"), "invalid_body", 400, "resolved_at"),
    (lambda b: b.update(id="_design/x"), "invalid_body", 400, "id"),
    (lambda b: b.pop("id"), "invalid_body", 400, "id"),
    (lambda b: b.update(rev="1-abc"), "invalid_body", 400, "rev"),
    (lambda b: b.update(created_at="2026-11-20 10:00"), "invalid_body", 400, "created_at"),
])
def test_invalid_bodies_are_400_with_reasons(client, auth, mutate, code, status, words):
    body = dispute()
    mutate(body)
    found = problem(client.post(f"{API}/disputes", json=body, headers=auth("demo-village")), code, status)
    assert any(words in e for e in found["errors"]), found["errors"]


def test_impossible_coordinates_are_422(client, auth):
    body = visit(fix={"lat": 0, "lon": 0, "crs": "WGS-84", "fix_time": "2026-11-20T10:00:00+08:00"})
    found = problem(client.post(f"{API}/visits", json=body, headers=auth("demo-village")), "invalid_document", 422)
    assert found["refusal"] == "bad_coordinates"


def test_rest_writes_are_audited_with_the_tokens_device(app, client, auth):
    from server.core.db import db
    from server.core.models import AuditEntry

    body = dispute()
    assert client.post(f"{API}/disputes", json=body, headers=auth("demo-village", "audit-phone")).status_code == 201
    with app.app_context():
        entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.doc_id == body["id"])).scalar_one()
    assert (entry.account, entry.device_id, entry.scope) == ("demo-village", "audit-phone", VILLAGE)


# -- photos ---------------------------------------------------------------------------------------------

def test_visit_photos_upload_retry_replace_download(client, auth):
    body = visit()
    created = client.post(f"{API}/visits", json=body, headers=auth("demo-village")).json
    url = f"{API}/visits/{body['id']}/attachments/door.jpg"
    r = client.put(url, data=JPEG, content_type="image/jpeg", headers=auth("demo-village"))
    assert r.status_code == 201, r.json
    record = r.json
    assert record["photos"] == ["door.jpg"] and record["rev"].startswith("2-")
    assert record["attachments"]["door.jpg"]["length"] == len(JPEG)
    assert record["updated_by"] == "demo-village" and record["created_at"] == created["created_at"]
    again = client.put(url, data=JPEG, content_type="image/jpeg", headers=auth("demo-village"))
    assert again.status_code == 200 and again.json == record
    other = JPEG + b"more"
    problem(client.put(url, data=other, content_type="image/jpeg", headers=auth("demo-village")),
            "attachment_exists", 409)
    problem(client.put(url + f"?rev={created['rev']}", data=other, content_type="image/jpeg",
                       headers=auth("demo-village")), "edit_conflict", 409)
    replaced = client.put(url + f"?rev={record['rev']}", data=other, content_type="image/jpeg",
                          headers=auth("demo-village"))
    assert replaced.status_code == 201 and replaced.json["photos"] == ["door.jpg"]
    second = client.put(f"{API}/visits/{body['id']}/attachments/yard.png", data=PNG, content_type="image/png",
                        headers=auth("demo-township"))
    assert second.status_code == 201 and second.json["photos"] == ["door.jpg", "yard.png"]
    got = client.get(url, headers=auth("demo-township"))
    assert got.status_code == 200 and got.data == other and got.mimetype == "image/jpeg"
    problem(client.get(f"{API}/visits/{body['id']}/attachments/none.jpg", headers=auth("demo-village")),
            "attachment_not_found", 404)
    problem(client.get(url, headers=auth("demo-village2")), "record_not_found", 404)
    problem(client.put(url.replace("door", "x"), data=JPEG, content_type="image/jpeg", headers=auth("demo-village2")),
            "record_not_found", 404)
    # A later edit of the fields keeps the photos.
    edit = {k: v for k, v in second.json.items() if k not in ("id", "attachments", "updated_at", "updated_by")}
    edited = client.put(f"{API}/visits/{body['id']}", json={**edit, "notes": "补充说明"}, headers=auth("demo-village"))
    assert edited.status_code == 200 and set(edited.json["attachments"]) == {"door.jpg", "yard.png"}


def test_photo_limits(app, client, auth, monkeypatch):
    body = visit()
    client.post(f"{API}/visits", json=body, headers=auth("demo-village"))
    url = f"{API}/visits/{body['id']}/attachments/p.jpg"
    found = problem(client.put(url, data=b"hello", content_type="text/plain", headers=auth("demo-village")),
                    "attachment_type_not_allowed", 415)
    assert "image/jpeg" in found["detail"]
    problem(client.put(url, data=PNG, content_type="image/jpeg", headers=auth("demo-village")),
            "attachment_content_mismatch", 415)
    monkeypatch.setitem(app.config, "PAICHA_API_MAX_ATTACHMENT_BYTES", 1000)
    found = problem(client.put(url, data=JPEG + bytes(1000), content_type="image/jpeg", headers=auth("demo-village")),
                    "attachment_too_large", 413)
    assert found["limit"] == 1000
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 500)
    problem(client.put(url, data=JPEG, content_type="image/jpeg", headers=auth("demo-village")),
            "attachment_too_large", 413)
    problem(client.post(f"{API}/disputes", json=dispute(summary="长" * 600), headers=auth("demo-village")),
            "body_too_large", 413)


def test_attachment_onto_a_dispute_and_scope(client, auth):
    body = dispute()
    client.post(f"{API}/disputes", json=body, headers=auth("demo-village"))
    r = client.put(f"{API}/disputes/{body['id']}/attachments/scene.jpg", data=JPEG, content_type="image/jpeg",
                   headers=auth("demo-village"))
    assert r.status_code == 201 and "photos" not in r.json and "scene.jpg" in r.json["attachments"]
    problem(client.put(f"{API}/disputes/{body['id']}/attachments/_bad", data=JPEG, content_type="image/jpeg",
                       headers=auth("demo-village")), "invalid_parameter", 400)


# -- devices --------------------------------------------------------------------------------------------

def test_device_registration_listing_and_revocation(client, auth, login):
    r = client.post(f"{API}/devices", json={"device_id": "reg-phone", "label": "荣耀 X8"}, headers=auth("demo-village"))
    assert r.status_code == 201 and r.json["label"] == "荣耀 X8"
    assert client.post(f"{API}/devices", json={"device_id": "reg-phone"}, headers=auth("demo-village")).status_code == 200
    lost = auth("demo-village", "lost-phone")
    kept = auth("demo-village", "kept-phone")
    listed = {d["device_id"]: d for d in client.get(f"{API}/devices", headers=kept).json["items"]}
    assert {"reg-phone", "lost-phone", "kept-phone"} <= set(listed)
    assert listed["lost-phone"]["active_tokens"] == 2 and listed["reg-phone"]["active_tokens"] == 0

    r = client.delete(f"{API}/devices/lost-phone/tokens", headers=kept)
    assert r.status_code == 200 and r.json == {"revoked": 2, "device_id": "lost-phone", "account": "demo-village"}
    problem(client.get(f"{API}/me", headers=lost), "invalid_token", 401)
    problem(client.post(f"{API}/auth/refresh", json={"refresh_token": login("demo-village", "lost-phone")["refresh_token"]}),
            "invalid_token", 401)
    assert client.get(f"{API}/me", headers=kept).status_code == 200


def test_cannot_revoke_another_accounts_device(client, auth):
    neighbour = auth("demo-village2", "neighbour-phone")
    mine = auth("demo-village", "my-phone")
    problem(client.delete(f"{API}/devices/neighbour-phone/tokens?account=demo-village2", headers=mine), "forbidden", 403)
    problem(client.get(f"{API}/devices?account=demo-village2", headers=mine), "forbidden", 403)
    found = problem(client.delete(f"{API}/devices/neighbour-phone/tokens", headers=mine), "device_not_found", 404)
    assert found["account"] == "demo-village"
    assert client.get(f"{API}/me", headers=neighbour).status_code == 200
    # An administrator can.
    r = client.delete(f"{API}/devices/neighbour-phone/tokens?account=demo-village2", headers=auth("demo-admin"))
    assert r.status_code == 200 and r.json["revoked"] == 2 and r.json["account"] == "demo-village2"
    problem(client.get(f"{API}/me", headers=neighbour), "invalid_token", 401)


# -- the catalogue and the document ---------------------------------------------------------------------

# Codes are part of the API: clients branch on them. Never rename one or change its status.
STABLE = {
    "invalid_json": 400, "invalid_unicode": 400, "invalid_body": 400, "invalid_parameter": 400, "unauthorized": 401,
    "invalid_credentials": 401, "invalid_token": 401, "forbidden": 403, "out_of_scope": 403, "write_refused": 403,
    "not_found": 404, "record_not_found": 404, "attachment_not_found": 404, "device_not_found": 404,
    "method_not_allowed": 405, "id_taken": 409, "edit_conflict": 409, "attachment_exists": 409,
    "body_too_large": 413, "attachment_too_large": 413, "unsupported_media_type": 415,
    "attachment_type_not_allowed": 415, "attachment_content_mismatch": 415, "invalid_document": 422,
    "too_many_attempts": 429, "internal_error": 500, "unavailable": 503,
}


def test_problem_codes_are_stable_and_bilingual(client):
    assert {code: e.status for code, e in PROBLEMS.items() if code in STABLE} == STABLE
    for code, entry in PROBLEMS.items():
        assert entry.title_zh and entry.title_en and entry.title_zh != entry.title_en, code
        assert bool(entry.detail_zh) == bool(entry.detail_en), code
    from schemas.errors import REFUSALS
    from schemas.rules import REFUSAL_CODES

    assert set(REFUSALS) == set(REFUSAL_CODES)
    zh = client.get(f"{API}/problems").json["items"]
    en = client.get(f"{API}/problems", headers={"Accept-Language": "en"}).json["items"]
    assert [i["code"] for i in zh] == list(PROBLEMS) and zh[0]["title"] != en[0]["title"]


def test_openapi_document_covers_every_route_and_uses_the_shared_schemas(app, client):
    import jsonschema
    import schemas
    from mobile_api.payloads import COLLECTIONS, create_schema

    spec = client.get(f"{API}/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    ops = {(path, method) for path, item in spec["paths"].items() for method in item}
    routes = {(r.rule.replace("<", "{").replace(">", "}"), m.lower()) for r in app.url_map.iter_rules()
              if r.endpoint.startswith("mobile_api.") for m in r.methods - {"HEAD", "OPTIONS"}}
    undocumented = routes - ops
    assert undocumented == {("/api/v1/openapi.json", "get"), ("/api/v1/", "get")} | {
        ("/api/v1/{path:anything}", m) for m in ("get", "post", "put", "delete", "patch")}
    assert len(ops) == 35  # ... with the supervision notices: GET /notices, POST /notices/{id}/replies; a
    # matter's steps: GET and POST /disputes/{dispute_id}/steps; the office's figures: GET /figures
    dispute_create = spec["components"]["schemas"]["DisputeCreate"]
    assert dispute_create["properties"]["parties"]["items"] == {"$ref": "#/components/schemas/dispute.party"}
    assert "summary" in dispute_create["required"] and "created_by" not in dispute_create["required"]
    # Every shipped example document (minus what the server fills in) is a valid create request.
    for collection in COLLECTIONS.values():
        example = json.loads((schemas.EXAMPLES_DIR / f"{collection.doc_type}.json").read_text(encoding="utf-8"))
        request = {k: v for k, v in example.items() if not k.startswith("_")}
        request["id"] = "example-1"
        validator = jsonschema.Draft202012Validator(create_schema(collection.doc_type), registry=schemas.registry())
        assert not list(validator.iter_errors(request)), collection.name


def test_a_sent_back_report_is_in_the_cadres_tasks_with_its_review_until_corrected(app, client, auth):
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    round_id = _round_doc(app, VILLAGE, today - dt.timedelta(days=12), today - dt.timedelta(days=2))
    report_id = new_id("report")
    r = client.post(f"{API}/reports", headers=auth("demo-village"),
                    json={"id": report_id, "area": VILLAGE, "round_id": round_id, "nil_report": True})
    assert r.status_code == 201
    trail = client.get(f"{API}/reports/{report_id}/reviews", headers=auth("demo-village")).json
    assert trail == {"report_id": report_id, "state": None, "items": []}
    # the district sends it back (its reviews go in as any synced document)
    supervisor = {"Authorization": "Basic " + base64.b64encode(b"demo-district:demo-password").decode()}
    review = {"type": "report_review", "area": VILLAGE, "report_id": report_id, "round_id": round_id,
              "status": "sent_back", "comment": "请补充排查户数", "created_by": "demo-district",
              "created_at": "2026-12-07T10:00:00+08:00", "reviewed_at": "2026-12-07T10:00:00+08:00"}
    assert client.put(f"/paicha/review-{report_id}~1", json=review, headers=supervisor).status_code == 201
    returned = client.get(f"{API}/tasks", headers=auth("demo-village")).json["returned"]
    mine = [r for r in returned if r["report_id"] == report_id]
    assert len(mine) == 1 and mine[0]["round_id"] == round_id and mine[0]["area_name"] == "示范村一"
    assert mine[0]["review"]["status"] == "sent_back" and mine[0]["review"]["comment"] == "请补充排查户数"
    assert mine[0]["review"]["reviewed_by"] == "demo-district"
    # another village's cadre sees neither the report in its tasks nor its reviews
    assert report_id not in [r["report_id"] for r in client.get(f"{API}/tasks", headers=auth("demo-village2")).json["returned"]]
    assert client.get(f"{API}/reports/{report_id}/reviews", headers=auth("demo-village2")).status_code == 404
    # corrected: off the list, awaiting re-review
    current = client.get(f"{API}/reports/{report_id}", headers=auth("demo-village")).json
    r = client.put(f"{API}/reports/{report_id}", headers=auth("demo-village"),
                   json={"rev": current["rev"], "area": VILLAGE, "round_id": round_id, "nil_report": True,
                         "households_screened": 120})
    assert r.status_code == 200, r.json
    assert report_id not in [r["report_id"] for r in client.get(f"{API}/tasks", headers=auth("demo-village")).json["returned"]]
    trail = client.get(f"{API}/reports/{report_id}/reviews", headers=auth("demo-village")).json
    assert trail["state"] == "resubmitted" and [i["status"] for i in trail["items"]] == ["sent_back"]
    assert client.get(f"{API}/reports/no-such-report/reviews", headers=auth("demo-village")).status_code == 404
