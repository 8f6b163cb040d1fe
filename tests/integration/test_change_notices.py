"""On PostgreSQL a document write tells the other server processes about itself inside its own
transaction (the NOTIFY is queued on the statement that advances the database's counter), so the
notice arrives exactly when the write is committed, and never for a write rolled back."""
from __future__ import annotations

import json

import psycopg
import pytest
import sqlalchemy as sa

from sync.access import ADMIN, Access
from sync.notify import CHANNEL, ChangeNotifier
from sync.store import Store


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's LISTEN/NOTIFY")
    return engine


def _listener(engine) -> psycopg.Connection:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _notices(conn: psycopg.Connection, timeout: float) -> list[dict]:
    return [json.loads(n.payload) for n in conn.notifies(timeout=timeout, stop_after=10)]


def test_a_write_sends_one_notice_with_its_commit_and_no_statement_after_it(pg_engine):
    store = Store(pg_engine)
    store.create_tables()
    store.create_database("notices")
    listener = _listener(pg_engine)
    try:
        db = store.open("notices", ADMIN)
        db.bulk_docs([{"_id": f"d{i}", "n": i} for i in range(5)])
        notices = _notices(listener, timeout=2.0)
        update_seq = db.info().update_seq
        assert notices == [{"p": store.notifier._transport._token, "db": "notices", "seq": update_seq}]
        # The notice rode on the write's own transaction: the after-commit sender was never opened.
        assert store.notifier._transport._sender is None

        db.put({"n": 99}, "d0", rev=db.get("d0")["_rev"])
        assert _notices(listener, timeout=2.0) == [
            {"p": store.notifier._transport._token, "db": "notices", "seq": update_seq + 1}]
    finally:
        listener.close()


def test_a_write_rolled_back_sends_no_notice(pg_engine):
    store = Store(pg_engine)
    store.create_tables()
    store.create_database("notices")

    def refuse_at_the_end(conn, accepted):
        raise RuntimeError("the host's hook failed inside the write")

    listener = _listener(pg_engine)
    try:
        failing = store.open("notices", Access(user="u", is_admin=True, record_writes=refuse_at_the_end))
        with pytest.raises(RuntimeError):
            failing.bulk_docs([{"_id": "lost", "n": 1}])
        assert _notices(listener, timeout=1.0) == []
        with pg_engine.connect() as conn:
            assert conn.execute(sa.text("SELECT update_seq FROM sync_databases WHERE name = 'notices'")).scalar() == 0
    finally:
        listener.close()


def test_a_feed_of_another_process_is_woken_by_the_write(pg_engine):
    """Two stores with notifiers of their own stand for two server processes."""
    writer = Store(pg_engine)
    writer.create_tables()
    writer.create_database("notices")
    reader = Store(pg_engine, notifier=ChangeNotifier(recheck_seconds=60))
    version = reader.notifier.version("notices")  # starts the reader's listener
    for _ in range(50):  # the listener is up once it has woken every feed
        if reader.notifier._transport.healthy():
            break
        reader.notifier.wait("notices", version, 0.1)
        version = reader.notifier.version("notices")
    assert reader.notifier._transport.healthy()

    writer.open("notices", ADMIN).bulk_docs([{"_id": "seen", "n": 1}])
    assert reader.notifier.wait("notices", version, timeout=5.0), "the other process's feed was not woken"
