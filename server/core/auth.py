"""Who is calling: HTTP Basic, CouchDB's `AuthSession` cookie, or a bearer token.

Each cookie names a session recorded on the server (`auth_sessions`): logging out ends it there, so
a copied cookie is refused afterwards; a new password ends all of the account's sessions.

Failed logins are counted per account; after a few, the account is locked for a time that doubles
with each further failure, so guessing a password over the network is slow.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sync import errors
from sync.http import couch_json, error_response
from sync.jsonio import is_unicode

from server.core.models import Account, AuthSession, as_utc, utcnow
from server.core.passwords import verify_password

log = logging.getLogger(__name__)
COOKIE = "AuthSession"
FREE_FAILURES = 5
MAX_LOCK_SECONDS = 15 * 60


class TooManyAttempts(errors.CouchError):
    status = 429
    error = "too_many_requests"
    default_reason = "Too many failed logins. Try again later."


class SessionEnded(errors.Unauthorized):
    default_reason = "Your session has ended (logged out, or the password was changed). Log in again."


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    scope: str
    account_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="paicha-session")


_sessions = AuthSession.__table__


def _session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(principal: Principal) -> str:
    """A new server-side session for `principal`, and the cookie value that names it: a random
    session id, signed (clients treat the cookie as opaque, as CouchDB's). Only the id's hash is
    stored. The account's expired sessions are cleared in the same transaction."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = dt.timedelta(seconds=current_app.config["PAICHA_SESSION_SECONDS"])
    with current_app.extensions["paicha_store"].writing() as conn:
        conn.execute(sa.delete(_sessions).where(_sessions.c.account_id == principal.account_id,
                                                _sessions.c.expires_at <= now))
        conn.execute(_sessions.insert(), dict(account_id=principal.account_id, session_hash=_session_key(session_id),
                                              created_at=now, expires_at=now + lifetime))
    return _serializer().dumps({"sid": session_id})


def set_session_cookie(response, principal: Principal):
    """Log the browser in: the one AuthSession cookie (CouchDB's name) that every client shares."""
    response.set_cookie(COOKIE, start_session(principal), httponly=True, samesite="Lax",
                        max_age=current_app.config["PAICHA_SESSION_SECONDS"], secure=request.is_secure)
    return response


def end_session(account_id: int | None = None) -> bool:
    """Log out: end, on the server, the session of this request's AuthSession cookie (only if it
    is `account_id`'s, when given). The same cookie value is refused from then on, wherever it
    was copied to; the account's other sessions go on. False if there was no live session."""
    key = _cookie_session_key()
    if not key:
        return False
    condition = [_sessions.c.session_hash == key, _sessions.c.revoked_at.is_(None)]
    if account_id is not None:
        condition.append(_sessions.c.account_id == account_id)
    with current_app.extensions["paicha_store"].writing() as conn:
        ended = conn.execute(sa.update(_sessions).where(*condition).values(revoked_at=utcnow())).rowcount
    return ended > 0


def end_all_sessions(conn, account_id: int) -> int:
    """End every session of the account (a new password), on the caller's connection or ORM
    session, inside its transaction."""
    return conn.execute(sa.update(_sessions).where(_sessions.c.account_id == account_id,
                                                   _sessions.c.revoked_at.is_(None))
                        .values(revoked_at=utcnow())).rowcount


def _principal(account) -> Principal:
    return Principal(account.name, account.role, account.scope, account.id)


_ACCOUNT_BY_NAME = sa.select(Account.__table__).where(Account.__table__.c.name == sa.bindparam("name"))


def _account_row(name: str):
    """The account as a plain row, read on its own short connection: every request of a phone
    looks its account up (a disabled account or a changed password must take effect at once), so
    this skips the ORM session, and no read transaction is held across the slow hash (SQLite
    writers would wait on it)."""
    if not _could_be_a_name(name):
        return None  # no account has it, and PostgreSQL could not even compare a NUL
    return current_app.extensions["paicha_store"].read_row(_ACCOUNT_BY_NAME, {"name": name})


def _could_be_a_name(name) -> bool:
    """False for text no account name holds: control characters (NUL among them), half a
    character, or longer than the column."""
    return (isinstance(name, str) and len(name) <= 100 and name.isprintable()
            and is_unicode(name))


def check_credentials(name: str, password: str) -> Principal:
    """Verify a name and password, applying the lockout; raises Unauthorized or TooManyAttempts."""
    account = _account_row(name)
    now = utcnow()
    if account is not None and account.locked_until is not None:
        locked_until = account.locked_until
        if locked_until.tzinfo is None:
            locked_until = locked_until.replace(tzinfo=dt.timezone.utc)
        if locked_until > now:
            raise TooManyAttempts()
    ok = verify_password(name, password, account.password_hash if account and account.active else None)
    if not ok:
        if account is not None:
            failures = account.failed_logins + 1
            over = failures - FREE_FAILURES
            locked_until = now + dt.timedelta(seconds=min(2 ** over, MAX_LOCK_SECONDS)) if over >= 0 else None
            _set_failures(account.id, failures, locked_until)
            log.warning("failed login for account %r (%d failures)", name, failures)
        raise errors.Unauthorized("Name or password is incorrect.")
    if account.failed_logins or account.locked_until:
        _set_failures(account.id, 0, None)
    return _principal(account)


def _set_failures(account_id: int, failures: int, locked_until) -> None:
    store = current_app.extensions["paicha_store"]
    with store.writing() as conn:
        conn.execute(sa.update(Account.__table__).where(Account.__table__.c.id == account_id)
                     .values(failed_logins=failures, locked_until=locked_until))


def _cookie_session_key() -> str | None:
    """The stored key of the session this request's cookie names: None without a cookie, or with
    one that is forged or past its lifetime; "" for a genuine cookie without a session id (signed
    before sessions were recorded), which no session matches."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        payload = _serializer().loads(token, max_age=current_app.config["PAICHA_SESSION_SECONDS"])
    except (BadSignature, SignatureExpired):
        return None
    session_id = payload.get("sid") if isinstance(payload, dict) else None
    return _session_key(session_id) if isinstance(session_id, str) and session_id else ""


_SESSION_WITH_ACCOUNT = (
    sa.select(_sessions.c.expires_at, _sessions.c.revoked_at, Account.__table__.c.id, Account.__table__.c.name,
              Account.__table__.c.role, Account.__table__.c.scope, Account.__table__.c.active)
    .select_from(_sessions.join(Account.__table__, Account.__table__.c.id == _sessions.c.account_id))
    .where(_sessions.c.session_hash == sa.bindparam("session_hash"))
)


def _from_session_cookie() -> Principal | None:
    """The caller of a live cookie session: one indexed read of the session and its account (as
    for a bearer token), so a session ended on the server, or a disabled account, stops the next
    request. A genuine cookie whose session has ended marks the request (`g.session_ended`): the
    caller is anonymous, and told so with a 401 where CouchDB would say "nobody"."""
    key = _cookie_session_key()
    if key is None:
        return None
    row = current_app.extensions["paicha_store"].read_row(_SESSION_WITH_ACCOUNT, {"session_hash": key}) if key else None
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow() or not row.active:
        g.session_ended = True
        return None
    return _principal(row)


def _from_bearer(token: str) -> Principal | None:
    resolver = current_app.extensions.get("paicha_token_resolver")
    return resolver(token) if resolver else None


def current_principal() -> Principal | None:
    """The authenticated caller of this request, or None. Computed once per request."""
    if "principal" in g:
        return g.principal
    principal = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise errors.BadRequest("Malformed Basic authorization header.") from None
        principal = check_credentials(name, password)
    elif header.startswith("Bearer "):
        principal = _from_bearer(header[7:].strip())
        if principal is None:
            raise errors.Unauthorized("Token is invalid or expired.")
    else:
        principal = _from_session_cookie()
    g.principal = principal
    return principal


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        if g.get("session_ended"):
            raise SessionEnded()
        raise errors.Unauthorized("You are not authorized to access this db.")
    return principal


def _user_ctx(principal: Principal | None) -> dict:
    if principal is None:
        return {"name": None, "roles": []}
    roles = [principal.role] + (["_admin"] if principal.is_admin else [])
    return {"name": principal.name, "roles": roles}


def session_blueprint() -> Blueprint:
    bp = Blueprint("session", __name__)

    @bp.errorhandler(errors.CouchError)
    def _couch_error(exc):
        return error_response(exc)

    @bp.get("/_session")
    def get_session():
        principal = current_principal()
        if principal is None and g.get("session_ended"):
            # The cookie's session was ended on the server: say so (401), and drop the cookie.
            response = error_response(SessionEnded())
            response.delete_cookie(COOKIE)
            return response
        return couch_json({"ok": True, "userCtx": _user_ctx(principal),
                           "info": {"authentication_handlers": ["cookie", "default"]}})

    @bp.post("/_session")
    def post_session():
        if request.is_json:
            body = request.get_json(silent=True) or {}
        else:
            body = request.form
        name, password = body.get("name") or body.get("username"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise errors.BadRequest("name and password are required")
        principal = check_credentials(name, password)
        return set_session_cookie(couch_json({"ok": True, **_user_ctx(principal)}), principal)

    @bp.delete("/_session")
    def delete_session():
        end_session()  # on the server too: a copy of the cookie stops working
        response = couch_json({"ok": True})
        response.delete_cookie(COOKIE)
        return response

    return bp
