"""The field app's JSON REST API under /api/v1 (issue 7).

Log in for a bearer token (used here and for replication), learn who you are and where to sync,
list due rounds, overdue reminders and households, and -- for clients without a CouchDB database --
write screening reports, disputes and visits (with photos) as plain JSON. Every write goes through the
same store, rules, quarantine and audit trail as replication, so it syncs to every phone.

    api.py        the blueprint and its error handling
    problems.py   the problem catalogue (RFC 9457, stable codes, Chinese / English)
    openapi.py    the OpenAPI 3.1 document (apispec), from the routes and `schemas/`
    payloads.py   request bodies derived from `schemas/`, and what the server fills in
    records.py    idempotent create / update / attach through the store
    queries.py    documents of a type in the caller's scope
    tasks.py      due rounds and overdue reminders
    devices.py    an account's devices
    context.py    the caller, their database handle, request inputs
    bodies.py     JSON request bodies: half characters, NaN, deep nesting, unholdable numbers refused
    resources/    the routes

Configuration (app config): PAICHA_API_MAX_ATTACHMENT_BYTES (10 MiB), PAICHA_API_MAX_JSON_BYTES
(1 MiB), PAICHA_API_TASKS_LOOKBACK_DAYS (31), PAICHA_API_ACCESS_SECONDS / PAICHA_API_REFRESH_SECONDS
(token lifetimes; default 12 h / 30 days), PAICHA_PUBLIC_URL (the sync URL's base when behind a
proxy; default the request's host).
"""
from __future__ import annotations

import os

from flask import Flask

SETTINGS = {
    "PAICHA_API_MAX_ATTACHMENT_BYTES": 10 * 1024 * 1024,
    "PAICHA_API_MAX_JSON_BYTES": 1024 * 1024,
    "PAICHA_API_TASKS_LOOKBACK_DAYS": 31,
    "PAICHA_API_ACCESS_SECONDS": None,
    "PAICHA_API_REFRESH_SECONDS": None,
    "PAICHA_PUBLIC_URL": None,
}


def init_app(app: Flask) -> None:
    """Register the API on the app (idempotent). Call it in `create_app` after `couch.init_app`."""
    if app.extensions.get("paicha_mobile_api"):
        return
    for key, default in SETTINGS.items():
        if app.config.get(key) is None:
            value = os.environ.get(key)
            app.config[key] = (int(value) if isinstance(default, int) else value) if value else default
    from mobile_api import resources  # noqa: F401 - registers the routes on the blueprint
    from mobile_api.api import bp

    app.register_blueprint(bp)
    app.extensions["paicha_mobile_api"] = True
