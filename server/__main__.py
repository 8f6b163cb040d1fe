"""`python -m server serve`: the production-style server (gunicorn, threaded workers)."""
from __future__ import annotations

import functools
import gc

import click
from gunicorn.app.base import BaseApplication

from server import create_app, gunicorn_config
from server.core import metrics
from server.core.db import db
from server.core.settings import Settings
from server.serving import BufferingThreadWorker
from server.setup import prepare


@functools.cache
def _settings() -> Settings:
    """The environment's settings, read once for the options' defaults and the server."""
    return Settings.from_env()


@click.group()
def main():
    """Paicha server."""


@main.command()
@click.option("--host", default=lambda: _settings().host, show_default="HOST, 127.0.0.1")
@click.option("--port", default=lambda: _settings().port, type=int, show_default="PORT, 5984")
@click.option("--workers", default=lambda: _settings().web_workers, type=int, show_default="WEB_WORKERS, 1")
@click.option("--threads", default=lambda: _settings().web_threads, type=int, show_default="WEB_THREADS, 32",
              help="Threads per worker; each live _changes feed holds one.")
@click.option("--keepalive", default=lambda: _settings().web_keepalive, type=int, show_default="WEB_KEEPALIVE, 5",
              help="Seconds an idle connection is kept open for the client's next request.")
@click.option("--client-timeout", default=lambda: _settings().web_client_timeout, type=float,
              show_default="WEB_CLIENT_TIMEOUT, 30", help="Seconds a client may send nothing of its request, or "
                                                          "take nothing of the response, before it is dropped.")
@click.option("--buffer-requests/--no-buffer-requests",
              default=lambda: _settings().web_buffer_requests, show_default="WEB_BUFFER_REQUESTS, on",
              help="Read each request whole before a thread takes it (server/serving.py); off: gunicorn's "
                   "plain gthread worker.")
@click.option("--migrate/--no-migrate", default=True, show_default="on",
              help="Bring the store's schema to the head before serving (off: it must be there already).")
def serve(host, port, workers, threads, keepalive, client_timeout, buffer_requests, migrate):
    """Serve the CouchDB API, mobile API and ledger pages."""
    settings = metrics.prepare_multiprocess(_settings())  # workers' metrics add up in one directory
    # The start-up steps (migrations, demo, admin account, scheduler) run once, before workers fork.
    app = prepare(create_app(), migrate=migrate)
    # What is loaded now lives as long as the process. Frozen, the cyclic collector's older
    # generations no longer walk its ~140 000 objects (in-process, a push's time in the collector
    # went from 7 % to 2 %), and workers keep sharing those pages with the master.
    gc.collect()
    gc.freeze()
    # A slow client (2G, or one that means harm) must not hold a thread while its request trickles in.
    BufferingThreadWorker.client_timeout = client_timeout
    BufferingThreadWorker.max_body = app.config.get("MAX_CONTENT_LENGTH") or BufferingThreadWorker.max_body

    class Standalone(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", BufferingThreadWorker if buffer_requests else "gthread")
            # socket.sendfile waits for a stalled reader without end, past SO_SNDTIMEO (the
            # ledger's static files would go that way): plain writes instead.
            self.cfg.set("sendfile", not buffer_requests)
            self.cfg.set("threads", threads)
            # A replication is a chain of short requests: a phone that keeps its connection skips a
            # TCP (and TLS) handshake per request, which on a weak link costs more than the request.
            self.cfg.set("keepalive", keepalive)
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("accesslog", settings.access_log)
            self.cfg.set("post_fork", _fresh_connections)
            # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): every server
            # started by that user on the host would claim it. Stops and reloads go by signals.
            self.cfg.set("control_socket_disable", True)
            logconfig = gunicorn_config.logconfig_dict(settings)
            if logconfig:
                self.cfg.set("logconfig_dict", logconfig)

        def load(self):
            return app

    def _fresh_connections(_server, _worker):
        # Connections opened before the fork must not be shared between processes.
        with app.app_context():
            db.engine.dispose(close=False)

    Standalone().run()


if __name__ == "__main__":
    main()
