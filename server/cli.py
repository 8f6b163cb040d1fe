"""`flask` commands for administrators."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .accounts import AccountError, add_account, set_password
from .extensions import db

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
    from flask import current_app

    from .audit import history

    for entry in history(current_app.config["PAICHA_DOMAIN_DB"], doc_id):
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}\t{entry.account}\t{entry.device_id or '-'}\t"
                   f"{entry.previous_rev or '-'} -> {entry.rev}{' (deleted)' if entry.deleted else ''}")


@devices_cli.command("stale")
@click.option("--days", default=7, show_default=True, help="No sync for this many days.")
def devices_stale(days):
    """Field accounts with no successful sync for DAYS days (or never)."""
    import datetime as dt

    from .devices import not_synced_since
    from .models import utcnow

    for account, last in not_synced_since(utcnow() - dt.timedelta(days=days)):
        click.echo(f"{account.name}\t{account.role}\t{account.scope}\t{last or 'never'}")


def _format_of(path: str, fmt: str | None) -> str:
    return fmt or ("csv" if path.lower().endswith(".csv") else "json")


@areas_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None)
def areas_import(path, fmt):
    """Import areas (code, name[, level, parent]) from JSON or CSV."""
    from .areas import AreaError, import_areas, parse_file

    try:
        with open(path, encoding="utf-8-sig") as fh:
            rows = parse_file(fh.read(), _format_of(path, fmt))
        created, updated = import_areas(rows)
    except (AreaError, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"{created} areas created, {updated} renamed")


@users.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None)
def users_import(path, fmt):
    """Import accounts (name, role, scope[, display_name, password]) for a whole district.

    Accounts without a password get a random one, printed once here for handing out.
    """
    import csv
    import json
    import secrets

    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    rows = list(csv.DictReader(text.splitlines())) if _format_of(path, fmt) == "csv" else json.loads(text)
    created = []
    for row in rows:
        password = row.get("password") or secrets.token_urlsafe(9)
        try:
            add_account(row["name"], password, row["role"], row.get("scope") or "", row.get("display_name"))
        except (AccountError, KeyError) as exc:
            db.session.rollback()
            raise click.ClickException(f"{row.get('name')}: {exc}") from None
        created.append((row["name"], None if row.get("password") else password))
    for name, generated in created:
        click.echo(f"{name}\t{generated}" if generated else name)
    click.echo(f"{len(created)} accounts created")


@quarantine_cli.command("list")
@click.option("--status", default="held", type=click.Choice(["held", "readmitted", "discarded"]))
def quarantine_list(status):
    """List refused documents."""
    from .quarantine import list_held

    for entry in list_held(status):
        click.echo(f"#{entry.id}\t{entry.received_at:%Y-%m-%d %H:%M}\t{entry.account}\t{entry.doc_id}\t{entry.reason}")


@quarantine_cli.command("show")
@click.argument("entry_id", type=int)
def quarantine_show(entry_id):
    """Show one refused document in full."""
    from .models import QuarantinedDoc

    entry = db.session.get(QuarantinedDoc, entry_id)
    if entry is None:
        raise click.ClickException(f"no quarantine entry #{entry_id}")
    click.echo(f"#{entry.id} {entry.status} from {entry.account} (device {entry.device_id or '-'})")
    click.echo(f"reason: {entry.reason}")
    click.echo(entry.body)


@quarantine_cli.command("readmit")
@click.argument("entry_id", type=int)
@click.option("--as", "admin_name", required=True, help="The administrator account re-admitting it.")
def quarantine_readmit(entry_id, admin_name):
    """Write a held document again through the normal rules, as an administrator."""
    from .quarantine import readmit

    try:
        result = readmit(entry_id, admin_name)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if "error" in result:
        raise click.ClickException(f"still refused: {result.get('reason')}")
    click.echo(f"re-admitted {result['id']} as {result.get('rev')}")


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
    from .migrations import upgrade_to_head

    upgrade_to_head(db.engine)
    click.echo("database is at the latest schema")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(db_cli)
    app.cli.add_command(areas_cli)
    app.cli.add_command(quarantine_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(devices_cli)
