"""The replication store: databases in SQL, opened through a user-bound handle."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from . import errors
from .access import PLAIN, Access, DbRules
from .database import Database
from .notify import ChangeNotifier, after_fork_in_child
from .precompiled import read_plan
from .tables import databases, metadata, server_meta

DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
DEFAULT_REVS_LIMIT = 1000
_DATABASE_ID = sa.select(databases.c.id).where(databases.c.name == sa.bindparam("name"))  # built once: every request opens


IDLE_PING_SECONDS = 5.0  # a server connection unused this long is pinged before it is handed out


def configure_engine(engine: sa.Engine) -> sa.Engine:
    """SQLite: WAL, a generous busy timeout, and `BEGIN IMMEDIATE` for write transactions so two
    writers queue instead of failing to upgrade their locks. A database server: connections that
    sat idle are pinged before use; on PostgreSQL every statement is planned for its values."""
    if getattr(engine, "_paicha_configured", False):
        return engine
    engine._paicha_configured = True
    if engine.dialect.name != "sqlite":
        _ping_when_idle(engine)
        if engine.dialect.name == "postgresql":
            _plan_for_the_values(engine)
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    engine._paicha_write_turn = _WriteTurn()
    return engine


class _WriteTurn:
    """SQLite takes one writer at a time, and a writer that finds the lock taken polls for it,
    sleeping up to 100 ms between tries (its busy handler): under a burst of writers the unlucky
    ones sleep through many turns (bench/README.md measured checkpoint writes of ~1 ms waiting
    seconds). The writers of one process queue here instead and each is woken as the last one
    commits; between processes SQLite's own lock still decides. Reentrant, so that a nested
    write waits on SQLite, as it always did, rather than on itself."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # A lock held by another thread when the process forked would stay held in the child forever.
        after_fork_in_child(self, _WriteTurn._reset)

    def _reset(self) -> None:
        self.lock = threading.RLock()


def write_turn(engine: sa.Engine):
    """Held around a write transaction: its place in this process's queue of SQLite writers (a
    no-op on a database server, which queues writers by row)."""
    turn = getattr(engine, "_paicha_write_turn", None)
    return turn.lock if turn is not None else nullcontext()


def _plan_for_the_values(engine: sa.Engine) -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL may then keep
    one generic plan for it. Every table here is keyed by database first (`db_id`, one value far
    more common than the rest), so a generic plan, or one made while the tables were small, can
    read a whole database's index range and filter it for the 100 ids of a batch: 26 ms instead of
    0.15 ms at 10 000 documents, growing with the database (bench/README.md). Prepared statements
    still save the parsing; each execution is planned for its own values and the tables' size now."""

    @event.listens_for(engine, "connect")
    def _custom_plans(dbapi_conn, _record):
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SET plan_cache_mode = force_custom_plan")
            cursor.close()
        finally:
            dbapi_conn.autocommit = autocommit


def _ping_when_idle(engine: sa.Engine) -> None:
    """What `pool_pre_ping` does, but only for a connection that has not been used for
    IDLE_PING_SECONDS: a restart or an idle timeout of the database server drops connections that
    wait in the pool, while one handed back a moment ago is alive. pre_ping cost a round trip at
    every checkout, and a request checks out three connections. (A connection that dies while in
    use fails that request; SQLAlchemy then replaces every pooled connection.)"""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):
        record.info["paicha_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        returned = record.info.get("paicha_returned")
        if returned is not None and time.monotonic() - returned < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise sa.exc.DisconnectionError() from exc  # the pool replaces it and checks out again
            raise


class Memo(dict):
    """Remembered answers, emptied whenever it reaches `limit` entries (so it never grows without
    bound; a forgotten answer is only recomputed)."""

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key, value) -> None:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value


