"""Operations: health and readiness probes, Prometheus metrics, structured logs.

Wiring: `ops.init_app(app)` in `create_app` (after the store and the write hooks exist). It adds

    GET /_health    liveness: the process answers (no database access)            200
    GET /_ready     readiness: the database answers and the schema is at the head  200 / 503
    GET /_metrics   Prometheus text format                                         200 (401 with a token set)

Database names cannot start with `_`, so these never shadow a database. None needs a login;
set PAICHA_METRICS_TOKEN to require `Authorization: Bearer <token>` on /_metrics.

Counters other modules increment (cheap, thread-safe, usable before init_app and outside requests):

    ops.count_sync_session(db_kind)           "domain" | "other" (done here: each checkpoint read)
    ops.count_docs_in(n, via)                 accepted revisions (done here for the domain db, by write hook)
    ops.count_docs_out(n, via)                revisions sent (done here for _bulk_get / GET doc)
    ops.count_rejection(reason, via)          a refused document; `reason` a refusal code
    ops.count_scheduler_run(job, outcome)     outcome "ok" | "error"
    ops.count_bridge_batch(direction, outcome)

`via` is one of VIAS ("client", "bridge", "server", "rest"); anything else is counted as "other".

Several processes (gunicorn workers, the embedded scheduler in gunicorn's master, an external
scheduler, a bridge) are added up when PROMETHEUS_MULTIPROC_DIR names a directory they all write
(the compose file shares one between its containers). Without it, /_metrics shows the counters of
the process that answers. `prepare_multiprocess()` makes a private directory for one machine.

Logs: PAICHA_LOG_FORMAT=json writes one JSON object per line (ts, level, logger, msg, and any
`extra` fields); PAICHA_LOG_REQUESTS=1 logs every request on `paicha.request` (method, path,
status, duration_ms, account, device). Credentials in URLs are masked in every log line.

`python -m server.ops probe [--url URL]` and `python -m server.ops check-db` are the container
health checks (no curl in a slim image).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from sync.bridge.urls import mask_url

log = logging.getLogger(__name__)
request_log = logging.getLogger("paicha.request")

VIAS = frozenset({"client", "bridge", "server", "rest"})
BRIDGE_ACCOUNT = "couch-bridge"
SERVER_ACCOUNTS = frozenset({"server"})
SETTINGS = {
    "PAICHA_LOG_FORMAT": "text",
    "PAICHA_LOG_REQUESTS": "0",
    "PAICHA_METRICS_TOKEN": "",
}

# -- metrics ------------------------------------------------------------------------------------------

_lock = threading.Lock()
_metrics: "_Metrics | None" = None


_HOST = socket.gethostname()


def _process_identifier() -> str:
    # Distinct across containers sharing one metrics directory (each is pid 1 there). Called at
    # every metric update (prometheus_client checks for a fork each time), so no system call for
    # the host name, which does not change.
    return f"{_HOST}_{os.getpid()}"


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        if self.multiprocess_dir:
            from prometheus_client import values

            os.makedirs(self.multiprocess_dir, exist_ok=True)
            values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)
            registry = None  # each process writes its files; /_metrics reads them all
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
        from prometheus_client import CollectorRegistry, generate_latest

        if self.multiprocess_dir:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)


def metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _Metrics()
    return _metrics


def prepare_multiprocess(directory: str | None = None) -> str:
    """Call before the app (and any metric) is created, in a process that will fork workers:
    makes PROMETHEUS_MULTIPROC_DIR point at `directory` (default: a fresh temporary one) unless set."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory or tempfile.mkdtemp(prefix="paicha-metrics-")
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _via(value: str) -> str:
    return value if value in VIAS else "other"


def _label(value, limit: int = 40) -> str:
    text = str(value or "unknown")
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in text)[:limit]


def count_sync_session(db_kind: str = "domain") -> None:
    metrics().sync_sessions.labels(db=_label(db_kind)).inc()


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


def via_for_account(account: str) -> str:
    if account == BRIDGE_ACCOUNT:
        return "bridge"
    if account in SERVER_ACCOUNTS:
        return "server"
    return "client"


