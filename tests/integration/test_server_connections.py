"""Connections to PostgreSQL: no ping at every checkout, yet connections the server dropped while
they sat in the pool are replaced before a request uses them. (A SQLite file's connections cannot
be dropped under us: PostgreSQL only.)"""
from __future__ import annotations

import base64
import time

import psycopg
import pytest

from sync import store as store_module

from .conftest import PG_ADMIN

# The demo district's accounts in `app`, on PostgreSQL only.
pytestmark = [pytest.mark.parametrize("app", ["postgresql"], indirect=True), pytest.mark.demo]
CADRE = {"Authorization": "Basic " + base64.b64encode(b"demo-village:demo-password").decode()}


@pytest.fixture
def pg_app(app):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    return app


def _database(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]


def _backends(app, query: str) -> list:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        return admin.execute(query, (_database(app),)).fetchall()


def test_connections_dropped_while_idle_are_replaced_before_use(pg_app, monkeypatch):
    client = pg_app.test_client()
    assert client.get("/paicha/", headers=CADRE).status_code == 200  # the pool holds live connections
    killed = _backends(pg_app, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
    assert killed, "the app had no connection to drop"
    monkeypatch.setattr(store_module, "IDLE_PING_SECONDS", 0.2)
    time.sleep(0.5)
    for _ in range(3):
        r = client.get("/paicha/_all_docs?limit=1", headers=CADRE)
        assert r.status_code == 200, r.text
