"""`flask` commands for geotagging.

    flask areas boundaries FILE.geojson [--crs GCJ-02]     village boundaries / centres
    flask households import FILE --village CODE [--as ACCOUNT] [--crs ..] [--update] [--geocode]
    flask households geocode [--area PREFIX] [--limit N]   place unlocated households by address
    flask visits recheck [--area PREFIX]                   recompute every visit check
    flask visits list [--area PREFIX] [--flag FLAG]        the checks, as a table
"""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from server.core.db import db, reading, writing
from server.core.models import Area
from server.services.geo import crs as crs_mod
from server.services.geo.geocode import GeocoderNotConfigured
from server.services.geo.households import (
    HouseholdImportError,
    build_documents,
    geocode_households,
    import_households,
    parse_file,
)
from server.services.geo.locate import BoundaryImportError, import_boundaries
from server.services.geo.queries import visits
from server.services.geo.settings import Thresholds
from server.services.geo.visits import rebuild

households_cli = AppGroup("households", help="The household registry of each village.")
visits_cli = AppGroup("visits", help="Household visits and their geotag checks.")


def _format_of(path: str, fmt: str | None) -> str:
    return fmt or ("csv" if path.lower().endswith(".csv") else "json")


@click.command("boundaries")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", "source_crs", type=click.Choice(crs_mod.SYSTEMS), default=crs_mod.WGS84, show_default=True,
              help="The coordinate system of the file (GeoJSON should be WGS-84; Chinese map exports often are GCJ-02).")
def areas_boundaries(path, source_crs):
    """Import village boundaries (Polygon / MultiPolygon) or centres (Point) from GeoJSON features
    with properties {code: 12-digit village code, name}."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
        with writing() as conn:
            report = import_boundaries(conn, data, source_crs, source=path.rsplit("/", 1)[-1])
    except (BoundaryImportError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.boundaries} village boundaries and {report.centres} centres imported")
    if report.unknown_areas:
        click.echo(f"warning: not in the areas table (import them with `flask areas import`): "
                   f"{', '.join(report.unknown_areas[:20])}", err=True)
    click.echo("existing visits keep their checks until `flask visits recheck`")


@households_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--village", required=True, help="The 12-digit code of the village these households are in.")
@click.option("--as", "account", default="admin", show_default=True, help="The account the documents are written as.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None)
@click.option("--crs", "default_crs", type=click.Choice(crs_mod.SYSTEMS), default=crs_mod.WGS84, show_default=True,
              help="The coordinate system of lat/lon for rows that do not say.")
@click.option("--update", is_flag=True, help="Also rewrite households that already exist with the file's fields.")
@click.option("--geocode", "geocode", is_flag=True, help="Then place unlocated households with the configured geocoder.")
def households_import(path, village, account, fmt, default_crs, update, geocode):
    """Import a village's households from CSV or JSON (address required, location optional)."""
    with reading() as session:
        known = session.get(Area, village) is not None
    if not known:
        raise click.ClickException(f"unknown village {village}: import the areas first (`flask areas import`)")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            rows = parse_file(fh.read(), _format_of(path, fmt))
        docs = build_documents(rows, village, account, default_crs)
        report = import_households(current_app, docs, account, update=update)
    except HouseholdImportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.created} households created, {report.updated} updated, {report.unchanged} unchanged")
    for doc_id, reason in report.refused:
        click.echo(f"refused {doc_id}: {reason}", err=True)
    if geocode:
        _geocode(village, None)
    if report.refused:
        raise SystemExit(1)


def _geocode(area: str, limit: int | None) -> None:
    try:
        report = geocode_households(current_app, area, limit)
    except GeocoderNotConfigured as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"geocoder: {report.looked_up} addresses looked up, {report.placed} households placed, "
               f"{len(report.not_found)} not found, {len(report.failed)} failed (retried next time)")


@households_cli.command("geocode")
@click.option("--area", default="", help="Only households under this area code.")
@click.option("--limit", type=int, default=None)
def households_geocode(area, limit):
    """Place households without a location from their address (PAICHA_GEOCODER must be set)."""
    _geocode(area, limit)


@visits_cli.command("recheck")
@click.option("--area", default="", help="Only documents under this area code.")
def visits_recheck(area):
    """Recompute the household index and every visit check (after new boundaries or thresholds)."""
    counts = rebuild(db.engine, current_app.config["PAICHA_DOMAIN_DB"], Thresholds.from_config(current_app.config), area)
    click.echo(f"{counts['households']} households indexed, {counts['visits']} visits checked")


@visits_cli.command("list")
@click.option("--area", default="")
@click.option("--flag", default=None)
@click.option("--limit", type=int, default=100, show_default=True)
def visits_list(area, flag, limit):
    """Visit checks, newest first: visit, visitor, distance, flags."""
    with reading() as conn:
        rows = visits(conn, area, flag=flag, limit=limit)
    for r in rows:
        distance = f"{r['distance_m']:.0f} m" if r["distance_m"] is not None else "-"
        click.echo(f"{r['visited_at'] or '-'}\t{r['visit_id']}\t{r['visitor']}\t{distance}\t"
                   f"{r['village_found'] or '-'}\t{','.join(r['flags']) or 'ok'}")


def init_app(app) -> None:
    # `areas` belongs to server/cli.py; add our subcommand to it (or start the group if absent).
    areas = app.cli.commands.get("areas")
    if areas is None:
        areas = AppGroup("areas", help="Districts, townships and villages.")
        app.cli.add_command(areas)
    if "boundaries" not in areas.commands:
        areas.add_command(areas_boundaries)
    app.cli.add_command(households_cli)
    app.cli.add_command(visits_cli)
