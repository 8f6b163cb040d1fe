"""Bearer tokens: random secrets handed to the field app, stored only as SHA-256 hashes.

mobile_api issues them at login; the sync API and the REST API both accept them
(`Authorization: Bearer ...`), so the app needs one credential for everything.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from .auth import Principal
from .extensions import db, write_session
from .models import Account, ApiToken, as_utc, utcnow

ACCESS_TTL = dt.timedelta(hours=12)
REFRESH_TTL = dt.timedelta(days=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(account_id: int, device_id: str | None, kind: str = "access", ttl: dt.timedelta | None = None) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + (ttl or (ACCESS_TTL if kind == "access" else REFRESH_TTL))
    with write_session() as session, session.begin():
        session.add(ApiToken(account_id=account_id, token_hash=_hash(token), device_id=device_id, kind=kind,
                             created_at=utcnow(), expires_at=expires))
    return token, expires


def lookup(token: str, kind: str = "access") -> tuple[ApiToken, Account] | None:
    row = db.session.execute(
        sa.select(ApiToken, Account).join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == _hash(token), ApiToken.kind == kind)
    ).first()
    if row is None:
        return None
    record, account = row
    if record.revoked_at is not None or as_utc(record.expires_at) <= utcnow() or not account.active:
        return None
    return record, account


def resolve(token: str) -> Principal | None:
    found = lookup(token)
    if found is None:
        return None
    _, account = found
    return Principal(account.name, account.role, account.scope, account.id)


def revoke(token: str) -> bool:
    with write_session() as session, session.begin():
        found = session.execute(sa.select(ApiToken).where(ApiToken.token_hash == _hash(token))).scalar_one_or_none()
        if found is None or found.revoked_at is not None:
            return False
        found.revoked_at = utcnow()
    return True


def revoke_device(account_id: int, device_id: str) -> int:
    with write_session() as session, session.begin():
        result = session.execute(
            sa.update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.device_id == device_id,
                                      ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
        return result.rowcount


def init_app(app) -> None:
    app.extensions["paicha_token_resolver"] = resolve
