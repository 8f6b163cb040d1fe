"""An account's devices: registered by the app (or at login), seen by sync, holding tokens."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from server.interfaces.couchdb import get_store
from server.core.db import db
from server.core.models import Account, ApiToken, Device, utcnow


def register(account_id: int, device_id: str, label: str | None, *, conn: sa.Connection | None = None) -> bool:
    """Record the device (label kept in `user_agent`); True if it was new. Written on `conn` when
    given (inside the caller's write transaction), else in a write transaction of its own."""
    if conn is None:
        with get_store().writing() as own:
            return register(account_id, device_id, label, conn=own)
    table = Device.__table__
    now = utcnow()
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    created = conn.execute(insert.values(account_id=account_id, device_id=device_id,
                                         user_agent=(label or "")[:300], first_seen_at=now, last_sync_at=None)
                           .on_conflict_do_nothing(index_elements=["account_id", "device_id"])
                           .returning(table.c.id)).first() is not None
    if not created and label:
        conn.execute(table.update().where(table.c.account_id == account_id, table.c.device_id == device_id)
                     .values(user_agent=label[:300]))
    return created


def listing(account_id: int) -> list[dict]:
    """Devices of an account: registered or synced ones, and any device holding a token."""
    now = utcnow()
    db.session.rollback()  # a fresh snapshot: see what this request just wrote
    rows = db.session.execute(sa.select(Device).where(Device.account_id == account_id)).scalars().all()
    live = sa.and_(ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    counts = dict(db.session.execute(sa.select(ApiToken.device_id, sa.func.count()).where(live)
                                     .group_by(ApiToken.device_id)).all())
    token_devices = set(db.session.execute(sa.select(ApiToken.device_id).where(
        ApiToken.account_id == account_id, ApiToken.device_id.is_not(None)).distinct()).scalars())
    db.session.rollback()
    out = {r.device_id: {"device_id": r.device_id, "label": r.user_agent or None,
                         "first_seen_at": _iso(r.first_seen_at), "last_sync_at": _iso(r.last_sync_at)}
           for r in rows}
    for device_id in token_devices - set(out):
        out[device_id] = {"device_id": device_id, "label": None, "first_seen_at": None, "last_sync_at": None}
    for entry in out.values():
        entry["active_tokens"] = counts.get(entry["device_id"], 0)
    return [out[k] for k in sorted(out)]


def known(account_id: int, device_id: str) -> bool:
    db.session.rollback()
    found = db.session.execute(sa.select(Device.id).where(Device.account_id == account_id,
                                                          Device.device_id == device_id)).first()
    if found is None:
        found = db.session.execute(sa.select(ApiToken.id).where(ApiToken.account_id == account_id,
                                                                ApiToken.device_id == device_id).limit(1)).first()
    db.session.rollback()
    return found is not None


def account_named(name: str) -> Account | None:
    account = db.session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()
    return account


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat(timespec="seconds")