# -- readiness ----------------------------------------------------------------------------------------

_script_heads: set[str] | None = None


def script_heads() -> set[str]:
    global _script_heads
    if _script_heads is None:
        from alembic.script import ScriptDirectory

        from server.core.migrate import alembic_config

        _script_heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return _script_heads


def check_ready(engine: sa.Engine) -> dict:
    """{"ready": bool, "checks": {"database": ..., "migrations": ...}}."""
    from alembic.runtime.migration import MigrationContext

    checks = {}
    current = None
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: database check failed: %s", mask_url(str(exc)).splitlines()[0][:300])
        checks["database"] = f"unavailable ({type(exc).__name__})"
    heads = script_heads()
    if current is None:
        checks["migrations"] = "unknown"
    elif current == heads:
        checks["migrations"] = "ok"
    else:
        checks["migrations"] = f"at {','.join(sorted(current)) or 'nothing'}, head is {','.join(sorted(heads))}"
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


def warn_about_database_settings(engine: sa.Engine) -> list[str]:
    """Settings of the database server that production must not run with; each is logged as a
    warning at start (and returned)."""
    warnings = []
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            autovacuum = conn.exec_driver_sql("SELECT current_setting('autovacuum')").scalar()
        if autovacuum != "on":
            # Without it the planner never learns how the sync tables grew: a batch's lookup by
            # ids reads a whole database's index range (bench/README.md, "fourth round").
            warnings.append("PostgreSQL runs with autovacuum off: its statistics of the sync tables go "
                            "stale and lookups slow down as the tables grow; turn autovacuum on, or "
                            "ANALYZE after large changes")
    for text in warnings:
        log.warning("database settings: %s", text)
    return warnings


