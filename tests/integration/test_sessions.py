"""Sessions end when users say so. Logging out (ledger, CouchDB's DELETE /_session, /api/v1's logout)
ends that cookie's session on the server: the same cookie, replayed, is refused on every path, while
the user's other sessions go on. A new password ends them all. Refresh tokens rotate, and a used one
presented again revokes every token of its login. SQLite and PostgreSQL, through HTTP."""
from __future__ import annotations

import datetime as dt
import re

import pytest

import mobile_api

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"
API = "/api/v1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module", autouse=True)
def _wired(app):
    mobile_api.init_app(app)  # a no-op once create_app calls it


def csrf(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.text).group(1)


def ledger_login(app, name: str):
    """A browser logged in to the ledger, and its AuthSession cookie's value."""
    browser = app.test_client()
    r = browser.post("/ledger/login", data={"name": name, "password": PW, "csrf_token": csrf(browser, "/ledger/login")})
    assert r.status_code == 302, r.status_code
    return browser, browser.get_cookie("AuthSession").value


def couch_login(app, name: str, password: str = PW):
    client = app.test_client()
    r = client.post("/_session", json={"name": name, "password": password})
    assert r.status_code == 200, r.json
    return client, client.get_cookie("AuthSession").value


def replay(app, cookie: str):
    """A client that sends exactly this cookie value, as whoever copied it would."""
    client = app.test_client(use_cookies=False)
    headers = {"Cookie": f"AuthSession={cookie}"}

    def get(path: str):
        return client.get(path, headers=headers)

    return get


def assert_refused(app, cookie: str) -> None:
    get = replay(app, cookie)
    r = get("/_session")
    assert r.status_code == 401 and r.json["error"] == "unauthorized", (r.status_code, r.json)
    assert "AuthSession=;" in r.headers.get("Set-Cookie", "")  # the client is told to drop it
    assert get("/paicha").status_code == 401
    r = get(f"{API}/me")
    assert r.status_code == 401 and r.json["code"] == "unauthorized"
    r = get("/ledger/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/ledger/login")


def assert_works(app, cookie: str, name: str) -> None:
    get = replay(app, cookie)
    assert get("/_session").json["userCtx"]["name"] == name
    assert get("/paicha").status_code == 200
    assert get(f"{API}/me").json["name"] == name


# -- cookies -------------------------------------------------------------------------------------------

def test_ledger_logout_ends_that_session_on_the_server_only(app):
    browser, copied = ledger_login(app, "demo-district")
    other_browser, other = ledger_login(app, "demo-district")
    assert_works(app, copied, "demo-district")
    assert replay(app, copied)("/ledger/").status_code == 200

    r = browser.post("/ledger/logout", data={"csrf_token": csrf(browser, "/ledger/")})
    assert r.status_code == 302 and r.headers["Location"].startswith("/ledger/login")

    assert_refused(app, copied)
    # The user's other browser is still logged in.
    assert other_browser.get("/ledger/").status_code == 200
    assert_works(app, other, "demo-district")


def test_couch_delete_session_ends_that_session_on_the_server_only(app):
    phone, copied = couch_login(app, "demo-village")
    _, other = couch_login(app, "demo-village")
    assert_works(app, copied, "demo-village")

    r = phone.delete("/_session")
    assert r.status_code == 200 and r.json == {"ok": True}
    assert phone.get("/_session").json["userCtx"]["name"] is None  # the cookie is gone here

    assert_refused(app, copied)
    assert_works(app, other, "demo-village")
    # A forged cookie is still just "nobody", as in CouchDB.
    forged = replay(app, copied[:-4] + ("AAAA" if not copied.endswith("AAAA") else "BBBB"))
    r = forged("/_session")
    assert r.status_code == 200 and r.json["userCtx"]["name"] is None


def test_api_logout_ends_the_cookie_session_it_came_with(app):
    client, copied = couch_login(app, "demo-township")
    _, other = couch_login(app, "demo-township")
    r = client.post(f"{API}/auth/logout")
    assert r.status_code == 200 and r.json["revoked"] == 1 and r.json["account"] == "demo-township"
    assert client.get_cookie("AuthSession") is None
    assert_refused(app, copied)
    assert_works(app, other, "demo-township")


