"""held documents: sync_held_docs (stored revisions a reader could not take, held back from the
changes feed with the reason; `flask store check --hold` fills it)

Revision ID: 0008_held_documents
Revises: 0007_quarantine_entries
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_held_documents"
down_revision = "0007_quarantine_entries"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "sync_held_docs",
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("rev", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["db_id"], ["sync_databases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("db_id", "doc_id"),
    )


def downgrade():
    op.drop_table("sync_held_docs")
