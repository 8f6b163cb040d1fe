"""every opening of a matter's file (一案一档): file_openings, append-only (who, when, which matter,
from which interface, whether its personal data was shown whole)

Revision ID: 0013_file_openings
Revises: 0012_matter_figures
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_file_openings"
down_revision = "0012_matter_figures"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "file_openings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("matter_id", sa.String(length=255), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("interface", sa.String(length=20), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("file_openings", schema=None) as batch_op:
        batch_op.create_index("ix_file_openings_matter", ["db_name", "matter_id", "at"], unique=False)
        batch_op.create_index("ix_file_openings_account", ["account", "at"], unique=False)
        batch_op.create_index("ix_file_openings_at", ["at"], unique=False)


def downgrade():
    with op.batch_alter_table("file_openings", schema=None) as batch_op:
        batch_op.drop_index("ix_file_openings_at")
        batch_op.drop_index("ix_file_openings_account")
        batch_op.drop_index("ix_file_openings_matter")
    op.drop_table("file_openings")
