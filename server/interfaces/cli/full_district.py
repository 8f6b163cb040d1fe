"""`flask full-district generate`: a generated district at full size, for benchmarks, tests and trials.

It writes into the configured store (DATABASE_URL) through the normal rules; see
`server.services.full_district` for what it holds. Use an empty store of its own: the district
(990201) and its accounts are made up.
"""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server.core import clock
from server.services import full_district

full_district_cli = AppGroup("full-district", help="A generated district at full size (made-up data).")


@full_district_cli.command("generate")
@click.option("--villages", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--days", type=click.IntRange(1, 800), default=365, show_default=True,
              help="Days of records before --today.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The last day of records is the day before (default: the clock's today).")
@click.option("--password", required=True, help="The password of the three accounts (bench-district, "
              "bench-township, bench-admin).")
def generate(villages, days, today, password):
    """Generate VILLAGES villages with DAYS days of rounds, reports, disputes, households and visits."""
    last = today.date() if today else clock.today()
    try:
        made = full_district.generate(current_app, villages, last - dt.timedelta(days=days), last, password,
                                      progress=lambda line: click.echo(f"  {line}"))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"generated {made.villages} villages, {made.start}..{made.today}: {made.counts} "
               f"in {made.seconds} s")


def init_app(app: Flask) -> None:
    app.cli.add_command(full_district_cli)
