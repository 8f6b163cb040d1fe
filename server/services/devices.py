"""Devices and their last successful sync, per account.

PouchDB writes its replication checkpoint (`PUT /{db}/_local/{replication id}`) when a batch has
safely arrived, so that write is the moment a device has synced. A device is named by the
`X-Paicha-Device` header when the app sends one, else by its replication id.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy.dialects import postgresql, sqlite

from sync.store import Memo

from server.core.access import DEVICE_HEADER
from server.core.db import db
from server.core.models import Account, Device, utcnow


RECORD_EVERY = dt.timedelta(seconds=60)  # a device's last sync is kept to the minute


def record_sync(account_id: int, device_id: str, user_agent: str | None, when: dt.datetime) -> None:
    table = Device.__table__
    values = {"account_id": account_id, "device_id": device_id[:100], "user_agent": (user_agent or "")[:300],
              "first_seen_at": when, "last_sync_at": when}
    store = current_app.extensions["paicha_store"]
    with store.writing() as conn:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
        conn.execute(insert.values(values).on_conflict_do_update(
            index_elements=["account_id", "device_id"],
            set_={"last_sync_at": when, "user_agent": values["user_agent"]},
        ))


def not_synced_since(cutoff: dt.datetime) -> list[tuple[Account, Device | None]]:
    """Accounts whose newest device sync is older than `cutoff` (or who never synced)."""
    latest = (sa.select(Device.account_id, sa.func.max(Device.last_sync_at).label("last"))
              .group_by(Device.account_id).subquery())
    rows = db.session.execute(
        sa.select(Account, latest.c.last).outerjoin(latest, latest.c.account_id == Account.id)
        .where(Account.role.in_(["village_cadre", "township_staff"]))
        .where(sa.or_(latest.c.last.is_(None), latest.c.last < cutoff)).order_by(Account.scope)
    ).all()
    return [(account, last) for account, last in rows]


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
                now, key = utcnow(), (principal.account_id, device)
                last = recorded.get(key)
                if last is None or now - last >= RECORD_EVERY or now < last:
                    record_sync(principal.account_id, device, request.headers.get("User-Agent"), now)
                    recorded.remember(key, now)
        return response
