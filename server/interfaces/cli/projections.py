"""`flask projections rebuild`: fill the read models from the stored documents.

The read models (the calendar's report and round index, the ledger's records, the visit checks; see
`server.services.read_models`) follow every write inside its transaction. Run this once after
upgrading from a version that filled them otherwise, or after emptying one of their tables: it
projects every document of the domain database again, a batch per transaction, while the server
keeps serving.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server.core import projections
from server.core.store import get_store

projections_cli = AppGroup("projections", help="The read models kept from the documents.")


@projections_cli.command("rebuild")
def rebuild():
    """Project every document of the domain database into the read models again (idempotent)."""
    done = projections.rebuild(current_app, get_store())
    click.echo(f"{done} documents projected")


def init_app(app: Flask) -> None:
    app.cli.add_command(projections_cli)
