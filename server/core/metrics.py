"""Prometheus metrics: the counters every part of the server increments, and their exposition.

Counters (cheap, thread-safe, usable before any app exists and outside requests):

    count_sync_session(db_kind)           "domain" | "other": a replication session started
    count_checkpoint(db_kind)             a replication batch completed
    count_docs_in(n, via)                 accepted revisions
    count_docs_out(n, via)                revisions sent
    count_rejection(reason, via)          a refused document; `reason` a refusal code
    count_scheduler_run(job, outcome)     outcome "ok" | "error"
    count_bridge_batch(direction, outcome)
    observe_request(method, status, seconds)

`via` is one of VIAS ("client", "bridge", "server", "rest"); anything else is counted as "other".
Every label is bounded, so a caller cannot grow the series without end.

Several processes (gunicorn workers, the embedded scheduler in gunicorn's master, an external
scheduler, a bridge) are added up when PROMETHEUS_MULTIPROC_DIR names a directory they all write
(the compose file shares one between its containers). Without it, the exposition shows the
counters of the process that answers. `prepare_multiprocess(settings)` makes a private directory
for one machine, before the workers fork.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess, values

from server.core.settings import Settings

VIAS = frozenset({"client", "bridge", "server", "rest"})
BRIDGE_ACCOUNT = "couch-bridge"
SERVER_ACCOUNTS = frozenset({"server"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "COPY", "OPTIONS"})

_lock = threading.Lock()
_metrics: "_Metrics | None" = None
_HOST = socket.gethostname()


def _process_identifier() -> str:
    # Distinct across containers sharing one metrics directory (each is pid 1 there). Called at
    # every metric update (prometheus_client checks for a fork each time), so no system call for
    # the host name, which does not change.
    return f"{_HOST}_{os.getpid()}"


class _Metrics:
    def __init__(self, multiprocess_dir: str | None) -> None:
        self.multiprocess_dir = multiprocess_dir
        if self.multiprocess_dir:
            os.makedirs(self.multiprocess_dir, exist_ok=True)
            values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)
            registry = None  # each process writes its files; the exposition reads them all
        else:
            registry = CollectorRegistry(auto_describe=True)
        self.registry = registry

        def counter(name, doc, labels):
            return Counter(name, doc, labels, registry=registry)

        self.requests = counter("paicha_http_requests", "HTTP requests answered, by method and status.",
                                ["method", "status"])
        self.duration = Histogram("paicha_http_request_duration_seconds",
                                  "Time to produce the response (streamed feeds: until the stream starts).",
                                  ["method"], registry=registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.sync_sessions = counter("paicha_sync_sessions", "Replication sessions started (checkpoint reads).",
                                     ["db"])
        self.checkpoints = counter("paicha_sync_checkpoints", "Replication batches completed (checkpoint writes).",
                                   ["db"])
        self.docs_in = counter("paicha_docs_in", "Document revisions accepted into the store.", ["via"])
        self.docs_out = counter("paicha_docs_out", "Document revisions sent out.", ["via"])
        self.rejections = counter("paicha_rejections", "Documents refused (quarantined or not written).",
                                  ["reason", "via"])
        self.scheduler_runs = counter("paicha_scheduler_runs", "Scheduler job runs.", ["job", "outcome"])
        self.bridge_batches = counter("paicha_bridge_batches", "CouchDB bridge batches.", ["direction", "outcome"])

    def exposition(self) -> bytes:
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)


def metrics() -> _Metrics:
    """This process's metrics; the first call chooses the mode (PROMETHEUS_MULTIPROC_DIR, as the
    settings read it), so make it before any worker forks."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _Metrics(Settings.from_env().metrics_dir)
    return _metrics


CONTENT_TYPE = CONTENT_TYPE_LATEST


def prepare_multiprocess(settings: Settings) -> Settings:
    """Call before the app (and any metric) is created, in a process that will fork workers: the
    settings with a metrics directory every process writes (a fresh temporary one unless set)."""
    if settings.metrics_dir:
        return settings
    return settings.with_metrics_dir(tempfile.mkdtemp(prefix="paicha-metrics-"))


def _via(value: str) -> str:
    return value if value in VIAS else "other"


def _label(value, limit: int = 40) -> str:
    text = str(value or "unknown")
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in text)[:limit]


def via_for_account(account: str) -> str:
    if account == BRIDGE_ACCOUNT:
        return "bridge"
    if account in SERVER_ACCOUNTS:
        return "server"
    return "client"


def observe_request(method: str, status: int, seconds: float) -> None:
    m = metrics()
    method = method if method in HTTP_METHODS else "other"
    m.requests.labels(method=method, status=str(status)).inc()
    m.duration.labels(method=method).observe(seconds)


def count_sync_session(db_kind: str = "domain") -> None:
    metrics().sync_sessions.labels(db=_label(db_kind)).inc()


def count_checkpoint(db_kind: str = "domain") -> None:
    metrics().checkpoints.labels(db=_label(db_kind)).inc()


def count_docs_in(n: int, via: str = "client") -> None:
    if n:
        metrics().docs_in.labels(via=_via(via)).inc(n)


def count_docs_out(n: int, via: str = "client") -> None:
    if n:
        metrics().docs_out.labels(via=_via(via)).inc(n)


def count_rejection(reason: str = "refused", via: str = "client", n: int = 1) -> None:
    if n:
        metrics().rejections.labels(reason=_label(reason), via=_via(via)).inc(n)


def count_scheduler_run(job: str = "calendar_tick", outcome: str = "ok") -> None:
    metrics().scheduler_runs.labels(job=_label(job), outcome=_label(outcome)).inc()


def count_bridge_batch(direction: str, outcome: str = "ok") -> None:
    metrics().bridge_batches.labels(direction=_label(direction), outcome=_label(outcome)).inc()
