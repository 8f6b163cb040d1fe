"""Is the store fit to serve: the database answers and its schema is at the migrations' head; and
the database server's settings production must not run with (warned at start)."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sync.bridge.urls import mask_url

from server.core.migrate import alembic_config, newer_revisions

log = logging.getLogger(__name__)

_script_heads: set[str] | None = None


def script_heads() -> set[str]:
    global _script_heads
    if _script_heads is None:
        _script_heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return _script_heads


def check_ready(engine: sa.Engine) -> dict:
    """{"ready": bool, "checks": {"database": ..., "migrations": ...}}."""
    checks = {}
    current = None
    newer: set[str] = set()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
            newer = newer_revisions(conn)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: database check failed: %s", mask_url(str(exc)).splitlines()[0][:300])
        checks["database"] = f"unavailable ({type(exc).__name__})"
    heads = script_heads()
    if current is None:
        checks["migrations"] = "unknown"
    elif current == heads:
        checks["migrations"] = "ok"
    elif newer and newer == current:
        checks["migrations"] = "ok"  # a newer version migrated it: rolling upgrade, this host still serves
    else:
        checks["migrations"] = f"at {','.join(sorted(current)) or 'nothing'}, head is {','.join(sorted(heads))}"
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


def warn_about_database_settings(engine: sa.Engine) -> list[str]:
    """Settings of the database server that production must not run with; each is logged as a
    warning at start (and returned)."""
    warnings = []
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            autovacuum = conn.exec_driver_sql("SELECT current_setting('autovacuum')").scalar()
        if autovacuum != "on":
            # Without it the planner never learns how the sync tables grew: a batch's lookup by
            # ids reads a whole database's index range.
            warnings.append("PostgreSQL runs with autovacuum off: its statistics of the sync tables go "
                            "stale and lookups slow down as the tables grow; turn autovacuum on, or "
                            "ANALYZE after large changes")
    for text in warnings:
        log.warning("database settings: %s", text)
    return warnings
