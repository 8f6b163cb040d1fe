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
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sync import errors
from sync.errors import SessionEnded, TooManyAttempts  # noqa: F401  (the catalogue's; the interfaces catch them)
from sync.jsonio import is_unicode

from server.core.db import writing
from server.core import clock
from server.core.models import Account, AuthSession, as_utc
from server.core.passwords import verify_password
from server.core.store import get_store

log = logging.getLogger(__name__)
COOKIE = "AuthSession"
FREE_FAILURES = 5
MAX_LOCK_SECONDS = 15 * 60


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
    now = clock.now()
    lifetime = dt.timedelta(seconds=current_app.config["PAICHA_SESSION_SECONDS"])
    with writing() as conn:
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
    with writing() as conn:
        ended = conn.execute(sa.update(_sessions).where(*condition).values(revoked_at=clock.now())).rowcount
    return ended > 0


def end_all_sessions(conn, account_id: int) -> int:
    """End every session of the account (a new password), on the caller's connection or ORM
    session, inside its transaction."""
    return conn.execute(sa.update(_sessions).where(_sessions.c.account_id == account_id,
                                                   _sessions.c.revoked_at.is_(None))
                        .values(revoked_at=clock.now())).rowcount


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
    return get_store().read_row(_ACCOUNT_BY_NAME, {"name": name})


def _could_be_a_name(name) -> bool:
    """False for text no account name holds: control characters (NUL among them), half a
    character, or longer than the column."""
    return (isinstance(name, str) and len(name) <= 100 and name.isprintable()
            and is_unicode(name))


def principal_named(name: str) -> Principal | None:
    """The principal of the active account `name`, or None: for work the server does on an
    account's behalf (an import, the demo data, an administrator's decision from the CLI)."""
    account = _account_row(name)
    return _principal(account) if account is not None and account.active else None


def check_credentials(name: str, password: str) -> Principal:
    """Verify a name and password, applying the lockout; raises Unauthorized or TooManyAttempts."""
    account = _account_row(name)
    now = clock.now()
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
        raise errors.InvalidCredentials()
    if account.failed_logins or account.locked_until:
        _set_failures(account.id, 0, None)
    return _principal(account)


def _set_failures(account_id: int, failures: int, locked_until) -> None:
    with writing() as conn:
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
    row = get_store().read_row(_SESSION_WITH_ACCOUNT, {"session_hash": key}) if key else None
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= clock.now() or not row.active:
        g.session_ended = True
        return None
    return _principal(row)


# RFC 6750's b64token: all a bearer token may be made of (ours are URL-safe base64).
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_BEARER_TOKEN = 512


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when the header is of
    another scheme, or empty. The scheme is matched in any case (RFC 9110); what follows must be
    one token of RFC 6750's characters, else InvalidToken (no lookup is made for it)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = rest.strip(" ")
    if len(token) > MAX_BEARER_TOKEN or not _BEARER_TOKEN.fullmatch(token):
        raise errors.InvalidToken()
    return token


def _from_bearer(token: str) -> Principal | None:
    """The caller of a live access token. The token and its record stay on the request
    (`g.bearer`, `g.api_token`) for the routes that act on the token itself (logout, its device)."""
    resolver = current_app.extensions.get("paicha_token_resolver")
    found = resolver(token) if resolver else None
    if found is None:
        return None
    principal, g.api_token = found
    g.bearer = token
    return principal


def current_principal() -> Principal | None:
    """The authenticated caller of this request, or None. Computed once per request."""
    if "principal" in g:
        return g.principal
    principal = None
    header = request.headers.get("Authorization", "")
    token = bearer_token(header)
    if header.startswith("Basic "):
        try:
            name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise errors.BadRequest("Malformed Basic authorization header.") from None
        principal = check_credentials(name, password)
    elif token is not None:
        principal = _from_bearer(token)
        if principal is None:
            raise errors.InvalidToken()
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
