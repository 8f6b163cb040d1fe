"""Domain code opens its transactions through `server.core.db`: `reading()` and `writing()` blocks,
each on a session of its own that ends with the block, so that no request holds a snapshot open
and no code rolls one back by hand; `writing()` queues for this process's write turn as the
store's writers do."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from sync.store import write_turn
from sync.tables import server_meta


@pytest.fixture
def app(tmp_path):
    from server import create_app
    from server.core.db import db
    from server.setup import prepare

    application = prepare(create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.sqlite3'}",
                                      "TESTING": True}), scheduler=False)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _value(key: str):
    from server.core.db import reading

    with reading() as session:
        return session.execute(sa.select(server_meta.c.value).where(server_meta.c.key == key)).scalar()


def test_a_write_commits_when_its_block_ends_and_not_if_it_raises(app):
    from server.core.db import writing

    with app.app_context():
        with writing() as session:
            session.execute(server_meta.insert().values(key="kept", value="1"))
        with pytest.raises(RuntimeError), writing() as session:
            session.execute(server_meta.insert().values(key="dropped", value="1"))
            raise RuntimeError("refused halfway")
        assert _value("kept") == "1" and _value("dropped") is None


def test_a_write_waits_for_the_processs_write_turn(app):
    from server.core.db import db, writing

    entered = threading.Event()

    def write() -> None:
        with app.app_context(), writing() as session:
            entered.set()
            session.execute(server_meta.insert().values(key="queued", value="1"))

    with app.app_context():
        with write_turn(db.engine):  # a store writer holds the turn
            writer = threading.Thread(target=write)
            writer.start()
            assert not entered.wait(0.3), "the write began while another writer of this process held the turn"
        writer.join(10)
        assert entered.is_set() and _value("queued") == "1"


def test_what_a_read_loaded_outlives_it_and_its_connection_does_not(app):
    from server.core.db import db, reading
    from server.core.models import Area

    with app.app_context():
        with reading() as session:
            session.execute(sa.select(Area)).scalars().all()
            assert db.engine.pool.checkedout() == 1
        assert db.engine.pool.checkedout() == 0


def test_a_request_leaves_no_connection_and_no_snapshot_behind(app):
    from server.core.accounts import add_account
    from server.core.db import db

    with app.app_context():
        add_account("cadre", "a long enough password", "village_cadre", "990101001001")
    client = app.test_client()
    auth = {"Authorization": "Basic Y2FkcmU6YSBsb25nIGVub3VnaCBwYXNzd29yZA=="}  # cadre:a long enough password
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert client.get("/api/v1/devices", headers=auth).status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