def test_a_new_password_ends_every_session_and_token_of_the_account(app, runner):
    new_pw = "another-password-1"
    result = runner.invoke(args=["users", "add", "session-staff", "--role", "township_staff",
                                 "--scope", "990101001", "--password", PW])
    assert result.exit_code == 0, result.output
    _, cookie = couch_login(app, "session-staff")
    _, bystander = couch_login(app, "demo-township")
    client = app.test_client()
    login = client.post(f"{API}/auth/login", json={"name": "session-staff", "password": PW, "device_id": "pw-phone"}).json
    bearer = {"Authorization": f"Bearer {login['access_token']}"}
    assert_works(app, cookie, "session-staff")
    assert client.get(f"{API}/me", headers=bearer).status_code == 200

    result = runner.invoke(args=["users", "set-password", "session-staff", "--password", new_pw])
    assert result.exit_code == 0, result.output

    assert_refused(app, cookie)
    r = client.get(f"{API}/me", headers=bearer)
    assert r.status_code == 401 and r.json["code"] == "invalid_token"
    r = client.post(f"{API}/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert r.status_code == 401 and r.json["code"] == "invalid_token"
    assert_works(app, bystander, "demo-township")  # another account is untouched
    _, fresh = couch_login(app, "session-staff", new_pw)
    assert_works(app, fresh, "session-staff")


def test_a_session_ends_at_its_lifetime_on_the_server(app, monkeypatch):
    from server.core import clock

    start = dt.datetime(2031, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: start)
    _, cookie = couch_login(app, "demo-village")
    assert_works(app, cookie, "demo-village")
    lifetime = app.config["PAICHA_SESSION_SECONDS"]
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=lifetime - 1))
    assert replay(app, cookie)("/paicha").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=lifetime))
    assert replay(app, cookie)("/paicha").status_code == 401


# -- refresh tokens ------------------------------------------------------------------------------------

def api_login(client, name: str, device: str) -> dict:
    r = client.post(f"{API}/auth/login", json={"name": name, "password": PW, "device_id": device})
    assert r.status_code == 200, r.json
    return r.json


def refresh(client, token: str):
    return client.post(f"{API}/auth/refresh", json={"refresh_token": token})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_login(client):
    first = api_login(client, "demo-village", "rotating-phone")
    elsewhere = api_login(client, "demo-village", "other-phone")  # the same user's other login

    r = refresh(client, first["refresh_token"])
    assert r.status_code == 200
    second = r.json
    assert second["refresh_token"] not in (first["refresh_token"], second["access_token"])
    assert second["access_token"] != first["access_token"] and second["device_id"] == "rotating-phone"
    assert client.get(f"{API}/me", headers=bearer(second["access_token"])).status_code == 200
    assert client.get(f"{API}/me", headers=bearer(first["access_token"])).status_code == 200  # until it expires

    r = refresh(client, second["refresh_token"])  # the successor refreshes once, too
    assert r.status_code == 200
    third = r.json

    # The first refresh token was used up: presented again (a thief's copy, or the owner's), it fails
    # and takes every token of that login with it.
    r = refresh(client, first["refresh_token"])
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.json["code"] == "invalid_token" and r.json["reason"] == "refresh_token_reused"
    assert r.json["type"] == "https://paicha.example/problems/invalid_token"
    assert r.json["revoked"] == 4  # first's and second's access tokens, third's access and refresh tokens
    for login in (first, second, third):
        r = client.get(f"{API}/me", headers=bearer(login["access_token"]))
        assert r.status_code == 401 and r.json["code"] == "invalid_token"
        assert client.get("/paicha", headers=bearer(login["access_token"])).status_code == 401
    r = refresh(client, third["refresh_token"])  # the newest refresh token too: log in again
    assert r.status_code == 401 and r.json["code"] == "invalid_token" and "reason" not in r.json

    # The user's other login is not part of that family.
    assert client.get(f"{API}/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    assert refresh(client, elsewhere["refresh_token"]).status_code == 200
    # Logging in again works.
    again = api_login(client, "demo-village", "rotating-phone")
    assert client.get(f"{API}/me", headers=bearer(again["access_token"])).status_code == 200


def test_a_used_refresh_token_is_refused_even_right_after(client):
    login = api_login(client, "demo-township", "twice-phone")
    assert refresh(client, login["refresh_token"]).status_code == 200
    r = refresh(client, login["refresh_token"])
    assert r.status_code == 401 and r.json["code"] == "invalid_token" and r.json["reason"] == "refresh_token_reused"


def test_rotation_keeps_the_logins_lifetime(client, monkeypatch):
    from server.core import clock

    def at(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    start = dt.datetime(2031, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
    at(start)
    login = api_login(client, "demo-village", "lifetime-phone")
    refresh_expires = dt.datetime.fromisoformat(login["refresh_expires_at"])
    assert refresh_expires == start + dt.timedelta(days=30)

    at(start + dt.timedelta(days=20))
    r = refresh(client, login["refresh_token"])
    assert r.status_code == 200
    assert dt.datetime.fromisoformat(r.json["refresh_expires_at"]) == refresh_expires
    assert dt.datetime.fromisoformat(r.json["expires_at"]) == start + dt.timedelta(days=20, hours=12)
    assert r.json["expires_in"] == 12 * 3600

    at(refresh_expires)
    r = refresh(client, r.json["refresh_token"])
    assert r.status_code == 401 and r.json["code"] == "invalid_token" and "reason" not in r.json
