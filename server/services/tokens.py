"""Bearer tokens: random secrets handed to the field app, stored only as SHA-256 hashes.

mobile_api issues them at login; the sync API and the REST API both accept them
(`Authorization: Bearer ...`), so the app needs one credential for everything.

Refresh tokens rotate: each is good for one refresh, which hands out its successor. Every token
descended from one login shares a family; a refresh token presented again after it was used means
two parties hold it (one of them a thief), so the whole family is revoked and the user logs in again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import NamedTuple

import sqlalchemy as sa

from server.core.auth import Principal
from server.core.db import writing
from server.core.store import get_store
from server.core import clock
from server.core.models import Account, ApiToken, as_utc

ACCESS_TTL = dt.timedelta(hours=12)
REFRESH_TTL = dt.timedelta(days=30)


_tokens, _accounts = ApiToken.__table__, Account.__table__
_TOKEN_INSERT = _tokens.insert()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_family() -> str:
    """The family of a new login's tokens."""
    return secrets.token_hex(16)


def issue(account_id: int, device_id: str | None, kind: str = "access", ttl: dt.timedelta | None = None,
          *, conn: sa.Connection | None = None, family: str | None = None,
          expires_at: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A new token of `kind` for the account's device, in `family` (the login it descends from);
    it expires after `ttl`, or at `expires_at`. Written on `conn` when given (inside the caller's
    write transaction: a login stores its device and both its tokens together, or none), else in
    a write transaction of its own."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    expires = expires_at or now + (ttl or (ACCESS_TTL if kind == "access" else REFRESH_TTL))
    row = dict(account_id=account_id, token_hash=_hash(token), device_id=device_id, kind=kind,
               created_at=now, expires_at=expires, family=family)
    if conn is not None:
        conn.execute(_TOKEN_INSERT, row)
    else:
        with writing() as own:
            own.execute(_TOKEN_INSERT, row)
    return token, expires


class TokenRecord(NamedTuple):
    id: int
    device_id: str | None
    expires_at: dt.datetime


class TokenAccount(NamedTuple):
    id: int
    name: str
    role: str
    scope: str


_TOKEN_WITH_ACCOUNT = (
    sa.select(_tokens.c.id, _tokens.c.device_id, _tokens.c.expires_at, _tokens.c.revoked_at,
              _accounts.c.id.label("account_id"), _accounts.c.name, _accounts.c.role, _accounts.c.scope,
              _accounts.c.active)
    .select_from(_tokens.join(_accounts, _accounts.c.id == _tokens.c.account_id))
    .where(_tokens.c.token_hash == sa.bindparam("token_hash"), _tokens.c.kind == sa.bindparam("kind"))
)


def lookup(token: str, kind: str = "access") -> tuple[TokenRecord, TokenAccount] | None:
    """The live token and its account, or None (unknown, revoked, expired, or the account disabled).
    Every request of a phone syncing with its token comes here, so it is one plain row on a short
    connection (as for Basic's account), not the ORM session, and checked afresh each time: a
    revoked token or a disabled account stops the next request."""
    row = get_store().read_row(
        _TOKEN_WITH_ACCOUNT, {"token_hash": _hash(token), "kind": kind})
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= clock.now() or not row.active:
        return None
    return (TokenRecord(row.id, row.device_id, row.expires_at),
            TokenAccount(row.account_id, row.name, row.role, row.scope))


def resolve(token: str) -> tuple[Principal, TokenRecord] | None:
    """The caller of a live access token, and the token's record (server.core.auth asks)."""
    found = lookup(token)
    if found is None:
        return None
    record, account = found
    return Principal(account.name, account.role, account.scope, account.id), record


class Rotated(NamedTuple):
    access: str
    access_expires: dt.datetime
    refresh: str
    refresh_expires: dt.datetime
    device_id: str | None
    account: TokenAccount


class RefreshReused(Exception):
    """A refresh token presented after it was already used: every token of its family is revoked."""

    def __init__(self, revoked: int):
        super().__init__(f"refresh token reused; {revoked} token(s) of its family revoked")
        self.revoked = revoked


_REFRESH_FOR_ROTATION = (
    sa.select(_tokens.c.id, _tokens.c.device_id, _tokens.c.expires_at, _tokens.c.revoked_at, _tokens.c.used_at,
              _tokens.c.family, _accounts.c.id.label("account_id"), _accounts.c.name, _accounts.c.role,
              _accounts.c.scope, _accounts.c.active)
    .select_from(_tokens.join(_accounts, _accounts.c.id == _tokens.c.account_id))
    .where(_tokens.c.token_hash == sa.bindparam("token_hash"), _tokens.c.kind == "refresh")
    .with_for_update(of=_tokens)  # PostgreSQL: two refreshes with one token take turns (SQLite: one writer)
)


def rotate(refresh_token: str, access_ttl: dt.timedelta | None = None) -> Rotated | None:
    """Exchange a live refresh token for a new access token and a new refresh token (which keeps
    the used one's expiry: a login lasts its refresh lifetime, however often it is refreshed), and
    retire the used one; all in one write transaction. None if the token is unknown, revoked,
    expired or its account disabled. Raises RefreshReused, after revoking the whole family, if the
    token was already used."""
    now = clock.now()
    reused = None
    with writing() as conn:
        row = conn.execute(_REFRESH_FOR_ROTATION, {"token_hash": _hash(refresh_token)}).first()
        if row is None:
            return None
        if row.used_at is not None:
            reused = revoke_family(conn, row.family, row.id, now)
        elif row.revoked_at is not None or as_utc(row.expires_at) <= now or not row.active:
            return None
        else:
            family = row.family or new_family()  # tokens issued before families: theirs starts here
            conn.execute(sa.update(_tokens).where(_tokens.c.id == row.id)
                         .values(used_at=now, revoked_at=now, family=family))
            access, access_expires = issue(row.account_id, row.device_id, "access", access_ttl, conn=conn,
                                           family=family)
            refresh, refresh_expires = issue(row.account_id, row.device_id, "refresh", conn=conn, family=family,
                                             expires_at=as_utc(row.expires_at))
    if reused is not None:
        raise RefreshReused(reused)
    return Rotated(access, access_expires, refresh, refresh_expires, row.device_id,
                   TokenAccount(row.account_id, row.name, row.role, row.scope))


def revoke_family(conn: sa.Connection, family: str | None, token_id: int, now: dt.datetime | None = None) -> int:
    """Revoke every live token of `family` (just the token `token_id` if it has none)."""
    which = _tokens.c.family == family if family else _tokens.c.id == token_id
    return conn.execute(sa.update(_tokens).where(which, _tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now or clock.now())).rowcount


def revoke(token: str) -> bool:
    with writing() as session:
        found = session.execute(sa.select(ApiToken).where(ApiToken.token_hash == _hash(token))).scalar_one_or_none()
        if found is None or found.revoked_at is not None:
            return False
        found.revoked_at = clock.now()
    return True


def revoke_device(account_id: int, device_id: str) -> int:
    with writing() as session:
        result = session.execute(
            sa.update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.device_id == device_id,
                                      ApiToken.revoked_at.is_(None)).values(revoked_at=clock.now())
        )
        return result.rowcount


def init_app(app) -> None:
    app.extensions["paicha_token_resolver"] = resolve
