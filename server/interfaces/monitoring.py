"""What operators and orchestrators see over HTTP: probes, metrics and the request log.

    GET /_health    liveness: the process answers (no database access)            200
    GET /_ready     readiness: the database answers and the schema is at the head  200 / 503
    GET /_metrics   Prometheus text format                                         200 (401 with a token set)

Database names cannot start with `_`, so these never shadow a database. None needs a login;
PAICHA_METRICS_TOKEN, when set, is required as `Authorization: Bearer <token>` on /_metrics.

`init_app(app)` (in `create_app`, before anything logs or forks) sets the logs up
(server/core/logs.py), chooses the metrics mode (server/core/metrics.py), adds the probes, and
counts every request: its method, status and time; the replication steps the CouchDB views state
(sync/activity.py): sessions, checkpoints and documents sent; documents accepted (by write hook).
With PAICHA_LOG_REQUESTS each request is also a line on `paicha.request` (method, path, status,
duration_ms, account, device).
"""
from __future__ import annotations

import hmac
import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from sync import activity, errors

from server.core import logs, metrics
from server.core.auth import bearer_token
from server.core.db import db
from server.core.health import check_ready
from server.core.hooks import register_write_hook
from server.core.settings import Settings, SettingError

log = logging.getLogger(__name__)
request_log = logging.getLogger("paicha.request")


def init_app(app: Flask) -> None:
    settings = Settings.of(app.config)
    if settings.metrics_token and not _is_token(settings.metrics_token):
        raise SettingError("PAICHA_METRICS_TOKEN must be letters, digits and -._~+/ (a bearer token, RFC 6750)")
    logs.configure(settings.log_format, settings.log_level)
    metrics.metrics()  # choose the metrics mode now, before any worker forks
    domain = settings.domain_db
    log_requests = settings.log_requests

    bp = Blueprint("ops", __name__)

    @bp.get("/_health")
    def health():
        return jsonify(status="ok", version=current_app.config.get("PAICHA_VERSION", "0"))

    @bp.get("/_ready")
    def ready():
        result = check_ready(db.engine)
        return jsonify(status="ok" if result["ready"] else "unavailable", checks=result["checks"]), \
            200 if result["ready"] else 503

    @bp.get("/_metrics")
    def metrics_endpoint():
        token = current_app.config.get("PAICHA_METRICS_TOKEN")
        if token and not _bears(token):
            return jsonify(error="unauthorized", reason="metrics token required"), 401
        return Response(metrics.metrics().exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})

    app.register_blueprint(bp)

    @app.before_request
    def _started():
        g.ops_started = time.monotonic()
        g.ops_cpu_started = time.thread_time()

    @app.after_request
    def _count(response):
        # The server's own time for the response (a streamed one: until its first byte), and the CPU
        # time its thread spent (what a busy machine does not inflate), for the browser's developer
        # tools and the page-time tests (the W3C Server-Timing header).
        elapsed_ms = (time.monotonic() - g.get("ops_started", time.monotonic())) * 1000
        cpu_ms = (time.thread_time() - g.get("ops_cpu_started", time.thread_time())) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}, cpu;dur={cpu_ms:.1f}"
        try:
            _observe(response, domain, log_requests)
        except Exception:  # noqa: BLE001 - metrics never break a response
            log.exception("metrics: could not count a request")
        return response

    def count_writes(_conn, context, writes):
        metrics.count_docs_in(len(writes), metrics.via_for_account(context.account))

    register_write_hook(app, count_writes)


def _is_token(text: str) -> bool:
    try:
        return bearer_token(f"Bearer {text}") == text
    except errors.InvalidToken:
        return False


def _bears(token: str) -> bool:
    """The request carries `Authorization: Bearer <token>`."""
    try:
        given = bearer_token(request.headers.get("Authorization", ""))
    except errors.InvalidToken:
        return False
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _observe(response, domain: str, log_requests: bool) -> None:
    elapsed = time.monotonic() - g.get("ops_started", time.monotonic())
    status = response.status_code
    metrics.observe_request(request.method, status, elapsed)
    step = activity.stated()
    if step is not None:
        db_kind = "domain" if step.db == domain else "other"
        if step.kind == activity.CHECKPOINT_READ:
            metrics.count_sync_session(db_kind)
        elif step.kind == activity.CHECKPOINT_WRITE:
            metrics.count_checkpoint(db_kind)
        elif step.kind == activity.DOCS_SENT:
            metrics.count_docs_out(step.docs, "client")
    if log_requests and request.endpoint != "ops.health":
        principal = g.get("principal")
        request_log.info("%s %s %s", request.method, request.path, status, extra={
            "method": request.method, "path": request.path, "status": status,
            "duration_ms": round(elapsed * 1000, 1), "account": getattr(principal, "name", None),
            "device": request.headers.get("X-Paicha-Device"), "remote": request.remote_addr,
        })
