"""The screening calendar (排查): rounds on schedule, their status, reminders and escalation.

Wiring: `init_app(app)` (in `create_app`) checks the settings; `start_scheduler(app)` (a start-up
step, `server.setup.prepare`, once the store is migrated and the demo seeded), when PAICHA_SCHEDULER
is "embedded" (the default), starts the embedded APScheduler (not under a `flask` CLI command, and
off by default when app.testing). The
report index is a read model kept by every write (`report_index.projection`, registered with the
others by `server.services.read_models`); `flask rounds ...` / `flask scheduler ...` are in
server/interfaces/cli/calendar.py.

Configuration (app config; server/core/settings.py says what each means, and its default):
PAICHA_SCHEDULER, PAICHA_CALENDAR_PERIODS, PAICHA_CALENDAR_DUE_DAYS, PAICHA_CALENDAR_START,
PAICHA_REMIND_DAYS_BEFORE, PAICHA_ESCALATE_AFTER_DAYS, PAICHA_CLOCK_SKEW_MINUTES,
PAICHA_CALENDAR_TICK_MINUTES.

Modules:
    periods        the calendar as pure functions: periods, due dates, round and reminder ids
    status         on time / late / open / overdue / missed, as pure functions
    documents      the server's own writes (rounds, reminders), each once
    rounds         issuing the rounds the calendar expects
    report_index   the read model: reports and rounds with their settled status
    tracking       where each expected round stands at a moment
    reminders      due soon, overdue, escalated
    state          how far the tick has covered the calendar
    tick           the job: rounds, then reminders
    scheduler      when the job runs (APScheduler)
    tables         the calendar's tables
"""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from server.core import settings
from server.services.calendar.periods import CalendarConfig

SETTINGS = ("PAICHA_SCHEDULER", "PAICHA_CALENDAR_PERIODS", "PAICHA_CALENDAR_DUE_DAYS", "PAICHA_CALENDAR_START",
            "PAICHA_REMIND_DAYS_BEFORE", "PAICHA_ESCALATE_AFTER_DAYS", "PAICHA_CLOCK_SKEW_MINUTES",
            "PAICHA_CALENDAR_TICK_MINUTES")


def init_app(app: Flask) -> None:
    """Idempotent: a second call on the same app does nothing."""
    if app.extensions.get("paicha_calendar"):
        return
    app.extensions["paicha_calendar"] = True
    apply_settings(app)
    # Loaded when an app starts, not with the package: the scheduler's tick reaches the store's
    # services, which import this package's pure modules (periods) themselves.
    from server.services.calendar import scheduler

    CalendarConfig.from_config(app.config)  # a bad setting fails at start, not at the first tick
    scheduler.mode(app)
    scheduler.register(app)


def start_scheduler(app: Flask) -> None:
    """Start the embedded scheduler when PAICHA_SCHEDULER is "embedded" (a start-up step of the
    server, `server.setup.prepare`, after init_app): its first tick runs at once and needs the
    store and the areas. Not under a `flask` command."""
    # Loaded when an app starts, as in init_app.
    from server.services.calendar import scheduler

    if scheduler.mode(app) == "embedded" and not _under_flask_cli():
        scheduler.start_embedded(app)


def apply_settings(app: Flask) -> None:
    """The calendar's settings' defaults where the app config lacks them (create_app sets them all);
    the demo seed needs them before init_app."""
    for key in SETTINGS:
        if app.config.get(key) in (None, ""):
            app.config[key] = "off" if key == "PAICHA_SCHEDULER" and app.testing else settings.default(key)


def _under_flask_cli() -> bool:
    """True inside a `flask <command>` invocation: no scheduler for a one-off command (and
    `flask scheduler run` starts its own)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return isinstance(ctx.find_root().command, FlaskGroup)
