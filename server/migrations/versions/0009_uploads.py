"""resumable uploads: sync_uploads and sync_upload_pieces (a document revision sent in pieces that
survive a cut link, applied once whole)

Revision ID: 0009_uploads
Revises: 0008_held_documents
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_uploads"
down_revision = "0008_held_documents"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "sync_uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["db_id"], ["sync_databases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sync_upload_pieces",
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["sync_uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "offset"),
    )


def downgrade():
    op.drop_table("sync_upload_pieces")
    op.drop_table("sync_uploads")
