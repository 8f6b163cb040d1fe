"""`flask` commands for administrators."""
from __future__ import annotations

import csv
import datetime as dt
import json
import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server.core.accounts import AccountError, add_account, set_password
from server.core.areas import AreaError, import_areas, parse_file, set_leader
from server.core.db import db, reading
from server.core.migrate import upgrade_to_head
from server.core import clock
from server.services.audit import history
from server.services.devices import not_synced_since
from server.services.quarantine import DecisionError, Filters, administrator, decisions, discard, entries, readmit, \
    search, settle

users = AppGroup("users", help="Accounts.")
db_cli = AppGroup("db", help="Database schema.")
areas_cli = AppGroup("areas", help="Districts, townships and villages.")
quarantine_cli = AppGroup("quarantine", help="Refused documents kept for review.")
audit_cli = AppGroup("audit", help="The trail of accepted writes.")
devices_cli = AppGroup("devices", help="Devices and their last sync.")


@audit_cli.command("history")
@click.argument("doc_id")
def audit_history(doc_id):
    """Every accepted revision of one document: when, who, which device, from which rev."""
    for entry in history(current_app.config["PAICHA_DOMAIN_DB"], doc_id):
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}\t{entry.account}\t{entry.device_id or '-'}\t"
                   f"{entry.previous_rev or '-'} -> {entry.rev}{' (deleted)' if entry.deleted else ''}")


@devices_cli.command("stale")
@click.option("--days", default=7, show_default=True, help="No sync for this many days.")
def devices_stale(days):
    """Field accounts with no successful sync for DAYS days (or never)."""
    for account, last in not_synced_since(clock.now() - dt.timedelta(days=days)):
        click.echo(f"{account.name}\t{account.role}\t{account.scope}\t{last or 'never'}")


def _format_of(path: str, fmt: str | None) -> str:
    return fmt or ("csv" if path.lower().endswith(".csv") else "json")


@areas_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None)
def areas_import(path, fmt):
    """Import areas (code, name[, level, parent, leader]) from JSON or CSV."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            rows = parse_file(fh.read(), _format_of(path, fmt))
        created, updated = import_areas(rows)
    except (AreaError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{created} areas created, {updated} renamed")


@areas_cli.command("leader")
@click.argument("code")
@click.argument("leader", required=False)
@click.option("--clear", is_flag=True, help="Remove the area's leader.")
def areas_leader(code, leader, clear):
    """Name the area's 包案领导 (LEADER: name and post, as written), or --clear it."""
    if bool(leader) == clear:
        raise click.UsageError("give either a LEADER or --clear")
    try:
        set_leader(code, None if clear else leader)
    except AreaError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"area {code}: leader {'cleared' if clear else leader.strip()}")


@users.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None)
def users_import(path, fmt):
    """Import accounts (name, role, scope[, display_name, password]) for a whole district.

    Accounts without a password get a random one, printed once here for handing out.
    """
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    rows = list(csv.DictReader(text.splitlines())) if _format_of(path, fmt) == "csv" else json.loads(text)
    created = []
    for row in rows:
        password = row.get("password") or secrets.token_urlsafe(9)
        try:
            add_account(row["name"], password, row["role"], row.get("scope") or "", row.get("display_name"))
        except (AccountError, KeyError) as exc:
            raise click.ClickException(f"{row.get('name')}: {exc}") from None
        created.append((row["name"], None if row.get("password") else password))
    for name, generated in created:
        click.echo(f"{name}\t{generated}" if generated else name)
    click.echo(f"{len(created)} accounts created")


def _entry_line(entry) -> str:
    times = f" x{entry.times_received}" if entry.times_received > 1 else ""
    return (f"#{entry.id}\t{entry.received_at:%Y-%m-%d %H:%M}\t{entry.status}\t{entry.account}\t{entry.doc_id}\t"
            f"{entry.reason}{times}")


@quarantine_cli.command("list")
@click.option("--status", default="held", show_default=True,
              type=click.Choice(["held", "readmitted", "discarded", "superseded", "all"]))