class Store:
    def __init__(
        self,
        engine: sa.Engine,
        rules_for: Callable[[str], DbRules] = lambda name: PLAIN,
        notifier: ChangeNotifier | None = None,
        revs_limit: int = DEFAULT_REVS_LIMIT,
    ) -> None:
        self.engine = engine
        self.rules_for = rules_for
        self.notifier = notifier or ChangeNotifier()
        self.notifier.bind(engine)  # cross-process wakes: PostgreSQL LISTEN/NOTIFY, SQLite polling
        self.default_revs_limit = revs_limit
        self._autocommit_statements = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._uuid: str | None = None
        # Answers this process remembers because a replicating phone asks them at every batch;
        # each can always be recomputed, and each says when it stops being true.
        self.scoped_counts = Memo()  # (db id, read prefixes) -> (update_seq, doc_count, doc_del_count)
        self.narrow_scopes = Memo()  # (db id, read prefixes) -> (trusted until, narrow)
        self.pending_counts = Memo()  # (db id, read prefixes, since, upto) -> changes pending

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for reads. On PostgreSQL its statements run in the driver's autocommit
        mode: under READ COMMITTED a transaction gives a group of reads nothing (each statement
        sees the commits made before it either way), and its BEGIN and COMMIT were two round
        trips of the three or four of a phone's `_revs_diff` or `_changes` page."""
        with self.engine.connect() as conn:
            with self._outside_transaction(conn.connection), conn.begin():
                yield conn

    @contextmanager
    def _outside_transaction(self, raw):
        """On PostgreSQL, the pooled connection `raw` in autocommit mode for the block."""
        if not self._autocommit_statements:
            yield
            return
        raw.dbapi_connection.autocommit = True  # psycopg's switch is client-side: no statement
        try:
            yield
        finally:
            # Never back into the pool committing statement by statement.
            if raw.is_valid:
                try:
                    raw.dbapi_connection.autocommit = False
                except self.engine.dialect.loaded_dbapi.Error as exc:
                    raw.invalidate(exc)

    @contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        with write_turn(self.engine), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def writing_alone(self) -> Iterator[sa.Connection]:
        """A connection for a write that is one statement, a transaction by itself: on PostgreSQL
        it runs in autocommit mode, one round trip where BEGIN and COMMIT made three (a phone
        writes a checkpoint after every batch); on SQLite it is a write transaction, queued for
        SQLite's one writer like every other."""
        with (self.reading() if self._autocommit_statements else self.writing()) as conn:
            yield conn

    def create_tables(self) -> None:
        metadata.create_all(self.engine)

    # -- server ----------------------------------------------------------------------------------
    def server_uuid(self) -> str:
        """Stable across restarts: PouchDB derives replication ids (and so checkpoints) from it."""
        if self._uuid is None:
            try:
                with self.writing() as conn:
                    value = conn.execute(
                        sa.select(server_meta.c.value).where(server_meta.c.key == "uuid")
                    ).scalar()
                    if value is None:
                        value = uuid.uuid4().hex
                        conn.execute(server_meta.insert().values(key="uuid", value=value))
            except sa.exc.IntegrityError:
                # Another process created it first (PostgreSQL has no write lock at BEGIN): use theirs.
                with self.reading() as conn:
                    value = conn.execute(
                        sa.select(server_meta.c.value).where(server_meta.c.key == "uuid")
                    ).scalar()
            self._uuid = value
        return self._uuid

    # -- databases -------------------------------------------------------------------------------
    def list_databases(self) -> list[str]:
        with self.reading() as conn:
            return list(conn.execute(sa.select(databases.c.name).order_by(databases.c.name)).scalars())

    def create_database(self, name: str, exist_ok: bool = False) -> bool:
        if not isinstance(name, str) or not DB_NAME.fullmatch(name) or len(name) > 238:
            raise errors.IllegalDatabaseName()
        try:
            with self.writing() as conn:
                exists = conn.execute(sa.select(databases.c.id).where(databases.c.name == name)).scalar()
                if exists is not None:
                    if exist_ok:
                        return False
                    raise errors.FileExists()
                conn.execute(
                    databases.insert().values(
                        name=name, update_seq=0, doc_count=0, doc_del_count=0,
                        created_at=dt.datetime.now(dt.timezone.utc),
                    )
                )
        except sa.exc.IntegrityError:
            if exist_ok:
                return False
            raise errors.FileExists() from None
        return True

    def delete_database(self, name: str) -> None:
        if not DB_NAME.fullmatch(name):
            raise errors.DatabaseNotFound()
        with self.writing() as conn:
            db_id = conn.execute(sa.select(databases.c.id).where(databases.c.name == name)).scalar()
            if db_id is None:
                raise errors.DatabaseNotFound()
            # Children go by ON DELETE CASCADE (SQLite: foreign_keys pragma is on).
            conn.execute(databases.delete().where(databases.c.id == db_id))
        self.notifier.notify(name)

    def read_row(self, stmt, params: dict):
        """The first row of a one-statement SELECT (built once and kept), or None; its values typed
        as SQLAlchemy gives them. Every request of a phone reads its account and its database
        id so, and SQLAlchemy's connection, autobegin and result machinery cost more than these
        reads themselves: the statement runs on a pooled driver connection, compiled once. A
        lone SELECT needs no transaction: SQLite's driver opens none for it, and on PostgreSQL
        the driver reads in autocommit mode, one round trip instead of BEGIN, SELECT and the
        pool's ROLLBACK (psycopg's switch is client-side; SQLAlchemy's isolation-level switch
        measured slower). Anything unusual (a dropped connection, an error) goes the general
        way, whose errors are SQLAlchemy's."""
        plan = read_plan(stmt, self.engine.dialect)
        raw = self.engine.raw_connection()
        cursor, failed = None, False
        try:
            with self._outside_transaction(raw):
                cursor = raw.cursor()
                cursor.execute(plan.sql, plan.parameters(params))
                found = cursor.fetchone()
                if found is not None:
                    found = plan.row(found, cursor.description, self.engine.dialect)
        except self.engine.dialect.loaded_dbapi.Error as exc:
            if raw.is_valid and self.engine.dialect.is_disconnect(exc, raw.dbapi_connection, cursor):
                raw.invalidate(exc)
            failed = True
        finally:
            if cursor is not None:
                cursor.close()
            raw.close()
        if failed:
            with self.engine.connect() as conn:
                return conn.execute(stmt, params).first()
        return found

    def open(self, name: str, access: Access) -> Database:
        if not DB_NAME.fullmatch(name):  # no database has such a name (nor could PostgreSQL compare a NUL)
            raise errors.DatabaseNotFound()
        row = self.read_row(_DATABASE_ID, {"name": name})
        if row is None:
            raise errors.DatabaseNotFound()
        return Database(self, name, row.id, access, self.rules_for(name))
