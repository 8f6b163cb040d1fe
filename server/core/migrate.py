"""Schema migrations with Alembic, run at start-up (and by `flask db upgrade`).

Concurrent starters (web workers, the scheduler) are serialized by a PostgreSQL advisory lock.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

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
            command.upgrade(alembic_config(conn), "heads")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                conn.commit()
