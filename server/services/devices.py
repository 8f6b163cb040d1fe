"""An account's devices: registered by the app (or at login), seen by sync, holding tokens.

PouchDB writes its replication checkpoint (`PUT /{db}/_local/{replication id}`) when a batch has
safely arrived, so that write is the moment a device has synced. A device is named by the
`X-Paicha-Device` header when the app sends one, else by its replication id.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, g, request
from sqlalchemy.dialects import postgresql, sqlite

from sync.store import Memo

from server.core.access import DEVICE_HEADER
from server.core.db import reading, writing
from server.core import clock
from server.core.models import Account, ApiToken, Device


RECORD_EVERY = dt.timedelta(seconds=60)  # a device's last sync is kept to the minute


def record_sync(account_id: int, device_id: str, user_agent: str | None, when: dt.datetime) -> None:
    table = Device.__table__
    values = {"account_id": account_id, "device_id": device_id[:100], "user_agent": (user_agent or "")[:300],
              "first_seen_at": when, "last_sync_at": when}
    with writing() as conn:
        conn.execute(_insert(conn)(table).values(values).on_conflict_do_update(
            index_elements=["account_id", "device_id"],
            set_={"last_sync_at": when, "user_agent": values["user_agent"]},
        ))


def not_synced_since(cutoff: dt.datetime) -> list[tuple[Account, Device | None]]:
    """Accounts whose newest device sync is older than `cutoff` (or who never synced)."""
    latest = (sa.select(Device.account_id, sa.func.max(Device.last_sync_at).label("last"))
              .group_by(Device.account_id).subquery())
    with reading() as session:
        rows = session.execute(
            sa.select(Account, latest.c.last).outerjoin(latest, latest.c.account_id == Account.id)
            .where(Account.role.in_(["village_cadre", "township_staff"]))
            .where(sa.or_(latest.c.last.is_(None), latest.c.last < cutoff)).order_by(Account.scope)
        ).all()
    return [(account, last) for account, last in rows]


def _insert(conn):
    """The dialect's INSERT, for its ON CONFLICT clause."""
    return postgresql.insert if conn.get_bind().dialect.name == "postgresql" else sqlite.insert


def register(account_id: int, device_id: str, label: str | None, *, conn=None) -> bool:
    """Record the device (label kept in `user_agent`); True if it was new. Written on `conn` (a
    `writing()` session) when given, inside the caller's write transaction, else in a write
    transaction of its own."""
    if conn is None:
        with writing() as own:
            return register(account_id, device_id, label, conn=own)
    table = Device.__table__
    now = clock.now()
    created = conn.execute(_insert(conn)(table).values(
        account_id=account_id, device_id=device_id, user_agent=(label or "")[:300], first_seen_at=now,
        last_sync_at=None).on_conflict_do_nothing(index_elements=["account_id", "device_id"])
        .returning(table.c.id)).first() is not None
    if not created and label:
        conn.execute(table.update().where(table.c.account_id == account_id, table.c.device_id == device_id)
                     .values(user_agent=label[:300]))
    return created


@dataclass(frozen=True)
class DeviceSummary:
    device_id: str
    label: str | None
    first_seen_at: dt.datetime | None
    last_sync_at: dt.datetime | None
    active_tokens: int


def listing(account_id: int) -> list[DeviceSummary]:
    """Devices of an account, by id: registered or synced ones, and any device holding a token."""
    now = clock.now()
    live = sa.and_(ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    with reading() as session:
        rows = session.execute(sa.select(Device).where(Device.account_id == account_id)).scalars().all()
        counts = dict(session.execute(sa.select(ApiToken.device_id, sa.func.count()).where(live)
                                      .group_by(ApiToken.device_id)).all())
        token_devices = set(session.execute(sa.select(ApiToken.device_id).where(
            ApiToken.account_id == account_id, ApiToken.device_id.is_not(None)).distinct()).scalars())
    found = {r.device_id: (r.user_agent or None, r.first_seen_at, r.last_sync_at) for r in rows}
    for device_id in token_devices - set(found):
        found[device_id] = (None, None, None)
    return [DeviceSummary(device_id, *found[device_id], counts.get(device_id, 0)) for device_id in sorted(found)]


def known(account_id: int, device_id: str) -> bool:
    """Whether the account has this device: registered, synced, or ever given a token."""
    with reading() as session:
        if session.execute(sa.select(Device.id).where(Device.account_id == account_id,
                                                      Device.device_id == device_id)).first() is not None:
            return True
        token = session.execute(sa.select(ApiToken.id).where(ApiToken.account_id == account_id,
                                                             ApiToken.device_id == device_id).limit(1)).first()
        return token is not None


def account_named(name: str) -> Account | None:
    with reading() as session:
        return session.execute(sa.select(Account).where(Account.name == name)).scalar_one_or_none()


def init_app(app: Flask) -> None:
    domain = app.config["PAICHA_DOMAIN_DB"]
    prefix = f"/{domain}/_local/"
    recorded = Memo()  # (account, device) -> when this process last wrote it
    app.extensions["paicha_device_syncs"] = recorded

    @app.after_request
    def _checkpoint_written(response):
        if request.method == "PUT" and response.status_code == 201 and request.path.startswith(prefix):
            principal = g.get("principal")
            if principal is not None:
                device = request.headers.get(DEVICE_HEADER) or request.path[len(prefix):]
                # A replication writes its checkpoint after every batch: one row write a minute
                # per device says as much as one per batch (the ledger counts staleness in days).
                now, key = clock.now(), (principal.account_id, device)
                last = recorded.get(key)
                if last is None or now - last >= RECORD_EVERY or now < last:
                    record_sync(principal.account_id, device, request.headers.get("User-Agent"), now)
                    recorded.remember(key, now)
        return response
