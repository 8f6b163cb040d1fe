"""Fresh central stores for a server under test: an SQLite file, or a new PostgreSQL database;
empty, or a copy of a template made once per session: migrated ("schema"), migrated with the demo
district ("demo"), or with the generated full-size district ("fullsize": `FULL_SIZE`, made by
`server.services.full_district` as `flask full-district generate` makes it; serve it with the clock at
`FULL_SIZE_CLOCK`). A copy costs a file copy (SQLite) or `CREATE DATABASE ... TEMPLATE` (PostgreSQL)
instead of the migrations and the demo's seeding.

With `shared_dir` (the run's directory, under pytest-xdist), the processes of one run share the
templates: the first to need one makes it (under a file lock), the others copy it; `drop_shared`
drops them at the end of the run (the process that started the others calls it)."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from . import REPO_ROOT

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


# Run in a process of its own: the app's start-up leaves nothing behind in the test process (no
# connection to the template, which PostgreSQL needs to copy it; no settings, no clock).
TEMPLATE_SCRIPT = """
import datetime as dt
import json
import sys
import sqlalchemy as sa
from server import create_app
from server.core.db import db
from server.services import full_district
from server.setup import prepare

url, demo, full = sys.argv[1], sys.argv[2] == "demo", json.loads(sys.argv[3])
app = prepare(create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "PAICHA_DEMO": demo,
                          "PAICHA_SCHEDULER": "off"}), demo=demo, scheduler=False)
with app.app_context():
    if sys.argv[2] == "fullsize":
        today = dt.date.fromisoformat(full["today"])
        made = full_district.generate(app, full["villages"], today - dt.timedelta(days=full["days"]), today,
                                      full["password"])
        print(f"generated in {made.seconds} s: {made.counts}", file=sys.stderr)
    with db.engine.begin() as conn:
        # Each copy makes its own: a server's uuid is in its replication checkpoints' ids, the key
        # signs its sessions.
        conn.execute(sa.text("DELETE FROM sync_server_meta WHERE key IN ('uuid', 'secret_key')"))
    db.session.remove()
    db.engine.dispose()
"""

CONTENTS = ("empty", "schema", "demo", "fullsize")
# The full-size district of the tests: a real district's size, a year of records up to the day before
# `today`; its accounts are full_district.SUPERVISOR, TOWNSHIP_USER and ADMIN.
FULL_SIZE = {"villages": 300, "days": 365, "today": "2026-12-01", "password": "full-size-password"}
FULL_SIZE_CLOCK = "2026-12-01T09:30:00+08:00!"


class Stores:
    """Makes stores and drops them at the end (`close`)."""

    def __init__(self, tmp_dir: Path, shared_dir: Path | None = None):
        self.tmp_dir = Path(tmp_dir)
        self.shared_dir = Path(shared_dir) if shared_dir is not None else None
        self.pg_databases: list[str] = []
        self._templates: dict[tuple[str, str], str] = {}
        self._template_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def new(self, kind: str, contents: str = "empty") -> str:
        """A DATABASE_URL (for "pouchdb-server": a directory) for a brand-new store: `contents`
        "empty", "schema" (migrated), "demo" (migrated, with the demo district) or "fullsize"."""
        if contents not in CONTENTS:
            raise ValueError(f"contents must be one of {CONTENTS}, not {contents!r}")
        tag = uuid.uuid4().hex[:10]
        if kind == "sqlite":
            path = self.tmp_dir / f"paicha_{tag}.sqlite3"
            if contents != "empty":
                template = Path(self._template(kind, contents))
                shutil.copyfile(template, path)
            return f"sqlite:///{path}"  # path is absolute: sqlite:////abs/...
        if kind == "postgresql":
            name = f"paicha_t_{tag}"
            template = self._template(kind, contents) if contents != "empty" else None
            with _pg_connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            self.pg_databases.append(name)
            return f"{PG_BASE}/{name}"
        if kind == "pouchdb-server":
            path = self.tmp_dir / f"pouchdb_{tag}"
            path.mkdir(parents=True)
            return str(path)
        raise ValueError(f"unknown store kind {kind!r}")

    def drop(self, url: str) -> None:
        """Drop a store `new` made, before the end of the session."""
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
            return
        name = url.rsplit("/", 1)[-1]
        if url.startswith(PG_BASE) and name in self.pg_databases:
            with _pg_connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.pg_databases.remove(name)

    def _template(self, kind: str, contents: str) -> str:
        """The template's SQLite path or PostgreSQL database name, made at its first use."""
        key = (kind, contents)
        with self._lock:
            lock = self._template_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._templates:
                self._templates[key] = (self._shared_template(kind, contents) if self.shared_dir
                                        else self._make_template(kind, contents, self.tmp_dir))
            return self._templates[key]

    def _shared_template(self, kind: str, contents: str) -> str:
        """The run's template, made by whichever process asks first (the others wait for it)."""
        note = self.shared_dir / f"template-{kind}-{contents}.json"
        with open(self.shared_dir / f"template-{kind}-{contents}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if note.exists():
                return json.loads(note.read_text())["template"]
            made = self._make_template(kind, contents, self.shared_dir, shared=True)
            note.write_text(json.dumps({"kind": kind, "template": made}))
            return made

    def _make_template(self, kind: str, contents: str, directory: Path, shared: bool = False) -> str:
        if kind == "sqlite":
            path = directory / f"template_{contents}.sqlite3"
            url, made = f"sqlite:///{path}", str(path)
        else:
            made = f"paicha_template_{contents}_{uuid.uuid4().hex[:8]}"
            with _pg_connect() as conn:
                conn.execute(f'CREATE DATABASE "{made}"')
            if not shared:  # a shared one outlives this process: drop_shared drops it
                self.pg_databases.append(made)
            url = f"{PG_BASE}/{made}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PAICHA_ADMIN_PASSWORD")}
        env["PAICHA_LOG_LEVEL"] = "WARNING"
        python = REPO_ROOT / ".venv" / "bin" / "python"
        command = [str(python if python.exists() else sys.executable), "-c", TEMPLATE_SCRIPT, url, contents,
                   json.dumps(FULL_SIZE)]
        # the full-size district takes ~40 s of CPU; more on a machine busy with the other tests
        timeout = 1200 if contents == "fullsize" else 300
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            if shared and kind == "postgresql":
                with _pg_connect() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)')
            raise RuntimeError(f"the {contents} template ({kind}) could not be made:\n{done.stderr[-4000:]}")
        return made

    def close(self) -> None:
        if not self.pg_databases:
            return
        with _pg_connect() as conn:
            for name in self.pg_databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg_databases.clear()


def drop_shared(shared_dir: Path) -> None:
    """Drop the PostgreSQL templates the run's processes shared (see the module docstring)."""
    names = [json.loads(note.read_text())["template"] for note in Path(shared_dir).glob("template-postgresql-*.json")]
    if not names:
        return
    with _pg_connect() as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
