"""Fresh central stores for a server under test: an SQLite file, or a new PostgreSQL database."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

# Where PostgreSQL is: a SQLAlchemy URL without the database name.
PG_BASE = os.environ.get("PAICHA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


class PostgresUnavailable(RuntimeError):
    pass


def _pg_connect(dbname: str = "postgres"):
    import psycopg  # psycopg 3, in the venv

    libpq = PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1) + "/" + dbname
    return psycopg.connect(libpq, autocommit=True, connect_timeout=5)


def postgres_check() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with _pg_connect() as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable" here
        return f"PostgreSQL at {PG_BASE} is not reachable: {e}"


class Stores:
    """Makes stores and drops them at the end (`close`)."""

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = Path(tmp_dir)
        self.pg_databases: list[str] = []

    def new(self, kind: str) -> str:
        """A DATABASE_URL (for "pouchdb-server": a directory) for a brand-new, empty store."""
        tag = uuid.uuid4().hex[:10]
        if kind == "sqlite":
            path = self.tmp_dir / f"paicha_{tag}.sqlite3"
            return f"sqlite:///{path}"  # path is absolute: sqlite:////abs/...
        if kind == "postgresql":
            name = f"paicha_t_{tag}"
            with _pg_connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_databases.append(name)
            return f"{PG_BASE}/{name}"
        if kind == "pouchdb-server":
            path = self.tmp_dir / f"pouchdb_{tag}"
            path.mkdir(parents=True)
            return str(path)
        raise ValueError(f"unknown store kind {kind!r}")

    def close(self) -> None:
        if not self.pg_databases:
            return
        with _pg_connect() as conn:
            for name in self.pg_databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg_databases.clear()
