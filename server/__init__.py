"""Paicha: the offline-first sync server for dispute screening (排查)."""
from __future__ import annotations

import gc

# Loading the application makes some 170 000 objects that live as long as the process. The cyclic
# collector's passes over them while they load find nothing to free, and the first pass after would
# walk them all again: ~0.3 s of the ~0.9 s that importing took (a server's start, every `flask`
# command). So it is off while they load, and they are frozen (kept out of every later pass, as
# `python -m server serve` freezes what its start-up made before the workers fork).
_collecting = gc.isenabled()
gc.disable()
try:
    import logging
    import os

    import click
    from flask import Flask
    from flask.cli import FlaskGroup
    from flask_compress import Compress

    from schemas.errors import PaichaError
    from sync import errors
    from sync.http import error_response
    from sync.store import configure_engine

    import mobile_api
    from server.core import passwords, store
    from server.core.settings import Settings
    from server.core.db import db
    from server.interfaces import couchdb as couch, field_app, geo_api, ledger, monitoring
    from server.interfaces.cli import admin as cli, bridge as bridge_cli, calendar as calendar_cli, geo as geo_cli
    from server.interfaces.cli import full_district as full_district_cli, projections as projections_cli, \
        store as store_cli
    from server.interfaces import request_encoding
    from server.interfaces.request_body import CheckedRequestBody
    from server.services import audit, calendar, devices, geo, quarantine, read_models, tokens
    from server.setup import prepare
finally:
    gc.freeze()
    if _collecting:
        gc.enable()

__version__ = "0.1.0"


def create_app(test_config: dict | None = None) -> Flask:
    """The application, wired: settings, extensions, blueprints, commands. It does not touch the
    store: the start-up steps (migrations, demo, admin account, scheduler) are `server.setup.prepare`,
    which the server's start and a `flask` command run, and a test runs when it wants them."""
    app = Flask(__name__, instance_relative_config=True)
    # The environment is read once, here; test_config's values win over it (and are parsed alike).
    settings = Settings.from_env(overrides=test_config)
    app.config.from_mapping({**(test_config or {}), **settings.config()})
    app.config["PAICHA_VERSION"] = __version__
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    _ensure_sqlite_folder(url)
    # No ping at every checkout (a round trip each): the store pings a server's connections that sat
    # idle in the pool (sync/store.py configure_engine); a SQLite file's cannot be dropped under us.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", False)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    passwords.configure(settings)

    monitoring.init_app(app)  # logging format and metrics mode, before anything logs or forks
    db.init_app(app)
    Compress(app)

    with app.app_context():
        configure_engine(db.engine)  # before the first connection: pragmas apply per connection
    store.init_app(app)
    couch.init_app(app)
    audit.init_app(app)
    read_models.init_app(app)  # after the audit trail: a report's receive time is its first entry
    quarantine.init_app(app)
    devices.init_app(app)
    tokens.init_app(app)
    mobile_api.init_app(app)
    cli.init_app(app)
    bridge_cli.init_app(app)
    store_cli.init_app(app)
    geo.init_app(app)
    geo_cli.init_app(app)  # after cli: it adds commands to the `areas` group
    geo_api.init_app(app)
    field_app.init_app(app)
    calendar_cli.init_app(app)
    projections_cli.init_app(app)
    full_district_cli.init_app(app)
    ledger.init_app(app)
    request_encoding.init_app(app)  # compressed bodies are plain before any view reads them
    _register_error_handlers(app)
    app.wsgi_app = CheckedRequestBody(app.wsgi_app)
    calendar.init_app(app)
    if _under_flask_command():
        # A `flask` command works on the store as the server leaves it at start (migrated, with its
        # admin account, and the demo under PAICHA_DEMO), as it always has; no scheduler of its own.
        prepare(app, scheduler=False)
    return app


def _under_flask_command() -> bool:
    """True while the `flask` command line loads the app for one of its commands."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and isinstance(ctx.find_root().command, FlaskGroup)


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])), exist_ok=True)


def _register_error_handlers(app: Flask) -> None:
    """CouchDB's API is served at the root: every error of the catalogue is CouchDB's JSON unless a
    blueprint renders it in its own shape (the field app's API, the ledger's pages)."""
    from werkzeug.exceptions import HTTPException

    app.register_error_handler(PaichaError, error_response)

    @app.errorhandler(HTTPException)
    def _http(exc):
        mapped = {
            404: errors.NotFound("missing"),
            405: errors.MethodNotAllowed(),
            413: errors.TooLarge(),
        }.get(exc.code)
        if mapped is None:
            mapped = errors.CouchError(exc.description)
            mapped.status, mapped.error = exc.code, exc.name.lower().replace(" ", "_")
        return error_response(mapped)
