"""Wake waiting `_changes` feeds (longpoll, continuous) when a database changes — in every process.

`ChangeNotifier` keeps a version number per database name and a condition variable; a feed reads the
version, scans, and waits for the version to move. A write calls `notify(db, seq)` after its commit.

Several server processes (gunicorn workers, the scheduler) share one store, so a commit in one must
wake the feeds of all. Once bound to the store's engine (`Store` does that), the notifier adds:

- PostgreSQL: `NOTIFY paicha_sync_changes, '{"p": <process token>, "db": <name>, "seq": <n>}'`, and
  one listener thread per process with its own connection doing `LISTEN`; it wakes the local feeds of
  that database. A document write sends its notice inside its own transaction, on the statement that
  advances the database's counter (`commit_notice()`), so PostgreSQL delivers it at commit, and never
  for a write rolled back; other changes (a database deleted) send it after their commit on a small
  autocommit connection of the process's. The listener
  reconnects on failure (with back-off) and, once back, wakes every feed so nothing missed while it
  was down stays unseen.
- SQLite: no server to talk through, so one poller thread per process reads every database's
  `update_seq` (one tiny query) every `poll_seconds` (1 s) while some feed is waiting, and wakes the
  feeds of databases that moved. Writes in this process wake their feeds at once.

Threads and connections are started lazily in the process that uses them (after gunicorn forks).
Feeds also re-check the store themselves every `recheck_seconds()` as a safety net (a lost
notification costs at most that much delay): the `recheck_seconds` given, else 30 s while the
cross-process transport is healthy and 1 s when there is none or it is down (listener disconnected).
The application passes these (and `pg_notify=False` to do without LISTEN/NOTIFY) from its settings.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
import weakref

import sqlalchemy as sa

from .tables import databases

log = logging.getLogger(__name__)

CHANNEL = "paicha_sync_changes"
DEGRADED_RECHECK_SECONDS = 1.0
HEALTHY_RECHECK_SECONDS = 30.0
POLL_SECONDS = 1.0


class ChangeNotifier:
    def __init__(self, recheck_seconds: float | None = None, poll_seconds: float | None = None,
                 pg_notify: bool = True) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._epoch = 0  # bumped to wake every waiter (a transport came back after a gap)
        self._waiting = 0
        self._recheck = recheck_seconds
        self._poll = POLL_SECONDS if poll_seconds is None else poll_seconds
        self._pg_notify = pg_notify
        self._transport: _Transport | None = None
        after_fork_in_child(self, ChangeNotifier._reset_after_fork)

    def _reset_after_fork(self) -> None:
        # A lock held by another thread at fork time (a scheduler thread notifying in the gunicorn
        # master) would stay held forever in the child: start it with fresh ones.
        self._cond = threading.Condition()
        self._waiting = 0

    # -- configuration -----------------------------------------------------------------------------
    def bind(self, engine) -> None:
        """Choose the cross-process transport for this store's engine (idempotent)."""
        if self._transport is not None:
            return
        name = engine.dialect.name
        if name == "postgresql" and self._pg_notify:
            url = engine.url.set(drivername="postgresql")
            self._transport = _PostgresChannel(self, url.render_as_string(hide_password=False))
        elif name == "sqlite" and _file_backed(engine):
            self._transport = _SqlitePoller(self, engine, self._poll)

    def recheck_seconds(self) -> float:
        """How often a waiting feed re-reads the store itself (safety net)."""
        if self._recheck is not None:
            return self._recheck  # set explicitly: always that
        if self._transport is None or not self._transport.healthy():
            return DEGRADED_RECHECK_SECONDS
        return HEALTHY_RECHECK_SECONDS

    # -- the feeds' side ----------------------------------------------------------------------------
    def version(self, db_name: str) -> int:
        if self._transport is not None:
            self._transport.ensure_started()
        with self._cond:
            return self._versions.get(db_name, 0) + self._epoch

    def wait(self, db_name: str, seen_version: int, timeout: float) -> bool:
        """Wait until `db_name` changes past `seen_version`; True if it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while self._versions.get(db_name, 0) + self._epoch == seen_version:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._waiting -= 1

    def has_waiters(self) -> bool:
        return self._waiting > 0

    # -- the writers' side --------------------------------------------------------------------------
    def commit_notice(self) -> tuple[str, str] | None:
        """(channel, process token) for a writer to send its notice inside its write transaction,
        or None when the transport has no such way (SQLite's poller, none at all)."""
        return self._transport.commit_notice() if self._transport is not None else None

    def notify(self, db_name: str, seq: int | None = None, *, sent: bool = False) -> None:
        """Called after a commit that changed `db_name` (up to `seq`); `sent` when the commit
        itself carried the notice to other processes (`commit_notice`)."""
        self._wake(db_name)
        if self._transport is not None and not sent:
            self._transport.send(db_name, seq)

    def _wake(self, db_name: str) -> None:
        with self._cond:
            self._versions[db_name] = self._versions.get(db_name, 0) + 1
            self._cond.notify_all()

    def _wake_all(self) -> None:
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()


def _file_backed(engine) -> bool:
    """An SQLite file that other processes can open; in-memory stores and single-connection pools
    (tests) get in-process wakes only, so no background thread ever shares their connection."""
    from sqlalchemy.pool import SingletonThreadPool, StaticPool

    database = engine.url.database or ""
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return False
    return not isinstance(engine.pool, (StaticPool, SingletonThreadPool))


def after_fork_in_child(obj, method) -> None:
    """Run `method(obj)` in every child forked from now on, while `obj` lives (the hook holds it
    weakly): locks and threads do not survive a fork in a usable state."""
    ref = weakref.ref(obj)

    def hook() -> None:
        target = ref()
        if target is not None:
            method(target)

    os.register_at_fork(after_in_child=hook)


class _Transport:
    def ensure_started(self) -> None: ...

    def send(self, db_name: str, seq: int | None) -> None: ...

    def commit_notice(self) -> tuple[str, str] | None:
        return None

    def healthy(self) -> bool:
        return True


class _PostgresChannel(_Transport):
    def __init__(self, notifier: ChangeNotifier, conninfo: str) -> None:
        # Weakly: the thread ends once the store and its notifier are gone (tests make many stores).
        self._notifier = weakref.ref(notifier)
        self.conninfo = conninfo
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._sender = None
        self._sender_pid: int | None = None
        self._token = uuid.uuid4().hex[:12]
        self._listening = False
        after_fork_in_child(self, _PostgresChannel._reset_after_fork)

    def _reset_after_fork(self) -> None:
        # The child has no listener thread and must not use the parent's connections or locks.
        self._lock = threading.Lock()
        self._token = uuid.uuid4().hex[:12]
        self._sender = None
        self._listening = False

    def ensure_started(self) -> None:
        """Start this process's listener (lazily: in gunicorn, after the fork)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._listening = False
            threading.Thread(target=self._listen_forever, name="paicha-pg-listen", daemon=True).start()

    def healthy(self) -> bool:
        return self._pid == os.getpid() and self._listening

    def commit_notice(self) -> tuple[str, str]:
        # Read at every write: a forked worker has a token of its own.
        return CHANNEL, self._token

    def send(self, db_name: str, seq: int | None) -> None:
        # Sending needs no listener: a process that only writes (the scheduler) listens to nothing.
        payload = json.dumps({"p": self._token, "db": db_name, "seq": seq}, separators=(",", ":"))
        import psycopg

        with self._lock:
            if self._sender_pid != os.getpid():
                self._sender, self._sender_pid = None, os.getpid()  # never a connection of the parent
            for attempt in range(2):
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                    self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.Error as exc:
                    try:
                        if self._sender is not None:
                            self._sender.close()
                    except psycopg.Error:
                        pass
                    self._sender = None
                    if attempt:
                        # Other processes' feeds will see the change at their next re-check.
                        log.warning("could not send change notification for %s: %s", db_name, exc)

    def _listen_forever(self) -> None:
        import psycopg

        pid = os.getpid()
        backoff = 0.5
        while self._pid == pid and self._notifier() is not None:
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    backoff = 0.5
                    # Whatever was committed while nobody listened: every feed looks again.
                    self._deliver(None)
                    while self._pid == pid and self._notifier() is not None:
                        for note in conn.notifies(timeout=10.0):
                            self._deliver(note.payload)
                        conn.execute("SELECT 1")  # a quiet channel: is the connection still alive?
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                if self._listening:
                    log.warning("change listener lost its PostgreSQL connection: %s; reconnecting", exc)
                self._listening = False
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        self._listening = False

    def _deliver(self, payload: str | None) -> None:
        notifier = self._notifier()
        if notifier is None:
            return
        try:
            message = json.loads(payload) if payload is not None else None
            if message is None:
                notifier._wake_all()
            elif message.get("p") != self._token:  # our own writes woke their feeds at commit
                notifier._wake(message["db"])
        except (ValueError, KeyError, TypeError, AttributeError):
            notifier._wake_all()


class _SqlitePoller(_Transport):
    def __init__(self, notifier: ChangeNotifier, engine, interval: float) -> None:
        self._notifier = weakref.ref(notifier)  # see _PostgresChannel
        self.engine = engine
        self.interval = interval
        self._pid: int | None = None
        self._lock = threading.Lock()
        after_fork_in_child(self, _SqlitePoller._reset_after_fork)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._pid == os.getpid() or self.interval <= 0:
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._poll_forever, name="paicha-sqlite-poll", daemon=True).start()

    def _poll_forever(self) -> None:
        pid = os.getpid()
        seen: dict[str, int] | None = None
        while self._pid == pid:
            time.sleep(self.interval)
            notifier = self._notifier()
            if notifier is None:
                return
            if seen is not None and not notifier.has_waiters():
                continue  # nobody waits: read nothing (the next read compares with the last one)
            try:
                with self.engine.connect() as conn:
                    now = dict(conn.execute(sa.select(databases.c.name, databases.c.update_seq)).all())
            except Exception as exc:  # noqa: BLE001 - a busy or closed store: try again next time
                log.debug("change poller: %s", exc)
                continue
            if seen is None:
                notifier._wake_all()  # the first look: a feed may have started just before it
            else:
                for name, seq in now.items():
                    if seen.get(name) != seq:
                        notifier._wake(name)
            seen = now
            del notifier
