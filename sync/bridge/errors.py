"""What can go wrong talking to a peer, sorted by what the replicator does about it."""
from __future__ import annotations


class BridgeError(Exception):
    """Replication cannot go on. `transient` errors are retried (with back-off), others end the run."""

    transient = False


class PeerUnavailable(BridgeError):
    """Network trouble, a time-out, a 5xx, a restarting peer or store: try again later."""

    transient = True


class PeerRefused(BridgeError):
    """401 / 403 on a whole request: wrong credentials or not allowed. Retrying will not help."""


class PeerMissing(BridgeError):
    """The database does not exist on the peer (404)."""


class RequestRejected(BridgeError):
    """The peer refused a whole request (400, 413, ...): the replicator retries document by document
    and records the documents that still fail."""

    def __init__(self, message: str, status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error
