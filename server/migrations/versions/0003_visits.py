"""geotagged household visits: village boundaries, household index, visit checks, geocode cache

Revision ID: 0003_visits
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_visits"
down_revision = "0002"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "geo_villages",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column("centre_lat", sa.Float(), nullable=True),
        sa.Column("centre_lon", sa.Float(), nullable=True),
        sa.Column("boundary", sa.Text(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_geo_villages_district", "geo_villages", ["district"])
    op.create_index("ix_geo_villages_bbox", "geo_villages", ["min_lat", "max_lat"])
    op.create_index("ix_geo_villages_centre", "geo_villages", ["centre_lat"])

    op.create_table(
        "geo_households",
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("rev", sa.String(length=80), nullable=False),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("orig_lat", sa.Float(), nullable=True),
        sa.Column("orig_lon", sa.Float(), nullable=True),
        sa.Column("orig_crs", sa.String(length=10), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=20), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("doc_id"),
    )
    op.create_index("ix_geo_households_area", "geo_households", ["area"])

    op.create_table(
        "visit_checks",
        sa.Column("visit_id", DocId, nullable=False),
        sa.Column("rev", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("visitor", sa.String(length=100), nullable=False),
        sa.Column("household_id", DocId, nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fix_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orig_lat", sa.Float(), nullable=True),
        sa.Column("orig_lon", sa.Float(), nullable=True),
        sa.Column("orig_crs", sa.String(length=10), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("household_lat", sa.Float(), nullable=True),
        sa.Column("household_lon", sa.Float(), nullable=True),
        sa.Column("household_location_source", sa.String(length=20), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("speed_with", DocId, nullable=True),
        sa.Column("village_found", sa.String(length=12), nullable=True),
        sa.Column("locate_method", sa.String(length=10), nullable=True),
        sa.Column("photo_count", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    op.create_index("ix_visit_checks_area", "visit_checks", ["area", "visited_at"])
    op.create_index("ix_visit_checks_visitor_time", "visit_checks", ["visitor", "fix_time"])
    op.create_index("ix_visit_checks_household", "visit_checks", ["household_id"])

    op.create_table(
        "geo_geocode_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade():
    op.drop_table("geo_geocode_cache")
    op.drop_index("ix_visit_checks_household", table_name="visit_checks")
    op.drop_index("ix_visit_checks_visitor_time", table_name="visit_checks")
    op.drop_index("ix_visit_checks_area", table_name="visit_checks")
    op.drop_table("visit_checks")
    op.drop_index("ix_geo_households_area", table_name="geo_households")
    op.drop_table("geo_households")
    op.drop_index("ix_geo_villages_centre", table_name="geo_villages")
    op.drop_index("ix_geo_villages_bbox", table_name="geo_villages")
    op.drop_index("ix_geo_villages_district", table_name="geo_villages")
    op.drop_table("geo_villages")
