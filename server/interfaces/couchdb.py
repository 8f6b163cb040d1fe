"""Mounts the sync engine on the app: the CouchDB API, `/_session`, and who may do what where."""
from __future__ import annotations

from flask import Flask, current_app

from sync import errors
from sync.access import Access
from sync.http import make_blueprint
from sync.notify import ChangeNotifier
from sync.store import Store, configure_engine

from server.core import access
from server.core.auth import require_principal, session_blueprint
from server.core.db import db


def get_store() -> Store:
    return current_app.extensions["paicha_store"]


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = configure_engine(db.engine)
    store = Store(engine, rules_for=lambda name: access.rules_for(app, name), notifier=ChangeNotifier())
    app.extensions["paicha_store"] = store

    def get_access(db_name: str | None) -> Access:
        principal = require_principal()
        if db_name is None:
            return Access(user=principal.name, is_admin=principal.is_admin)
        return access.access_for(principal, db_name)

    app.register_blueprint(session_blueprint())
    app.register_blueprint(make_blueprint(store, get_access))


def ensure_domain_database(app: Flask) -> None:
    store: Store = app.extensions["paicha_store"]
    try:
        store.create_database(app.config["PAICHA_DOMAIN_DB"], exist_ok=True)
    except errors.FileExists:
        pass
