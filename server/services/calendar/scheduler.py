"""APScheduler: when the calendar ticks.

One job, `paicha-calendar-tick`, runs `tick.tick` every PAICHA_CALENDAR_TICK_MINUTES (10) minutes.
It lives in a persistent SQLAlchemyJobStore (table `calendar_scheduler_jobs`, same database as
everything else), with coalesce=True and no misfire grace limit: after downtime the missed runs are
run once, at start. On every start the job is (re)written with the configured interval but keeps the
persisted next run time, so a restart neither skips a due run nor reschedules one early; the first
start ever ticks at once. What a tick catches up on is decided by data, not by the scheduler (see
`tick.tick`), so a run lost to a crash is made good by the next one.

Where it runs (PAICHA_SCHEDULER):
    embedded   (default) a BackgroundScheduler in the server process. Under `python -m server serve`
               that is gunicorn's master process (the app is created before workers fork), so one
               scheduler serves any number of workers. Not started under `flask <command>` (CLI).
    external   not in the server: run `flask scheduler run` (BlockingScheduler) as its own process.
    off        no scheduling (tests; or run `flask rounds tick` from cron).

APScheduler 3 does not coordinate two schedulers on one job store, so two processes may run the
tick at the same moment; that is harmless, because the tick is idempotent and a round or reminder
created by the other process first is a `conflict` the tick counts as "already there".
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading

from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask import Flask

from sync.store import configure_engine

from server.core import metrics
from server.core.clock import SHANGHAI
from server.services.calendar import tables
from server.services.calendar.tick import TICK_LOCK, tick

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

JOB_ID = "paicha-calendar-tick"
JOB_FUNC = "server.services.calendar.scheduler:scheduled_tick"
MODES = ("embedded", "external", "off")

# The apps this process can tick, by database (a job in the shared store names its database).
_APPS: dict[str, Flask] = {}
_fork_guard = False


def app_key(app: Flask) -> str:
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    return f"{url.render_as_string(hide_password=True)}#{app.config['PAICHA_DOMAIN_DB']}"


def register(app: Flask) -> str:
    key = app_key(app)
    _APPS[key] = app
    return key


def scheduled_tick(key: str | None = None) -> None:
    """The job's function (referenced by name in the job store, so any process can run it)."""
    app = _APPS.get(key) if key else None
    if app is None and len(_APPS) == 1:
        app = next(iter(_APPS.values()))
    if app is None:
        log.error("calendar tick: no app registered for %s in this process", key)
        return
    with TICK_LOCK:  # the metrics' locks must not be held across a fork either (_guard_fork)
        try:
            summary = tick(app)
        except Exception:
            metrics.count_scheduler_run("calendar_tick", "error")
            raise
        metrics.count_scheduler_run("calendar_tick", "error" if summary.errors else "ok")
    if summary.errors:
        log.error("calendar tick: %d documents refused; first: %s", len(summary.errors), summary.errors[0])


def mode(app: Flask) -> str:
    value = (app.config.get("PAICHA_SCHEDULER") or "embedded").strip().lower()
    if value not in MODES:
        raise ValueError(f"PAICHA_SCHEDULER must be one of {', '.join(MODES)}, not {value!r}")
    return value


def _job_engine(app: Flask) -> sa.Engine:
    """The job store's own small pool: APScheduler disposes its engine at shutdown, which must not
    touch the app's."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = {}  # configure_engine pings a server's connections that sat idle
    if not url.startswith("sqlite"):
        options.update(pool_size=2, max_overflow=2)
    return configure_engine(sa.create_engine(url, **options))


def make_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    # APScheduler loads with the first scheduler made: a process that runs none (a `flask` command,
    # a server with PAICHA_SCHEDULER=off or external) does not pay for it.
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    return cls(
        jobstores={"default": SQLAlchemyJobStore(engine=_job_engine(app), tablename=tables.JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=SHANGHAI,
    )


def persisted_next_run(app: Flask) -> dt.datetime | None:
    """The tick job's next run time as the job store kept it (None: no job yet, or paused)."""
    with app.extensions["paicha_store"].engine.connect() as conn:
        value = conn.execute(sa.select(tables.jobs.c.next_run_time)
                             .where(tables.jobs.c.id == JOB_ID)).scalar()
    return None if value is None else dt.datetime.fromtimestamp(value, dt.timezone.utc)


def add_tick_job(scheduler: BaseScheduler, app: Flask, now: dt.datetime | None = None) -> None:
    from apscheduler.triggers.interval import IntervalTrigger  # with the scheduler (make_scheduler)

    minutes = int(app.config.get("PAICHA_CALENDAR_TICK_MINUTES") or 10)
    # The scheduler runs on the wall clock (a server whose domain clock was set still ticks every
    # few minutes of real time); the tick itself asks the domain clock what day it is.
    now = now or dt.datetime.now(dt.timezone.utc)
    next_run = persisted_next_run(app) or now
    scheduler.add_job(
        JOB_FUNC, trigger=IntervalTrigger(minutes=minutes, timezone=SHANGHAI), args=[register(app)],
        id=JOB_ID, name="screening calendar tick", replace_existing=True, next_run_time=next_run,
    )


# -- embedded ------------------------------------------------------------------------------------


def start_embedded(app: Flask, *, paused: bool = False) -> BackgroundScheduler:
    scheduler = make_scheduler(app)
    add_tick_job(scheduler, app)
    _guard_fork()
    scheduler.start(paused=paused)
    app.extensions["paicha_scheduler"] = (os.getpid(), scheduler)
    log.info("calendar: embedded scheduler started (tick every %s min)",
             app.config.get("PAICHA_CALENDAR_TICK_MINUTES") or 10)
    return scheduler


def embedded(app: Flask) -> BackgroundScheduler | None:
    """This process's embedded scheduler (a forked worker has none: the thread stayed in its parent)."""
    entry = app.extensions.get("paicha_scheduler")
    return entry[1] if entry and entry[0] == os.getpid() else None


def stop_embedded(app: Flask) -> None:
    scheduler = embedded(app)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)
    app.extensions.pop("paicha_scheduler", None)
    _APPS.pop(app_key(app), None)


def _guard_fork() -> None:
    """fork() waits for a running tick to finish, so a child never inherits locks (connection pool,
    change notifier) taken by the scheduler thread mid-tick."""
    global _fork_guard
    if _fork_guard or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(before=TICK_LOCK.acquire, after_in_parent=TICK_LOCK.release,
                        after_in_child=TICK_LOCK.release)
    _fork_guard = True


# -- its own process -----------------------------------------------------------------------------


def run_blocking(app: Flask) -> None:
    """`flask scheduler run`: the scheduler in the foreground until SIGTERM / SIGINT."""
    scheduler = make_scheduler(app, blocking=True)
    add_tick_job(scheduler, app)

    def _stop(signum, _frame):
        log.info("calendar scheduler: signal %s, stopping", signum)
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    click.echo(f"calendar scheduler running (tick every {app.config.get('PAICHA_CALENDAR_TICK_MINUTES') or 10}"
               f" min); Ctrl-C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
