"""Noticing that the store went back in time, and making replication safe again when it did.

A store restored from a backup (or a standby promoted before it had everything) has lost the writes
after its moment, and its replication checkpoints are from then: phones must send again what it
lost, which PouchDB does only if the checkpoints of a session that went on past that moment are no
longer taken for the phone's own (`sync.checkpoints`).

On PostgreSQL the server notices by itself: it keeps the store's identity (the cluster's system
identifier and timeline, the database's oid) in `sync_server_meta`, and at start an identity that
changed means a restore (`pg_restore` into another database or cluster, a base backup recovered to a
point, a standby promoted). `flask store restored` says so by hand (SQLite: after copying a backup
file back). Both are safe to repeat: a phone then only resumes from further back.
"""
from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa

from sync.checkpoints import forget_current_sessions
from sync.tables import server_meta

log = logging.getLogger(__name__)

IDENTITY_KEY = "store_identity"


def store_identity(engine: sa.Engine) -> str | None:
    """What changes when a PostgreSQL store is restored or its standby promoted; None elsewhere.
    The cluster's control data needs superuser or `GRANT EXECUTE ON FUNCTION pg_control_system(),
    pg_control_checkpoint()`; without it only the database's oid counts."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        oid = conn.execute(sa.text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
    try:
        with engine.connect() as conn:
            system = conn.execute(sa.text("SELECT system_identifier FROM pg_control_system()")).scalar()
            timeline = conn.execute(sa.text("SELECT timeline_id FROM pg_control_checkpoint()")).scalar()
    except sa.exc.DBAPIError:
        log.warning("cannot read the cluster's control data (grant EXECUTE on pg_control_system() and "
                    "pg_control_checkpoint() to the server's role): a restore into the same database oid "
                    "would go unnoticed; run `flask store restored` after a restore")
        return f"database {oid}"
    return f"system {system} timeline {timeline} database {oid}"


def check_for_restore(engine: sa.Engine) -> int | None:
    """At start: if the store's identity changed since it was last seen, treat it as restored.
    Returns how many checkpoints were made safe, or None when nothing had changed."""
    identity = store_identity(engine)
    if identity is None:
        return None
    try:
        with engine.begin() as conn:
            seen = conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == IDENTITY_KEY)
                                .with_for_update()).scalar()
            if seen == identity:
                return None
            if seen is None:
                # The first start of this version, or of a new store: nothing to distrust (a store
                # whose identity was never kept cannot be told from a restore of it).
                conn.execute(server_meta.insert().values(key=IDENTITY_KEY, value=identity))
                return None
            changed = _forget(conn)
            conn.execute(server_meta.update().where(server_meta.c.key == IDENTITY_KEY).values(value=identity))
    except sa.exc.IntegrityError:
        return None  # another host, starting too, kept the identity first
    log.warning("the store went back in time (%s, was %s): %d replication checkpoints will resume from "
                "before it, so phones send again what it lost", identity, seen, changed)
    return changed


def mark_restored(engine: sa.Engine) -> int:
    """`flask store restored`: the store was restored by hand; how many checkpoints were made safe."""
    identity = store_identity(engine)
    with engine.begin() as conn:
        changed = _forget(conn)
        if identity is not None:
            updated = conn.execute(server_meta.update().where(server_meta.c.key == IDENTITY_KEY)
                                   .values(value=identity)).rowcount
            if not updated:
                conn.execute(server_meta.insert().values(key=IDENTITY_KEY, value=identity))
    return changed


def _forget(conn: sa.Connection) -> int:
    return forget_current_sessions(conn, "restored-" + secrets.token_hex(4))
