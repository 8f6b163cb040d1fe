"""Mounts the sync engine's CouchDB API on the app, with `/_session`, deciding per request who may
do what in which database (the store itself is `server.core.store`'s)."""
from __future__ import annotations

import datetime as dt

from flask import Flask

from sync.access import Access
from sync.http import make_blueprint
from sync.tus import make_upload_blueprint

from server.core.access import access_for
from server.core import clock
from server.core.auth import require_principal
from server.core.store import get_store
from server.interfaces.couchdb_session import session_blueprint


def init_app(app: Flask) -> None:
    def get_access(db_name: str | None) -> Access:
        principal = require_principal()
        if db_name is None:
            return Access(user=principal.name, is_admin=principal.is_admin)
        return access_for(principal, db_name)

    with app.app_context():
        store = get_store()
    app.register_blueprint(session_blueprint())
    app.register_blueprint(make_blueprint(store, get_access))
    lifetime = dt.timedelta(hours=app.config["PAICHA_UPLOAD_LIFETIME_HOURS"])
    app.register_blueprint(make_upload_blueprint(store, get_access, lambda: clock.now(), lifetime))
