"""Engine-level fixtures: a Store on a fresh SQLite file or a fresh PostgreSQL database."""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from sync.store import Store, configure_engine

PG_ADMIN = os.environ.get("PAICHA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _fresh_pg_database() -> tuple[str, str]:
    name = f"paicha_i_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An engine on a fresh, empty SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        eng = configure_engine(sa.create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}"))
        pg_name = None
    else:
        pg_name, url = _fresh_pg_database()
        eng = sa.create_engine(url, pool_size=20, max_overflow=10)
    yield eng
    eng.dispose()
    if pg_name:
        _drop_pg_database(pg_name)


@pytest.fixture
def store(engine):
    s = Store(engine)
    s.create_tables()
    return s


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    """The Flask app on a fresh store with the demo district, shared by one test module."""
    if request.param == "sqlite":
        url, pg_name = f"sqlite:///{tmp_path_factory.mktemp('app') / 'app.sqlite3'}", None
    else:
        pg_name, url = _fresh_pg_database()
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    from server import create_app
    from server.core.db import db

    try:
        application = create_app({"PAICHA_DEMO": True, "TESTING": True})
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg_name:
        _drop_pg_database(pg_name)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
