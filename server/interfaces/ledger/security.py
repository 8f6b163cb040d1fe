"""Who may see which ledger page, and the CSRF check of every form post.

Login reuses `server.core.auth`: `check_credentials` (with its lockout) and the same signed `AuthSession`
cookie that `POST /_session` sets, so there is one session mechanism for phones and browsers. Logging
out ends the session on the server (`server.core.auth.end_session`): a copy of the cookie is sent to login.

Scope is checked exactly like sync: a user sees an area only if its code starts with the user's scope
prefix. Every area a page is asked for goes through `area_in_scope`; documents are read through the
user-bound store handle, whose reads the engine limits to the same prefix.

CSRF: a signed double-submit token. A random `paicha_csrf` cookie (HttpOnly, SameSite=Lax) is paired
with a form field that is that value signed with the app's secret; a post is accepted only when the
field verifies and matches the cookie. Another site can neither read the cookie nor forge the field.
"""
from __future__ import annotations

import hmac
import secrets

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

from schemas.areas import is_area_code
from schemas.errors import PaichaError
from schemas.rules import SUPERVISOR_ROLES
from sync import errors

from server.core.auth import Principal, current_principal
from server.services.ledger import areas as ledger_areas

WRITER_ROLES = ("district_supervisor", "admin")
CSRF_COOKIE = "paicha_csrf"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    pass


def principal_or_none() -> Principal | None:
    try:
        return current_principal()
    except errors.CouchError:  # a bad Basic header or locked account: treat as not logged in
        return None


def viewer() -> Principal:
    """The logged-in ledger user; LoginRequired (-> redirect) or 403 for other roles."""
    who = principal_or_none()
    if who is None:
        raise LoginRequired()
    if who.role not in SUPERVISOR_ROLES:
        raise PaichaError("forbidden_role")
    return who


def writer() -> Principal:
    who = viewer()
    if who.role not in WRITER_ROLES:
        raise PaichaError("forbidden_write")
    return who


def valid_area(code: str | None) -> bool:
    return is_area_code(code)


def area_in_scope(who: Principal, area: str | None) -> str:
    """The area a page shows: the requested one if inside the user's scope, the scope by default;
    any other area is 403 (never data)."""
    scope = who.scope or ""
    if area in (None, ""):
        return scope
    if not valid_area(area):
        raise PaichaError("bad_request")
    if not area.startswith(scope):
        raise PaichaError("forbidden_area")
    if not ledger_areas.names([area]):
        raise PaichaError("unknown_area", f"No such area: {area}.", area=area)
    return area


def covers(who: Principal, area: str | None) -> bool:
    return isinstance(area, str) and area.startswith(who.scope or "")


# -- CSRF ------------------------------------------------------------------------------------------------

def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="paicha-ledger-csrf")


def _cookie_value() -> str:
    value = request.cookies.get(CSRF_COOKIE)
    if not value or len(value) > 100:
        value = g.get("new_csrf") or secrets.token_urlsafe(32)
        g.new_csrf = value  # set on the response by `set_csrf_cookie`
    return value


def csrf_token() -> str:
    return _signer().dumps(_cookie_value())


def check_csrf() -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.form.get(CSRF_FIELD, "")
    try:
        value = _signer().loads(sent)
    except BadSignature:
        value = None
    if not cookie or not isinstance(value, str) or not hmac.compare_digest(value, cookie):
        raise PaichaError("csrf_failed")


def set_csrf_cookie(response):
    value = g.get("new_csrf")
    if value:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="Lax", secure=request.is_secure)
    return response


FILER_ROLES = ("district_supervisor", "township_staff", "admin")


def may_file(who: Principal, round_area: str) -> bool:
    """Staff file their own area's rounds on the web (a district supervisor the district's monthly
    and quarterly ones, township staff the township's); an administrator any in scope."""
    if who.role not in FILER_ROLES:
        return False
    if who.role == "admin":
        return round_area.startswith(who.scope or "")
    return round_area == who.scope
