"""`flask store check|held|release`: find stored documents a phone could not take, and hold them
back from the changes feed (with the reason) so that one of them cannot stop a village's sync.

    flask store check            # list them
    flask store check --hold     # list them and hold them back
    flask store held             # what is held back, and why
    flask store release DOC_ID   # serve it again (after fixing it, a new revision is served anyway)
    flask store restored         # after restoring a backup by hand: phones send again what it lost

Wiring: `store_cli.init_app(app)` in `create_app` registers the group.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from sync import errors as couch_errors
from sync import held

from server.core import restores
from server.core.db import db
from server.core.store import get_store

store_cli = AppGroup("store", help="Find and hold back stored documents a reader could not take.")


def _db_option():
    return click.option("--db", "db_name", default=None,
                        help="The database (default: the domain database, PAICHA_DOMAIN_DB).")


def _database(db_name: str | None) -> str:
    return db_name or current_app.config["PAICHA_DOMAIN_DB"]


@store_cli.command("check")
@_db_option()
@click.option("--hold", "hold_them", is_flag=True, help="Hold back every document found.")
def check(db_name, hold_them):
    """List the documents whose current revision a reader could not take."""
    name, store, count = _database(db_name), get_store(), 0
    try:
        for found in held.unreadable_documents(store, name):
            count += 1
            if hold_them:
                held.hold(store, name, found)
            click.echo(f"{found.doc_id}\t{found.rev}\t{found.reason}")
    except couch_errors.CouchError as exc:
        raise click.ClickException(exc.reason) from None
    verb = "held back" if hold_them else "found (add --hold to hold them back)"
    click.echo(f"{count} document(s) {verb}" if count else "every document can be read")


@store_cli.command("held")
@_db_option()
def list_held(db_name):
    """What is held back from the feed, and why."""
    try:
        rows = held.held_documents(get_store(), _database(db_name))
    except couch_errors.CouchError as exc:
        raise click.ClickException(exc.reason) from None
    for row in rows:
        click.echo(f"{row.doc_id}\t{row.rev}\t{row.held_at:%Y-%m-%d %H:%M}\t{row.reason}")
    if not rows:
        click.echo("nothing is held back")


@store_cli.command("release")
@_db_option()
@click.argument("doc_id")
def release(db_name, doc_id):
    """Serve a held-back document in the feed again."""
    try:
        released = held.release(get_store(), _database(db_name), doc_id)
    except couch_errors.CouchError as exc:
        raise click.ClickException(exc.reason) from None
    if not released:
        raise click.ClickException(f"{doc_id} is not held back")
    click.echo(f"released {doc_id}")


@store_cli.command("restored")
def restored():
    """Say that the store was restored from a backup: every phone's next replication resumes from
    before the backup's moment, so it sends again what the store lost."""
    changed = restores.mark_restored(db.engine)
    click.echo(f"{changed} replication checkpoint(s) will resume from before the restore")


def init_app(app: Flask) -> None:
    app.cli.add_command(store_cli)
