"""The field app's JSON REST API under /api/v1.

Log in for a bearer token (used here and for replication), learn who you are and where to sync,
list due rounds, overdue reminders and households, and -- for clients without a CouchDB database --
write screening reports, disputes and visits (with photos) as plain JSON. Every write goes through the
same store, rules, quarantine and audit trail as replication, so it syncs to every phone.

    api.py        the blueprint and its error handling
    problems.py   errors as problem details (RFC 9457), rendered from the catalogue (schemas/errors.py)
    openapi.py    the OpenAPI 3.1 document (apispec), from the routes and `schemas/`
    payloads.py   request bodies derived from `schemas/`, and what the server fills in
    records.py    idempotent create / update / attach through the store
    queries.py    documents of a type in the caller's scope
    tasks.py      due rounds and overdue reminders
    devices.py    an account's devices
    context.py    the caller, their database handle, request inputs
    bodies.py     JSON request bodies: half characters, NaN, deep nesting, unholdable numbers refused
    resources/    the routes
    field_app/    the field app itself (a static web app; served at /app/ by server/interfaces/field_app.py)

Configuration (app config; server/core/settings.py says what each means, and its default):
PAICHA_API_MAX_ATTACHMENT_BYTES, PAICHA_API_MAX_JSON_BYTES, PAICHA_API_TASKS_LOOKBACK_DAYS,
PAICHA_API_ACCESS_SECONDS, PAICHA_API_REFRESH_SECONDS, PAICHA_PUBLIC_URL.
"""
from __future__ import annotations

from flask import Flask

from mobile_api import resources  # noqa: F401 - registers the routes on the blueprint
from mobile_api.api import bp
from server.core import settings

SETTINGS = ("PAICHA_API_MAX_ATTACHMENT_BYTES", "PAICHA_API_MAX_JSON_BYTES", "PAICHA_API_TASKS_LOOKBACK_DAYS",
            "PAICHA_API_ACCESS_SECONDS", "PAICHA_API_REFRESH_SECONDS", "PAICHA_PUBLIC_URL")


def init_app(app: Flask) -> None:
    """Register the API on the app (idempotent). Call it in `create_app` after `couch.init_app`."""
    if app.extensions.get("paicha_mobile_api"):
        return
    for key in SETTINGS:  # defaults where the app config lacks them (create_app sets them all)
        if app.config.get(key) is None:
            app.config[key] = settings.default(key)
    app.register_blueprint(bp)
    app.extensions["paicha_mobile_api"] = True
