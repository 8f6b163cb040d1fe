"""Geotagging's own tables (migration 0003_visits), on the shared metadata.

Nothing here is synced: these are the server's derived records. Devices never see them, and the
server never writes its findings back into a device's document.
"""
from __future__ import annotations

import sqlalchemy as sa

from sync.tables import DocId, metadata

Time = sa.DateTime(timezone=True)

# Village boundaries (GeoJSON polygons, WGS-84) and/or centres, from `flask areas boundaries`.
geo_villages = sa.Table(
    "geo_villages",
    metadata,
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("district", sa.String(6), nullable=False, index=True),
    sa.Column("centre_lat", sa.Float, nullable=True),
    sa.Column("centre_lon", sa.Float, nullable=True),
    # JSON: a list of polygons, each a list of rings of [lon, lat] (WGS-84); NULL = centre only.
    sa.Column("boundary", sa.Text, nullable=True),
    sa.Column("min_lat", sa.Float, nullable=True),
    sa.Column("min_lon", sa.Float, nullable=True),
    sa.Column("max_lat", sa.Float, nullable=True),
    sa.Column("max_lon", sa.Float, nullable=True),
    sa.Column("source", sa.String(255), nullable=True),
    sa.Column("imported_at", Time, nullable=False),
    sa.Index("ix_geo_villages_bbox", "min_lat", "max_lat"),
    sa.Index("ix_geo_villages_centre", "centre_lat"),
)

# Index of the `household` documents: where each is, in WGS-84 and as registered.
geo_households = sa.Table(
    "geo_households",
    metadata,
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("rev", sa.String(80), nullable=False),
    sa.Column("area", sa.String(12), nullable=False, index=True),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("orig_lat", sa.Float, nullable=True),
    sa.Column("orig_lon", sa.Float, nullable=True),
    sa.Column("orig_crs", sa.String(10), nullable=True),
    sa.Column("lat", sa.Float, nullable=True),  # WGS-84
    sa.Column("lon", sa.Float, nullable=True),
    # "registry" (the document's location) | "geocoder" (its address, looked up) | NULL (unknown)
    sa.Column("location_source", sa.String(20), nullable=True),
    sa.Column("updated_at", Time, nullable=False),
)

# One row per household_visit document (its winning revision): where, how far, which flags.
visit_checks = sa.Table(
    "visit_checks",
    metadata,
    sa.Column("visit_id", DocId, primary_key=True),
    sa.Column("rev", sa.String(80), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("area", sa.String(12), nullable=False),
    sa.Column("visitor", sa.String(100), nullable=False),
    sa.Column("household_id", DocId, nullable=True),
    sa.Column("visited_at", Time, nullable=True),
    sa.Column("fix_time", Time, nullable=True),  # UTC; NULL without a fix
    sa.Column("orig_lat", sa.Float, nullable=True),
    sa.Column("orig_lon", sa.Float, nullable=True),
    sa.Column("orig_crs", sa.String(10), nullable=True),
    sa.Column("lat", sa.Float, nullable=True),  # WGS-84
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("accuracy_m", sa.Float, nullable=True),
    sa.Column("household_lat", sa.Float, nullable=True),  # WGS-84, as used for distance_m
    sa.Column("household_lon", sa.Float, nullable=True),
    sa.Column("household_location_source", sa.String(20), nullable=True),
    sa.Column("distance_m", sa.Float, nullable=True),
    sa.Column("radius_m", sa.Float, nullable=True),
    sa.Column("speed_kmh", sa.Float, nullable=True),  # fastest leg to the previous / next fix
    sa.Column("speed_with", DocId, nullable=True),  # ... and the visit at its other end
    sa.Column("village_found", sa.String(12), nullable=True),
    sa.Column("locate_method", sa.String(10), nullable=True),  # boundary | centre | NULL
    sa.Column("photo_count", sa.Integer, nullable=False, default=0),
    sa.Column("flags", sa.Text, nullable=False, default="[]"),  # JSON list, see checks.FLAGS
    sa.Column("computed_at", Time, nullable=False),
    sa.Index("ix_visit_checks_area", "area", "visited_at"),
    sa.Index("ix_visit_checks_visitor_time", "visitor", "fix_time"),
    sa.Index("ix_visit_checks_household", "household_id"),
)

# Answers of the optional geocoder, so an address is looked up once.
geo_geocode_cache = sa.Table(
    "geo_geocode_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of provider + query
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("found", sa.Boolean, nullable=False),
    sa.Column("lat", sa.Float, nullable=True),  # WGS-84
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("display", sa.Text, nullable=True),
    sa.Column("created_at", Time, nullable=False),
)

TABLES = (geo_villages, geo_households, visit_checks, geo_geocode_cache)
