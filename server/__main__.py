"""`python -m server serve`: the production-style server (gunicorn, threaded workers)."""
from __future__ import annotations

import gc
import os

import click


@click.group()
def main():
    """Paicha server."""


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5984")), type=int, show_default="5984")
@click.option("--workers", default=lambda: int(os.environ.get("WEB_WORKERS", "1")), type=int, show_default="1")
@click.option("--threads", default=lambda: int(os.environ.get("WEB_THREADS", "32")), type=int, show_default="32",
              help="Threads per worker; each live _changes feed holds one.")
@click.option("--keepalive", default=lambda: int(os.environ.get("WEB_KEEPALIVE", "5")), type=int, show_default="5",
              help="Seconds an idle connection is kept open for the client's next request.")
@click.option("--client-timeout", default=lambda: float(os.environ.get("WEB_CLIENT_TIMEOUT", "30")), type=float,
              show_default="30", help="Seconds a client may send nothing of its request, or take nothing of "
                                      "the response, before it is dropped.")
@click.option("--buffer-requests/--no-buffer-requests",
              default=lambda: os.environ.get("WEB_BUFFER_REQUESTS", "1") != "0", show_default="on",
              help="Read each request whole before a thread takes it (server/serving.py); off: gunicorn's "
                   "plain gthread worker.")
def serve(host, port, workers, threads, keepalive, client_timeout, buffer_requests):
    """Serve the CouchDB API, mobile API and ledger pages."""
    from gunicorn.app.base import BaseApplication

    from server import create_app, ops
    from server.serving import BufferingThreadWorker

    ops.prepare_multiprocess()  # workers' metrics add up in one directory
    app = create_app()  # migrations and bootstrap run once, before workers fork
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
            self.cfg.set("accesslog", os.environ.get("PAICHA_ACCESS_LOG") or None)
            self.cfg.set("post_fork", _fresh_connections)
            logconfig = ops.gunicorn_logconfig_dict()
            if logconfig:
                self.cfg.set("logconfig_dict", logconfig)

        def load(self):
            return app

    def _fresh_connections(_server, _worker):
        # Connections opened before the fork must not be shared between processes.
        from server.core.db import db

        with app.app_context():
            db.engine.dispose(close=False)

    Standalone().run()


if __name__ == "__main__":
    main()
