"""`flask couch push|pull|sync [URL]`: replicate with a CouchDB-protocol server (the bridge).

    flask couch sync https://hub.example.org/paicha --continuous --scope 610402
    PAICHA_COUCH_URL=... PAICHA_COUCH_USER=... PAICHA_COUCH_PASSWORD=... flask couch pull

URL is the remote database; it defaults to PAICHA_COUCH_URL. Credentials come from
PAICHA_COUCH_USER / PAICHA_COUCH_PASSWORD (or the URL's user-info, which then wins; a URL typed on
the command line is visible to other users in `ps`, so prefer the environment). No URL is printed
or logged with its password.

The bridge writes as the account `couch-bridge`. On the domain database its writes go through the
same checks as any client's, as an administrator limited to --scope: schema validation and write
rules (refused documents are quarantined), and the write hooks (audit trail, geotagging). Other
databases are plain. --scope limits both directions: only documents of the scope are pushed, and
pulled documents outside it are refused and counted, not quarantined (they stay on the remote).

Wiring: `bridge_cli.init_app(app)` in `create_app` registers the group.
"""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from schemas.rules import Actor
from sync import errors as couch_errors
from sync.access import Access
from sync.bridge import BatchReport, BridgeError, RemoteURL, mask_url, replicate

from server.core import metrics
from server.core.access import domain_access
from server.core.hooks import WriteContext
from server.core.store import get_store

log = logging.getLogger(__name__)

BRIDGE_ACCOUNT = metrics.BRIDGE_ACCOUNT
URL_ENV, USER_ENV, PASSWORD_ENV = "PAICHA_COUCH_URL", "PAICHA_COUCH_USER", "PAICHA_COUCH_PASSWORD"  # settings

couch_cli = AppGroup("couch", help="Replicate with a CouchDB server (push, pull or sync).")


def bridge_access(app: Flask, db_name: str, scope: str, remote: RemoteURL) -> Access:
    """What the bridge may do in `db_name`: see the module docstring."""
    if db_name != app.config["PAICHA_DOMAIN_DB"]:
        return Access(user=BRIDGE_ACCOUNT, is_admin=True)
    try:
        actor = Actor(BRIDGE_ACCOUNT, "admin", scope)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (the domain database is scoped by area code)",
                                 param_hint="--scope") from None
    context = WriteContext(db_name=db_name, account=BRIDGE_ACCOUNT, device_id=f"couch:{remote.public}"[:100])
    return domain_access(app, actor, context, is_admin=True, read_prefixes=None)


def _options(command):
    decorators = [
        click.argument("url", required=False),
        click.option("--continuous", is_flag=True,
                     help="Keep replicating (longpoll) until stopped (SIGTERM / Ctrl-C)."),
        click.option("--scope", default="", help="Only documents whose scope (area code) starts with this."),
        click.option("--db", "db_name", default=None, help="Local database (default: the domain database)."),
        click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10000),
                     help="Changes per batch (one checkpoint per batch)."),
        click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 3600),
                     help="Seconds to wait between batches (spare a busy or metered link)."),
        click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(1, 3600),
                     help="Seconds to wait for the remote to answer a request."),
        click.option("--quiet", is_flag=True, help="Only the final summary, no line per batch."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def _run(direction: str, url: str | None, continuous: bool, scope: str, db_name: str | None, batch_size: int,
         pause: float, timeout: float, quiet: bool, create_target: bool = False) -> None:
    app = current_app._get_current_object()
    from_command_line = bool(url)
    url = url or app.config.get(URL_ENV)
    if not url:
        raise click.UsageError(f"give the remote database URL, or set {URL_ENV}")
    try:
        remote = RemoteURL.parse(url, app.config.get(USER_ENV), app.config.get(PASSWORD_ENV))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    if from_command_line and remote.password and "@" in url:
        click.echo(f"warning: credentials on the command line are visible to other users; "
                   f"use {USER_ENV} / {PASSWORD_ENV}", err=True)
    db_name = db_name or app.config["PAICHA_DOMAIN_DB"]
    if scope and db_name != app.config["PAICHA_DOMAIN_DB"]:
        raise click.BadParameter("only the domain database has scopes (area codes)", param_hint="--scope")
    access = bridge_access(app, db_name, scope, remote)
    store = get_store()
    try:
        db = store.open(db_name, access)
    except couch_errors.DatabaseNotFound:
        raise click.ClickException(f"no local database {db_name!r}") from None

    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    count_in = db_name != app.config["PAICHA_DOMAIN_DB"]  # domain writes are counted by the write hook

    def on_batch(report: BatchReport) -> None:
        outcome = "ok" if not report.failed else "partial"
        metrics.count_bridge_batch(report.direction, outcome)
        if report.direction == "push":
            metrics.count_docs_out(report.written, "bridge")
        elif count_in:
            metrics.count_docs_in(report.written, "bridge")
        scope_refusals = sum(1 for *_, reason in report.refused if reason.startswith(("scope ", "tombstone ")))
        remote_refusals = len(report.refused) - scope_refusals if report.direction == "push" else 0
        metrics.count_rejection("out_of_scope", "bridge", scope_refusals)
        metrics.count_rejection("remote_refused", "bridge", remote_refusals)
        if not quiet:
            click.echo(f"{report.direction}: batch of {report.changes} changes, {report.written} written, "
                       f"{len(report.refused)} refused, {len(report.failed)} failed, seq {report.last_seq}")

    click.echo(f"{direction} {db_name} <-> {remote.public}{f' (scope {scope})' if scope else ''}"
               f"{' continuously' if continuous else ''}")
    try:
        stats = replicate(db, remote, direction, scope=scope or None, continuous=continuous,
                          batch_size=batch_size, pause=pause, create_target=create_target, stop=stop,
                          on_batch=on_batch, timeout=timeout, thread_context=app.app_context)
    except BridgeError as exc:
        metrics.count_bridge_batch(direction, "error")
        raise click.ClickException(mask_url(str(exc))) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for s in stats:
        click.echo(s.line())
    if stop.is_set():
        click.echo("stopped")


@couch_cli.command("push")
@_options
@click.option("--create-target", is_flag=True, help="Create the remote database if it does not exist.")
def push(**kw):
    """Send the central store's documents (of --scope) to the remote database."""
    _run("push", **kw)


@couch_cli.command("pull")
@_options
def pull(**kw):
    """Bring the remote database's documents (of --scope) into the central store."""
    _run("pull", **kw)


@couch_cli.command("sync")
@_options
@click.option("--create-target", is_flag=True, help="Create the remote database if it does not exist.")
def sync(**kw):
    """Push and pull (both at once with --continuous)."""
    _run("sync", **kw)


def init_app(app: Flask) -> None:
    app.cli.add_command(couch_cli)

