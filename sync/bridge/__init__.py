"""The bridge: replicate between the central store and a CouchDB-protocol server (Apache CouchDB,
PouchDB Server, another Paicha) with the CouchDB replication protocol itself.

    from sync.bridge import RemoteURL, replicate
    stats = replicate(db, RemoteURL.parse(url, user, password), "sync", scope="610402", continuous=True)

* `db` is a `sync.database.Database` handle: whatever its `Access` allows is what the bridge may
  read and write (its write check and hooks run on every pulled revision, as for any client).
* Checkpoints are `_local/<replication id>` documents on both sides; the id is derived from both
  ends (the store's uuid and database, the remote URL without credentials) and the scope, so each
  pair and direction resumes where it stopped, after a restart of either side or of the bridge.
* Revisions travel with their history and are written with new_edits=false: conflicts are kept on
  both sides and both pick the same winner. `_revs_diff` first, so nothing is written twice.
* `scope`: only documents whose scope starts with it are pushed; pulled ones outside it are
  refused (counted, logged with their id, not written). `_design/` documents are not replicated.
* Credentials come in a `RemoteURL`; logs, checkpoints and errors only ever show `RemoteURL.public`.

Modules: `urls` (credentials, masking), `peer` (the interface, the local side), `couch` (the remote
side on python-couchdb, and how it is used on Python 3), `replicator` (the protocol), `errors`.
`couch` (so python-couchdb) loads when a remote peer is first made, not with the package: every
process masks URLs with `urls`, few replicate.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, ContextManager

from .errors import BridgeError, PeerMissing, PeerRefused, PeerUnavailable, RequestRejected
from .peer import LocalPeer
from .replicator import BatchReport, Replication, Stats, replication_id, run_all
from .urls import RemoteURL, mask_url

if TYPE_CHECKING:
    from .couch import RemotePeer

DIRECTIONS = ("push", "pull", "sync")
log = logging.getLogger("sync.bridge")

__all__ = [
    "BatchReport", "BridgeError", "DIRECTIONS", "LocalPeer", "PeerMissing", "PeerRefused", "PeerUnavailable",
    "RemotePeer", "RemoteURL", "Replication", "RequestRejected", "Stats", "mask_url", "replicate",
    "replication_id",
]


def __getattr__(name: str):
    if name == "RemotePeer":
        from .couch import RemotePeer  # python-couchdb loads with its first use (module docstring)

        return RemotePeer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def replicate(db, remote: RemoteURL, direction: str, *, scope: str | None = None, continuous: bool = False,
              batch_size: int = 100, pause: float = 0.0, create_target: bool = False,
              stop: threading.Event | None = None, on_batch: Callable[[BatchReport], None] | None = None,
              timeout: float = 60.0, longpoll: float = 25.0, retries: int = 5,
              thread_context: Callable[[], ContextManager] | None = None) -> list[Stats]:
    """Run a push, a pull, or both (`sync`) between `db` and `remote`; returns their stats.

    One-shot runs return when caught up; continuous ones when `stop` is set (or on a fatal error:
    bad credentials, a missing database). Transient errors are retried with back-off: `retries`
    times in a one-shot run, forever in a continuous one. A continuous run replicates in threads
    of its own (one per direction), inside `thread_context()` if given (the host's application
    context), and returns within a few seconds of `stop` being set."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    from .couch import RemotePeer  # python-couchdb loads with the first replication (module docstring)

    stop = stop or threading.Event()
    local = LocalPeer(db, scope)
    local.identity()  # the store answers (and has its uuid) before any thread starts
    peer = RemotePeer(remote, timeout=timeout, longpoll_seconds=longpoll)
    if not _check_remote(peer, create_target and direction in ("push", "sync"), continuous, retries, stop):
        return []
    options = dict(scope=scope, batch_size=batch_size, continuous=continuous, stop=stop, pause=pause,
                   retries=retries, longpoll=longpoll, on_batch=on_batch)
    replications = []
    if direction in ("push", "sync"):
        replications.append(Replication(local, peer, direction="push", **options))
    if direction in ("pull", "sync"):
        # Its own connections (and long polls) when both directions run at once.
        remote_source = peer if direction == "pull" else RemotePeer(remote, timeout=timeout, longpoll_seconds=longpoll)
        replications.append(Replication(remote_source, local, direction="pull", **options))
    return run_all(replications, continuous=continuous, thread_context=thread_context)


def _check_remote(peer: RemotePeer, create: bool, continuous: bool, retries: int, stop: threading.Event) -> bool:
    """The remote database is there (created if asked): True; False if stopped while waiting for it."""
    delay, attempts = 1.0, 0
    while True:
        try:
            peer.info()
            return True
        except PeerMissing:
            if not create:
                raise PeerMissing(f"database {peer.label} does not exist") from None
            peer.create()
            return True
        except BridgeError as exc:
            attempts += 1
            if not exc.transient or (not continuous and attempts > retries):
                raise
            log.warning("%s; retrying in %.0fs", exc, delay)
            if stop.wait(delay):
                return False
            delay = min(delay * 2, 60.0)
