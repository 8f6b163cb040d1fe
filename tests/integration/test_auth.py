"""Authentication the way CouchDB clients expect it: Basic, the AuthSession cookie, bearer tokens;
failed logins slow down; no password reaches the logs."""
from __future__ import annotations

import base64
import datetime
import logging

import pytest

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

PW = "demo-password"


def basic(name, password=PW):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_basic_auth_and_anonymous(client):
    assert client.get("/paicha").status_code == 401
    assert client.get("/paicha", headers=basic("demo-village")).status_code == 200
    r = client.get("/paicha", headers=basic("demo-village", "nope-nope"))
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert client.get("/paicha", headers=basic("nobody")).status_code == 401


def test_session_cookie_login_use_and_logout(client):
    r = client.post("/_session", json={"name": "demo-village", "password": PW})
    assert r.status_code == 200 and r.json["name"] == "demo-village"
    assert "AuthSession=" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert client.get("/_session").json["userCtx"]["name"] == "demo-village"
    assert client.get("/paicha").status_code == 200
    client.delete("/_session")
    assert client.get("/_session").json["userCtx"]["name"] is None
    assert client.get("/paicha").status_code == 401


def test_form_login_and_forged_cookie(client):
    assert client.post("/_session", data={"name": "demo-village", "password": "bad-password"}).status_code == 401
    client.set_cookie("AuthSession", "demo-admin.forged.signature")
    assert client.get("/_session").json["userCtx"]["name"] is None
    assert client.get("/_all_dbs").status_code == 401


def test_bearer_tokens_work_and_can_be_revoked(app, client):
    from server.services import tokens
    from server.core.models import Account
    from server.core.db import db
    import sqlalchemy as sa

    with app.app_context():
        account_id = db.session.execute(sa.select(Account.id).where(Account.name == "demo-village")).scalar_one()
        token, _ = tokens.issue(account_id, "phone-1")
        expired, _ = tokens.issue(account_id, "phone-1", ttl=datetime.timedelta(seconds=-1))
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/paicha", headers=auth).status_code == 200
    assert client.get("/_session", headers=auth).json["userCtx"]["name"] == "demo-village"
    assert client.get("/paicha", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert client.get("/paicha", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    with app.app_context():
        assert tokens.revoke_device(account_id, "phone-1") == 2
    assert client.get("/paicha", headers=auth).status_code == 401


def test_a_bearer_token_stops_with_its_account_and_only_access_tokens_open_the_api(app, client):
    from server.services import tokens
    from server.core.models import Account
    from server.core.db import db
    import sqlalchemy as sa

    with app.app_context():
        account_id = db.session.execute(sa.select(Account.id).where(Account.name == "demo-village")).scalar_one()
        access, _ = tokens.issue(account_id, "phone-2")
        refresh, _ = tokens.issue(account_id, "phone-2", kind="refresh")
    assert client.get("/paicha", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    assert client.get("/paicha", headers={"Authorization": f"Bearer {refresh}"}).status_code == 401

    def set_active(active: bool) -> None:
        with app.app_context():
            db.session.execute(sa.update(Account).where(Account.id == account_id).values(active=active))
            db.session.commit()

    set_active(False)
    try:
        assert client.get("/paicha", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    finally:
        set_active(True)
    assert client.get("/paicha", headers={"Authorization": f"Bearer {access}"}).status_code == 200


@pytest.mark.parametrize("header, token", [
    ("Bearer abc-DEF_123", "abc-DEF_123"), ("bearer abc", "abc"), ("BEARER  a.b~c+d/e== ", "a.b~c+d/e=="),
    ("Basic ZGVtbzpwdw==", None), ("", None), ("Bearerabc", None),
])
def test_a_bearer_header_is_read_one_way(header, token):
    from server.core.auth import bearer_token

    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Bearer", "Bearer  ", "Bearer a b", "Bearer t\u00f6ken", "Bearer a=b",
                                    "Bearer " + "a" * 600])
def test_a_bearer_header_without_a_token_is_an_invalid_token(header):
    from sync import errors
    from server.core.auth import bearer_token

    with pytest.raises(errors.InvalidToken):
        bearer_token(header)


def test_the_couchdb_api_and_the_rest_api_read_a_bearer_header_alike(app, client):
    from server.services import tokens
    from server.core.models import Account
    from server.core.db import db
    import sqlalchemy as sa

    with app.app_context():
        account_id = db.session.execute(sa.select(Account.id).where(Account.name == "demo-village")).scalar_one()
        token, _ = tokens.issue(account_id, "phone-3")
    for scheme in ("Bearer", "bearer", "BEARER"):
        auth = {"Authorization": f"{scheme} {token}"}
        assert client.get("/paicha", headers=auth).status_code == 200, scheme
        assert client.get("/api/v1/me", headers=auth).json["name"] == "demo-village", scheme
    for malformed in (f"Bearer {token} {token}", f"Bearer {token}\u00e9", "bearer"):
        auth = {"Authorization": malformed}
        assert client.get("/paicha", headers=auth).status_code == 401, malformed
        r = client.get("/api/v1/me", headers=auth)
        assert r.status_code == 401 and r.json["code"] == "invalid_token", malformed


def test_repeated_failures_lock_the_account_for_a_while(client):
    for _ in range(5):
        assert client.get("/paicha", headers=basic("demo-village2", "guess-guess")).status_code == 401
    # Locked now: even the right password waits, and the answer says why.
    r = client.get("/paicha", headers=basic("demo-village2"))
    assert r.status_code == 429 and r.json["error"] == "too_many_requests"
    # Other accounts are not affected.
    assert client.get("/paicha", headers=basic("demo-village")).status_code == 200


def test_passwords_never_reach_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/paicha", headers=basic("demo-village", "Secret-Guess-123"))
    client.post("/_session", json={"name": "demo-village", "password": PW})
    text = caplog.text
    assert "demo-village" in text  # the failure is logged...
    assert "Secret-Guess-123" not in text and PW not in text  # ...without the password


def test_admin_only_database_management(client):
    assert client.put("/sandbox", headers=basic("demo-village")).status_code == 403
    assert client.put("/sandbox", headers=basic("demo-admin")).status_code == 201
    assert client.put("/sandbox", headers=basic("demo-admin")).status_code == 412
    # Plain databases carry no domain rules: any document is fine there.
    r = client.put("/sandbox/anything", json={"hello": "world"}, headers=basic("demo-village"))
    assert r.status_code == 201
    assert client.delete("/sandbox", headers=basic("demo-village")).status_code == 403
    assert client.delete("/sandbox", headers=basic("demo-admin")).status_code == 200
    assert client.get("/sandbox", headers=basic("demo-admin")).status_code == 404
