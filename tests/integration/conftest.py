"""Engine-level fixtures (a Store on a fresh SQLite file or a fresh PostgreSQL database), and the
Flask app on a copy of a template store (`app`, `client`, `runner`)."""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from sync.store import Store, configure_engine

from server import create_app
from server.core.db import db
from server.setup import prepare

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
def app(request, stores, postgres_available):
    """The Flask app on a fresh, migrated store, shared by one test module; with the demo district
    when the module asks for it (`pytestmark = pytest.mark.demo`). The store is a copy of a
    template made once per session (support/stores.py): no migrations or seeding per module."""
    if request.param == "postgresql" and postgres_available:
        if os.environ.get("CI"):
            pytest.fail(postgres_available, pytrace=False)
        pytest.skip(postgres_available)
    demo = request.node.get_closest_marker("demo") is not None
    url = stores.new(request.param, "demo" if demo else "schema")
    application = prepare(create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "PAICHA_DEMO": demo}),
                          migrate=False, scheduler=False)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    stores.drop(url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
