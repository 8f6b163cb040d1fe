"""The start-up steps `create_app` leaves out; whoever starts the server, or a test, says which.

    prepare(app)                    what `python -m server serve` (so `make run`) and a `flask`
                                    command do: every step the settings ask for
    prepare(app, migrate=False)     a store already at the head (a copy of a migrated one)
    prepare(app, demo=True)         the demo district whatever PAICHA_DEMO says (False: none)
    prepare(app, scheduler=False)   no embedded scheduler whatever PAICHA_SCHEDULER says

In order: the clock (PAICHA_CLOCK), the schema (migrations), a restored store noticed
(`server/core/restores.py`), the signing key (PAICHA_SECRET_KEY, else
one kept in the store), the domain database, the demo district (PAICHA_DEMO), the admin account
(PAICHA_ADMIN_PASSWORD), and last the embedded scheduler (PAICHA_SCHEDULER=embedded): its first
tick runs at once and needs the store and the areas. Each step is idempotent.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import Flask

from sync.tables import server_meta

from server.core import clock, health, migrate as migrations, restores, store
from server.core.accounts import ensure_admin
from server.core.db import db
from server.core.settings import Settings
from server.services import calendar, demo as demo_district


def prepare(app: Flask, *, migrate: bool = True, demo: bool | None = None,
            scheduler: bool = True) -> Flask:
    """Run the start-up steps on a made app (see the module docstring); returns the app."""
    started_at = Settings.of(app.config).clock
    if started_at is not None:
        moment, frozen = started_at
        clock.set_clock(moment, frozen=frozen)
    with app.app_context():
        if migrate:
            migrations.upgrade_to_head(db.engine)
        restores.check_for_restore(db.engine)
        health.warn_about_database_settings(db.engine)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = persistent_secret(db.engine)
        store.ensure_domain_database(app)
        if app.config.get("PAICHA_DEMO") if demo is None else demo:
            demo_district.seed(app)
        if app.config.get("PAICHA_ADMIN_PASSWORD"):
            ensure_admin(app.config["PAICHA_ADMIN_PASSWORD"])
    if scheduler:
        calendar.start_scheduler(app)
    return app


def persistent_secret(engine: sa.Engine) -> str:
    """A signing key shared by every worker and kept across restarts, unless one is configured."""
    try:
        with engine.begin() as conn:
            if conn.execute(sa.select(server_meta.c.key).where(server_meta.c.key == "secret_key")).first() is None:
                conn.execute(server_meta.insert().values(key="secret_key", value=secrets.token_hex(32)))
    except sa.exc.IntegrityError:
        pass  # another process stored one first: everyone uses that one
    with engine.connect() as conn:
        return conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "secret_key")).scalar()
