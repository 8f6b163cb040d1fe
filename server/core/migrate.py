"""Schema migrations with Alembic, run at start-up (and by `flask db upgrade`).

Concurrent starters (web workers, the scheduler) are serialized by a PostgreSQL advisory lock.
A store already migrated by a newer version (a rolling upgrade under way: its migrations only add)
is served as it is: an old host that restarts mid-roll comes back instead of failing to start.
"""
from __future__ import annotations

from pathlib import Path

import functools
import logging

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

SCRIPT_LOCATION = str(Path(__file__).resolve().parent.parent / "migrations")
LOCK_ID = 0x7061696368  # "paich"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
            conn.commit()
        try:
            newer = newer_revisions(conn)
            conn.commit()
            if newer:
                log.warning("the store's schema is a newer version's (%s): served as it is, not migrated",
                            ", ".join(sorted(newer)))
                return
            command.upgrade(alembic_config(conn), "heads")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                conn.commit()


def newer_revisions(conn: sa.Connection) -> set[str]:
    """The store's schema revisions this version does not know: those of a newer version."""
    current = set(MigrationContext.configure(conn).get_current_heads())
    return current - known_revisions()


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())
