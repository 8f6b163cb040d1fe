"""`flask rounds ...` and `flask scheduler ...`; `init_app(app)` registers them."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server.core import clock
from server.services.calendar import scheduler
from server.services.calendar.periods import parse_timestamp, stamp, start_of_day
from server.services.calendar.tick import generate, tick
from server.services.calendar.tracking import area_names, status_report

rounds_cli = AppGroup("rounds", help="Screening rounds: the calendar of 排查.")
scheduler_cli = AppGroup("scheduler", help="The calendar's scheduler (APScheduler).")

DATE = click.DateTime(["%Y-%m-%d"])


def init_app(app: Flask) -> None:
    app.cli.add_command(rounds_cli)
    app.cli.add_command(scheduler_cli)


def _fail_on_errors(summary) -> None:
    if summary.errors:
        first = summary.errors[0]
        raise click.ClickException(f"{len(summary.errors)} documents refused, e.g. {first.id}: "
                                   f"{first.error.error} {first.error.reason}")


@rounds_cli.command("generate")
@click.option("--date", "until", type=DATE, required=True,
              help="Create every round whose period has started by this date (YYYY-MM-DD).")
@click.option("--from", "first", type=DATE, default=None,
              help="First date to cover (default: PAICHA_CALENDAR_START, else the scheduler's last "
                   "covered date, else --date).")
@click.option("--area", default="", help="Only areas whose code starts with this.")
def rounds_generate(until, first, area):
    """Backfill rounds up to a date. Idempotent: existing rounds are left alone; rounds already past
    due when created are marked missed."""
    summary = generate(current_app, until.date(), first.date() if first else None, area_prefix=area)
    click.echo(summary.line())
    _fail_on_errors(summary)


@rounds_cli.command("tick")
@click.option("--now", "now_text", default=None,
              help="Run as of this moment (ISO 8601, e.g. 2026-11-21T08:00:00+08:00); default: now.")
def rounds_tick(now_text):
    """Run the calendar's job once: create due rounds (catching up), send reminders."""
    now = None
    if now_text:
        now = parse_timestamp(now_text)
        if now is None:
            raise click.BadParameter(f"{now_text!r} is not an ISO 8601 timestamp", param_hint="--now")
    summary = tick(current_app, now)
    click.echo(summary.line())
    _fail_on_errors(summary)


@rounds_cli.command("status")
@click.option("--date", "day", type=DATE, default=None, help="As of the end of this day (default today).")
@click.option("--since", type=DATE, default=None, help="Rounds due from this date (default: 30 days before --date).")
@click.option("--area", default="", help="Only areas whose code starts with this.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per round.")
def rounds_status(day, since, area, as_json):
    """Per area and round: due date and on_time / late / open / overdue / missed / missing."""
    day = day.date() if day else clock.today()
    since = since.date() if since else day - dt.timedelta(days=30)
    # As of the end of that day, or now if that is earlier.
    now = min(clock.now(), start_of_day(day + dt.timedelta(days=1)) - dt.timedelta(seconds=1))
    states = status_report(current_app, day=day, since=since, now=now, area_prefix=area)
    names = area_names(current_app, [s.planned.area for s in states])
    counts = Counter()
    for s in states:
        p, st = s.planned, s.status
        counts[st.status] += 1
        sub = st.submission
        row = {
            "area": p.area, "name": names.get(p.area, ""), "level": p.level, "round": p.id,
            "period": [p.period.start.isoformat(), p.period.end.isoformat()], "due": s.due_date.isoformat(),
            "status": st.status,
            "submitted_at": stamp(sub.at) if sub else None, "time_used": sub.source if sub else None,
            "report": sub.doc_id if sub else None,
            "device_time": stamp(sub.device_time) if sub and sub.device_time else None,
            "received_at": stamp(sub.received_at) if sub else None,
            "days_overdue": st.days_overdue(now),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        detail = ""
        if sub:
            detail = f"  report {sub.doc_id} at {row['submitted_at']} ({sub.source}; received {row['received_at']})"
        click.echo(f"{p.area}\t{row['name']}\t{p.level}\t{p.period.start}..{p.period.end}\tdue {s.due_date}\t"
                   f"{st.status}{detail}")
    if not as_json:
        click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no rounds")


@scheduler_cli.command("run")
def scheduler_run():
    """Run the calendar's scheduler in the foreground (BlockingScheduler), for PAICHA_SCHEDULER=external."""
    # The app itself: the job runs in the scheduler's threads, where the proxy has no app.
    scheduler.run_blocking(current_app._get_current_object())


@scheduler_cli.command("jobs")
def scheduler_jobs():
    """The persisted jobs and their next run time."""
    when = scheduler.persisted_next_run(current_app)
    click.echo(f"{scheduler.JOB_ID}\t{stamp(when) if when else 'not scheduled'}")
