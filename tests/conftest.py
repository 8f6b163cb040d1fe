"""Shared fixtures: central stores (SQLite and PostgreSQL), the server as a subprocess, admin HTTP,
plain databases, and PouchDB devices.

    store_kind / store_url   module-scoped, parametrized over "sqlite" and "postgresql"
    server                   module-scoped ServerProcess on store_url (log in tests/artifacts/)
    server_factory           function-scoped: own servers on fresh stores (for tests that kill them)
    admin                    support.http.Couch on `server` with admin auth
    new_db                   a fresh plain db `e2e_<uuid>` on `server`: its URL (str, with .name, .api)
    db_factory               make more plain dbs (on any server)
    device_factory           make PouchDB phones, each in its own temp dir

PAICHA_E2E_SERVER=pouchdb-server runs the same tests against pouchdb-server (npm) instead of Paicha's
server: a check of the tests themselves. PostgreSQL: PAICHA_TEST_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432); unreachable -> skip, or fail when CI is set.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from support import NODE_MODULES, TESTS_DIR
from support.device import Device, node_ready
from support.http import Couch, Db
from support.server import ADMIN_PASSWORD, SERVER_KINDS
from support.stores import Stores, drop_shared, postgres_check

SERVER_KIND = os.environ.get("PAICHA_E2E_SERVER", "paicha")
if SERVER_KIND not in SERVER_KINDS:
    raise pytest.UsageError(f"PAICHA_E2E_SERVER must be one of {sorted(SERVER_KINDS)}")
ServerClass = SERVER_KINDS[SERVER_KIND]
STORE_KINDS = ["pouchdb-server"] if SERVER_KIND == "pouchdb-server" else ["sqlite", "postgresql"]
E2E_DIR = TESTS_DIR / "e2e"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test with the server as a subprocess and "
                                       "PouchDB (Node) as the phone")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "demo: the module's `app` (tests/integration) has the demo district")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.usefixtures("node_installed"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` (make test): a file's store kinds as separate units, longest first
    (support/scheduling.py)."""
    if config.getoption("dist") != "loadfile":
        return None
    from support.scheduling import FileAndStoreScheduling

    return FileAndStoreScheduling(config, log)


@pytest.fixture(scope="session")
def node_installed():
    """The e2e tests need tests/node_modules (pouchdb-node, pouchdb-server)."""
    missing = node_ready()
    if missing:
        pytest.fail(f"{NODE_MODULES} is not installed ({missing}): run `make test` "
                    f"(it runs `npm ci` in tests/)", pytrace=False)


# -- stores ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def stores(tmp_path_factory):
    # Under pytest-xdist the run's processes share the templates, in the run's directory (the
    # parent of each process's own); the process that started them drops them (sessionfinish).
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    s = Stores(tmp_path_factory.mktemp("stores"), shared_dir=shared)
    yield s
    s.close()


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput") or session.config.getoption("dist", "no") == "no":
        return  # not the process that started pytest-xdist's workers
    drop_shared(session.config._tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def postgres_available():
    return postgres_check()


@pytest.fixture(scope="module", params=STORE_KINDS)
def store_kind(request, postgres_available):
    if request.param == "postgresql" and postgres_available:
        if os.environ.get("CI"):
            pytest.fail(postgres_available, pytrace=False)
        pytest.skip(postgres_available)
    return request.param


@pytest.fixture(scope="module")
def store_url(store_kind, stores):
    """DATABASE_URL of a fresh, empty store of this module's kind."""
    return stores.new(store_kind)


# -- servers -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(request, store_kind, store_url):
    """The server on this module's store, started once per module (and store kind)."""
    srv = ServerClass(store_url, name=f"{request.module.__name__.split('.')[-1]}-{store_kind}")
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def server_factory(request, store_kind, stores):
    """make(store_url=None) -> a started server of its own (fresh store of this kind by default);
    free to kill and restart. All are ended (`close`) at the end of the test."""
    made = []

    def make(store_url: str | None = None, **kw):
        srv = ServerClass(store_url or stores.new(store_kind),
                          name=f"{request.node.name}-{store_kind}", **kw)
        made.append(srv)
        return srv.start()

    yield make
    for srv in made:
        srv.close()


@pytest.fixture(scope="module")
def admin(server) -> Couch:
    return Couch(server.url, server.auth)


# -- databases ---------------------------------------------------------------------------------------

class DbURL(str):
    """A database URL that also knows its name and has a Db helper (`.api`) with admin auth."""
    name: str
    api: Db


@pytest.fixture
def db_factory():
    """make(server) -> DbURL of a new plain db `e2e_<uuid>` on that server (deleted afterwards)."""
    made = []

    def make(srv) -> DbURL:
        couch = Couch(srv.url, srv.auth)
        name = f"e2e_{uuid.uuid4().hex}"
        r = couch.put(name)
        assert r.status_code in (201, 202), f"PUT /{name} -> {r.status_code} {r.text}"
        url = DbURL(couch.url(name))
        url.name = name
        url.api = Db(couch, name)
        made.append((srv, couch, name))
        return url

    yield make
    for srv, couch, name in made:
        if srv.alive():
            try:
                couch.delete(name, timeout=10)
            except Exception:  # noqa: BLE001 - cleanup only
                pass


@pytest.fixture
def new_db(server, db_factory) -> DbURL:
    return db_factory(server)


# -- devices -----------------------------------------------------------------------------------------

@pytest.fixture
def device_factory(tmp_path):
    """make(name="phone", auth=<admin's>) -> Device with its own directory (a PouchDB leveldb).
    auth=False: replicate without credentials. Every phone is switched off after the test."""
    counter = iter(range(1000))
    made: list[Device] = []

    def make(name: str = "phone", auth: dict | bool | None = None) -> Device:
        if auth is None:
            auth = {"username": ServerClass.admin_user, "password": ADMIN_PASSWORD}
        device = Device(tmp_path / f"device-{next(counter)}-{name}", auth=auth or None, name=name)
        made.append(device)
        return device

    yield make
    for device in made:
        device.switch_off(kill=True)