@click.option("--account", default=None, help="Only this account's refused edits.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
def quarantine_list(status, account, limit):
    """List refused documents (one line per refused revision, newest first)."""
    filters = Filters(status=None if status == "all" else status, account=account)
    with reading() as conn:
        total, rows = search(conn, filters, limit=limit)
    for entry in rows:
        click.echo(_entry_line(entry))
    if total > len(rows):
        click.echo(f"... {total - len(rows)} more (--limit)")


@quarantine_cli.command("show")
@click.argument("entry_id", type=int)
def quarantine_show(entry_id):
    """Show one refused document in full, with what became of it."""
    with reading() as conn:
        entry = entries.get(conn, entry_id)
    if entry is None:
        raise click.ClickException(f"no quarantine entry #{entry_id}")
    click.echo(f"#{entry.id} {entry.status} {entry.doc_id} ({entry.doc_type or '?'}, area {entry.area or '-'})")
    how = f"direct edit of {entry.rev or 'nothing'}" if entry.new_edits else f"replicated revision {entry.rev or '-'}"
    click.echo(f"from {entry.account} (device {entry.device_id or '-'}), {how}")
    click.echo(f"received {entry.times_received} time(s): first {entry.received_at:%Y-%m-%d %H:%M:%S}, "
               f"last {entry.last_received_at:%Y-%m-%d %H:%M:%S} (UTC)")
    click.echo(f"reason: {entry.reason}")
    if entry.status != "held":
        click.echo(f"{entry.status} by {entry.resolved_by or '-'} at {entry.resolved_at:%Y-%m-%d %H:%M:%S}"
                   + (f" as {entry.resolved_rev}" if entry.resolved_rev else "")
                   + (f": {entry.note}" if entry.note else ""))
    click.echo(f"notice: {entry.notice_id or '-'} ({entry.notice_state})")
    click.echo(entry.body)


def _administrator(name):
    try:
        return administrator(name)
    except DecisionError as exc:
        raise click.ClickException(exc.detail or exc.code) from None


@quarantine_cli.command("readmit")
@click.argument("entry_id", type=int)
@click.option("--as", "admin_name", required=True, help="The administrator account re-admitting it.")
@click.option("--file", "corrected", type=click.File("r", encoding="utf-8-sig"), default=None,
              help="A corrected document (JSON) to write instead of the one that was sent.")
def quarantine_readmit(entry_id, admin_name, corrected):
    """Write a held document again (or its corrected version) through the normal rules, as an
    administrator. Refused again, it stays held and the reason is printed."""
    admin = _administrator(admin_name)
    try:
        doc = None
        if corrected is not None:
            with reading() as conn:
                entry = entries.get(conn, entry_id)
            if entry is None:
                raise DecisionError("not_found", f"no quarantine entry #{entry_id}")
            doc = decisions.parse_correction(corrected.read(), entry.doc_id)
        outcome = readmit(current_app._get_current_object(), entry_id, admin, doc)
    except DecisionError as exc:
        raise click.ClickException(exc.detail or exc.code) from None
    if not outcome.ok:
        raise click.ClickException(f"still refused ({outcome.code or outcome.error}): {outcome.reason}")
    click.echo(f"re-admitted {outcome.doc_id} as {outcome.rev}{' (corrected)' if outcome.corrected else ''}")


@quarantine_cli.command("discard")
@click.argument("entry_id", type=int)
@click.option("--as", "admin_name", required=True, help="The administrator account discarding it.")
@click.option("--reason", "note", required=True, help="Why (kept on the entry and told to the writer).")
def quarantine_discard(entry_id, admin_name, note):
    """Drop a held document, with a reason; its writer's refusal notice says so."""
    admin = _administrator(admin_name)
    try:
        discard(current_app._get_current_object(), entry_id, admin, note)
    except DecisionError as exc:
        raise click.ClickException(exc.detail or exc.code) from None
    click.echo(f"discarded #{entry_id}")


@quarantine_cli.command("notify")
def quarantine_notify():
    """Write every refusal notice still owed and resolve those of decided entries (each refusal
    and decision does this for its own; run it once after upgrading)."""
    written = settle(current_app._get_current_object(), limit=None)
    click.echo(f"{written} refusal notices written")


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["village_cadre", "township_staff",
                                                          "district_supervisor", "admin"]))
@click.option("--scope", default="", help="Area code the account works in (empty for admins: everything).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
def users_add(name, role, scope, password, display_name):
    """Create an account."""
    try:
        add_account(name, password, role, scope, display_name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {name} ({scope or 'all areas'})")


@users.command("set-password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_set_password(name, password):
    """Change an account's password."""
    try:
        set_password(name, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password changed for {name}")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply schema migrations (also done at every start)."""
    upgrade_to_head(db.engine)
    click.echo("database is at the latest schema")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(db_cli)
    app.cli.add_command(areas_cli)
    app.cli.add_command(quarantine_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(devices_cli)
