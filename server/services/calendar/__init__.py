"""The screening calendar (排查): rounds on schedule, their status, reminders and escalation.

Wiring: `init_app(app)` (call it at the end of `create_app`, after the store exists and the demo
seed ran) registers `flask rounds ...` / `flask scheduler ...` and, when PAICHA_SCHEDULER is
"embedded" (the default), starts the embedded APScheduler (not under a `flask` CLI command, and off
by default when app.testing).

Configuration (app config, each defaulting to the environment variable of the same name):

    PAICHA_SCHEDULER              embedded | external | off                       (embedded)
    PAICHA_CALENDAR_PERIODS       level=kind,...  kinds xun|half_month|month|quarter|off
                                  (village=xun,township=half_month,district=month,quarterly=quarter)
    PAICHA_CALENDAR_DUE_DAYS      level=days after the period's last day            (quarterly=5, others 0)
    PAICHA_CALENDAR_START         YYYY-MM-DD: first date a fresh calendar covers     (unset: today)
    PAICHA_REMIND_DAYS_BEFORE     "due soon" reminder this many days before due      (2)
    PAICHA_ESCALATE_AFTER_DAYS    escalate to the parent area this many days overdue (3)
    PAICHA_CLOCK_SKEW_MINUTES     device clock may be this far ahead of the server   (10)
    PAICHA_CALENDAR_TICK_MINUTES  how often the scheduler ticks                       (10)

Modules: `periods` (pure calendar), `status` (pure on-time/late/overdue rules), `rounds` (the tick
against the store), `scheduler` (APScheduler), `cli`.
"""
from __future__ import annotations

import os

import click
from flask import Flask

SETTINGS = {
    "PAICHA_SCHEDULER": "embedded",
    "PAICHA_CALENDAR_PERIODS": "",
    "PAICHA_CALENDAR_DUE_DAYS": "",
    "PAICHA_CALENDAR_START": "",
    "PAICHA_REMIND_DAYS_BEFORE": "2",
    "PAICHA_ESCALATE_AFTER_DAYS": "3",
    "PAICHA_CLOCK_SKEW_MINUTES": "10",
    "PAICHA_CALENDAR_TICK_MINUTES": "10",
}


def init_app(app: Flask) -> None:
    """Idempotent: a second call on the same app does nothing."""
    if app.extensions.get("paicha_calendar"):
        return
    app.extensions["paicha_calendar"] = True
    apply_settings(app)
    from server.services.calendar.periods import CalendarConfig
    from server.services.calendar.scheduler import mode, register

    CalendarConfig.from_config(app.config)  # a bad setting fails at start, not at the first tick
    scheduler_mode = mode(app)

    from server.interfaces.cli.calendar import rounds_cli, scheduler_cli

    app.cli.add_command(rounds_cli)
    app.cli.add_command(scheduler_cli)
    register(app)
    if scheduler_mode == "embedded" and not _under_flask_cli():
        from server.services.calendar.scheduler import start_embedded

        start_embedded(app)


def apply_settings(app: Flask) -> None:
    """Config defaults (the environment, then SETTINGS); the demo seed needs them before init_app."""
    for key, default in SETTINGS.items():
        if key == "PAICHA_SCHEDULER" and app.testing:
            default = "off"
        if app.config.get(key) in (None, ""):
            app.config[key] = os.environ.get(key) or default


def _under_flask_cli() -> bool:
    """True inside a `flask <command>` invocation: no scheduler for a one-off command (and
    `flask scheduler run` starts its own)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    from flask.cli import FlaskGroup

    return isinstance(ctx.find_root().command, FlaskGroup)
