"""SQLite has one writer at a time. The writers of one server process queue in the process (each
woken as the previous one commits) instead of polling SQLite's lock with sleeps of up to 100 ms,
which under a burst of phones left cheap writes waiting for seconds (bench/README.md, row 4)."""
from __future__ import annotations

import os
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event

from sync.store import Store, configure_engine, write_turn

meta = sa.MetaData()
counter = sa.Table("counter", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))


def _store(tmp_path, busy_timeout_ms: int) -> Store:
    engine = configure_engine(sa.create_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}", pool_size=20))

    @event.listens_for(engine, "connect")
    def _short_patience(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")

    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(counter.insert().values(id=1, n=0))
    return Store(engine)


def test_a_burst_of_writers_queues_in_the_process_not_at_sqlites_lock(tmp_path):
    # SQLite's own patience is cut to 50 ms: a writer that had to wait at SQLite's lock behind the
    # 16 x 20 ms transactions here would fail with "database is locked".
    store = _store(tmp_path, busy_timeout_ms=50)
    failures: list[str] = []
    inside = []
    most_inside = []

    def write() -> None:
        try:
            with store.writing() as conn:
                inside.append(1)
                most_inside.append(len(inside))
                n = conn.execute(sa.select(counter.c.n).where(counter.c.id == 1)).scalar_one()
                time.sleep(0.02)
                conn.execute(counter.update().where(counter.c.id == 1).values(n=n + 1))
                inside.pop()
        except Exception as exc:  # noqa: BLE001
            failures.append(repr(exc))

    threads = [threading.Thread(target=write) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert max(most_inside) == 1  # one writer at a time inside a transaction
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(counter.c.n)).scalar_one() == 16  # no increment lost


def test_a_forked_worker_can_write_while_its_parent_held_the_turn(tmp_path):
    # gunicorn forks its workers from a master that may be writing at that moment (the calendar,
    # migrations): the child must not inherit a turn that nobody in it will ever give back.
    store = _store(tmp_path, busy_timeout_ms=5000)
    store.engine.dispose()  # no connection crosses the fork
    with write_turn(store.engine):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                done = threading.Event()

                def write() -> None:
                    with store.writing() as conn:
                        conn.execute(counter.update().values(n=41))
                    done.set()

                threading.Thread(target=write, daemon=True).start()
                code = 0 if done.wait(10) else 3
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child could not take its turn to write"
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(counter.c.n)).scalar_one() == 41


def test_a_logins_token_waits_for_the_write_turn_not_at_sqlites_lock(tmp_path):
    # The server's other writes (tokens at login, quarantine decisions) queue with the store's
    # writers. SQLite's patience is cut to 50 ms: a token write that waited at SQLite's lock behind
    # the store's 8 x 30 ms transactions would fail with "database is locked".
    from server import create_app
    from server.setup import prepare
    from server.services import tokens
    from server.core.accounts import add_account
    from server.core.db import db

    app = prepare(create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.sqlite3'}", "TESTING": True}))
    with app.app_context():
        account = add_account("cadre", "a long enough password", "village_cadre", "990101001001")
        db.session.commit()
        account_id = account.id
        store = app.extensions["paicha_store"]
        db.engine.dispose()

        @event.listens_for(db.engine, "connect")
        def _short_patience(dbapi_conn, _record):
            dbapi_conn.execute("PRAGMA busy_timeout=50")

        store.create_database("burst")
    failures: list[str] = []
    issued: list[str] = []

    def store_write(i: int) -> None:
        try:
            with app.app_context(), store.writing() as conn:
                conn.exec_driver_sql("UPDATE sync_databases SET doc_count = doc_count WHERE name = 'burst'")
                time.sleep(0.03)
        except Exception as exc:  # noqa: BLE001
            failures.append(repr(exc))

    def login(i: int) -> None:
        try:
            with app.app_context():
                issued.append(tokens.issue(account_id, f"phone-{i}")[0])
        except Exception as exc:  # noqa: BLE001
            failures.append(repr(exc))

    threads = [threading.Thread(target=f, args=(i,)) for i in range(8) for f in (store_write, login)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    with app.app_context():
        assert all(tokens.lookup(token) is not None for token in issued) and len(issued) == 8
        db.engine.dispose()