# -- logs ---------------------------------------------------------------------------------------------

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class MaskCredentials(logging.Filter):
    """Masks user-info in any URL of a log line (a safety net: the bridge never logs one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report
            return True
        masked = mask_url(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = mask_url(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "text") -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=os.environ.get("PAICHA_LOG_LEVEL", "INFO"))
    # Alembic announces every plugin at INFO on each start (and each `flask` command).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for handler in root.handlers:
        if not any(isinstance(f, MaskCredentials) for f in handler.filters):
            handler.addFilter(MaskCredentials())
        if fmt == "json":
            handler.setFormatter(JsonFormatter())


def gunicorn_logconfig_dict() -> dict | None:
    """For `python -m server serve` (gunicorn's `logconfig_dict`): gunicorn's own lines in JSON too,
    when PAICHA_LOG_FORMAT=json; None otherwise (gunicorn's defaults)."""
    if os.environ.get("PAICHA_LOG_FORMAT", "text").strip().lower() != "json":
        return None
    level = os.environ.get("PAICHA_LOG_LEVEL", "INFO").upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "server.ops.MaskCredentials"}},
        "formatters": {"json": {"()": "server.ops.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["mask"],
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


# -- the app ------------------------------------------------------------------------------------------

def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def init_app(app: Flask) -> None:
    for key, default in SETTINGS.items():
        if app.config.get(key) in (None, ""):
            app.config[key] = os.environ.get(key) or default
    fmt = str(app.config["PAICHA_LOG_FORMAT"]).strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"PAICHA_LOG_FORMAT must be text or json, not {fmt!r}")
    configure_logging(fmt)
    metrics()  # choose the metrics mode now, before any worker forks
    domain = app.config["PAICHA_DOMAIN_DB"]
    log_requests = _flag(app.config["PAICHA_LOG_REQUESTS"])

    bp = Blueprint("ops", __name__)

    @bp.get("/_health")
    def health():
        return jsonify(status="ok", version=current_app.config.get("PAICHA_VERSION", "0"))

    @bp.get("/_ready")
    def ready():
        from server.core.db import db

        result = check_ready(db.engine)
        return jsonify(status="ok" if result["ready"] else "unavailable", checks=result["checks"]), \
            200 if result["ready"] else 503

    @bp.get("/_metrics")
    def metrics_endpoint():
        token = current_app.config.get("PAICHA_METRICS_TOKEN")
        if token and request.headers.get("Authorization", "") != f"Bearer {token}":
            return jsonify(error="unauthorized", reason="metrics token required"), 401
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics().exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.register_blueprint(bp)

    @app.before_request
    def _started():
        g.ops_started = time.monotonic()

    @app.after_request
    def _count(response):
        try:
            _observe(response, domain, log_requests)
        except Exception:  # noqa: BLE001 - metrics never break a response
            log.exception("metrics: could not count a request")
        return response

    from server.core.hooks import register_write_hook

    def count_writes(_conn, context, writes):
        count_docs_in(len(writes), via_for_account(context.account))

    register_write_hook(app, count_writes)


def _observe(response, domain: str, log_requests: bool) -> None:
    m = metrics()
    elapsed = time.monotonic() - g.get("ops_started", time.monotonic())
    method = request.method if request.method in ("GET", "HEAD", "POST", "PUT", "DELETE", "COPY", "OPTIONS") \
        else "other"
    status = response.status_code
    m.requests.labels(method=method, status=str(status)).inc()
    m.duration.labels(method=method).observe(elapsed)
    endpoint = request.endpoint or ""
    db_name = (request.view_args or {}).get("db")
    if endpoint.startswith("couch.") and db_name is not None:
        db_kind = "domain" if db_name == domain else "other"
        if endpoint == "couch.local_get" and status in (200, 404):
            count_sync_session(db_kind)
        elif endpoint == "couch.local_put" and status == 201:
            m.checkpoints.labels(db=db_kind).inc()
        elif status == 200 and endpoint == "couch.bulk_get":
            body = request.get_json(silent=True)
            docs = body.get("docs") if isinstance(body, dict) else None
            count_docs_out(len(docs) if isinstance(docs, list) else 0, "client")
        elif status == 200 and endpoint in ("couch.doc_get", "couch.design_get") and request.method == "GET":
            count_docs_out(_open_revs_count(request.args.get("open_revs")), "client")
    if log_requests and endpoint != "ops.health":
        principal = g.get("principal")
        request_log.info("%s %s %s", request.method, request.path, status, extra={
            "method": request.method, "path": request.path, "status": status,
            "duration_ms": round(elapsed * 1000, 1), "account": getattr(principal, "name", None),
            "device": request.headers.get("X-Paicha-Device"), "remote": request.remote_addr,
        })


def _open_revs_count(value: str | None) -> int:
    if not value:
        return 1
    try:
        revs = json.loads(value)
    except ValueError:
        return 1
    return len(revs) if isinstance(revs, list) else 1


# -- container health checks: python -m server.ops probe | check-db -----------------------------------

def _probe(url: str, timeout: float) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a local URL
            print(answer.read(500).decode("utf-8", "replace"))
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"unreachable: {exc}", file=sys.stderr)
    return 1


def _check_db() -> int:
    from sync.store import configure_engine

    from server.core.settings import from_env

    url = from_env()["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        print(json.dumps({"ready": False, "checks": {"database": "no SQLite file yet"}}))
        return 1
    engine = configure_engine(sa.create_engine(url, poolclass=sa.pool.NullPool))
    try:
        result = check_ready(engine)
    finally:
        engine.dispose()
    print(json.dumps(result))
    return 0 if result["ready"] else 1


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m server.ops", description="Container health checks.")
    sub = parser.add_subparsers(dest="command", required=True)
    probe = sub.add_parser("probe", help="GET the readiness endpoint (exit 0 if it answers 200)")
    probe.add_argument("--url", default=None, help="default http://127.0.0.1:$PORT/_ready")
    probe.add_argument("--timeout", type=float, default=4.0)
    sub.add_parser("check-db", help="the database answers and its schema is at the head (DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.command == "probe":
        url = args.url or f"http://127.0.0.1:{os.environ.get('PORT', '5984')}/_ready"
        return _probe(url, args.timeout)
    return _check_db()


if __name__ == "__main__":
    sys.exit(main())
