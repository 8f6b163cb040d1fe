"""Paicha: the offline-first sync server for dispute screening (排查)."""
from __future__ import annotations

import logging
import os
import secrets

import sqlalchemy as sa
from flask import Flask
from flask_compress import Compress

from sync import errors
from sync.http import error_response
from sync.store import configure_engine
from sync.tables import server_meta

from server.core import settings as config_module
from server.core.db import db
from server.interfaces.request_body import CheckedRequestBody

__version__ = "0.1.0"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config_module.from_env())
    app.config["PAICHA_VERSION"] = __version__
    if test_config:
        app.config.from_mapping(test_config)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    _ensure_sqlite_folder(url)
    # No ping at every checkout (a round trip each): the store pings a server's connections that sat
    # idle in the pool (sync/store.py configure_engine); a SQLite file's cannot be dropped under us.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", False)
    logging.basicConfig(level=os.environ.get("PAICHA_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from server import ops

    ops.init_app(app)  # logging format and metrics mode, before anything logs or forks
    db.init_app(app)
    Compress(app)

    from server.services import audit, devices, geo, quarantine, tokens
    from server.interfaces.cli import bridge as bridge_cli, admin as cli, store as store_cli
    from server.interfaces import couchdb as couch, ledger
    from server.core import migrate as migrations

    with app.app_context():
        configure_engine(db.engine)  # before the first connection: pragmas apply per connection
        migrations.upgrade_to_head(db.engine)
        ops.warn_about_database_settings(db.engine)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _persistent_secret(db.engine)
    couch.init_app(app)
    audit.init_app(app)
    quarantine.init_app(app)
    devices.init_app(app)
    tokens.init_app(app)
    import mobile_api

    mobile_api.init_app(app)
    cli.init_app(app)
    bridge_cli.init_app(app)
    store_cli.init_app(app)
    geo.init_app(app)  # after cli: it adds commands to the `areas` group
    ledger.init_app(app)
    _register_error_handlers(app)
    app.wsgi_app = CheckedRequestBody(app.wsgi_app)
    with app.app_context():
        couch.ensure_domain_database(app)
        if app.config.get("PAICHA_DEMO"):
            from server.services.demo import seed

            seed(app)
        if app.config.get("PAICHA_ADMIN_PASSWORD"):
            from server.core.accounts import ensure_admin

            ensure_admin(app.config["PAICHA_ADMIN_PASSWORD"])
    # Last: the embedded scheduler's first tick runs at once and needs the store and the areas.
    from server.services import calendar

    calendar.init_app(app)
    return app


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])), exist_ok=True)


def _persistent_secret(engine: sa.Engine) -> str:
    """A signing key shared by every worker and kept across restarts, unless one is configured."""
    try:
        with engine.begin() as conn:
            if conn.execute(sa.select(server_meta.c.key).where(server_meta.c.key == "secret_key")).first() is None:
                conn.execute(server_meta.insert().values(key="secret_key", value=secrets.token_hex(32)))
    except sa.exc.IntegrityError:
        pass  # another process stored one first: everyone uses that one
    with engine.connect() as conn:
        return conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "secret_key")).scalar()


def _register_error_handlers(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(errors.CouchError)
    def _couch(exc):
        return error_response(exc)

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
