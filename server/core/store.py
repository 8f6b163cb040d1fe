"""The app's store: the sync engine's databases, on the app's SQL engine, one store per app.

`init_app` creates it, with the domain's rule for each database: the domain database (`/paicha`)
is scoped by each document's area code, the others are plain CouchDB databases. The CouchDB
interface mounts its HTTP face; services, the REST API and the ledger reach the same store
through `get_store()`, and open the domain database as an account sees it with
`server.core.access.domain_database`.
"""
from __future__ import annotations

from flask import Flask, current_app

from schemas.rules import scope_of
from sync import errors
from sync.access import PLAIN, DbRules
from sync.notify import ChangeNotifier
from sync.store import Store, configure_engine

from server.core.db import db

EXTENSION = "paicha_store"


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = configure_engine(db.engine)  # before the first connection: pragmas apply per connection
    app.extensions[EXTENSION] = Store(engine, rules_for=lambda name: rules_for(app, name),
                                      notifier=change_notifier(app.config))


def change_notifier(config) -> ChangeNotifier:
    """How waiting feeds learn of other processes' commits, as the settings say."""
    return ChangeNotifier(recheck_seconds=config.get("PAICHA_CHANGES_RECHECK_S"),
                          poll_seconds=config.get("PAICHA_CHANGES_POLL_S"),
                          pg_notify=config.get("PAICHA_PG_NOTIFY", True))


def rules_for(app: Flask, db_name: str) -> DbRules:
    if db_name == app.config["PAICHA_DOMAIN_DB"]:
        return DbRules(scope_of=scope_of)
    return PLAIN


def get_store() -> Store:
    return current_app.extensions[EXTENSION]


def ensure_domain_database(app: Flask) -> None:
    store: Store = app.extensions[EXTENSION]
    try:
        store.create_database(app.config["PAICHA_DOMAIN_DB"], exist_ok=True)
    except errors.FileExists:
        pass
