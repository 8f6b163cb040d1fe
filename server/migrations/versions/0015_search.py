"""the search index: search_documents (each searchable document's text, a matter's personal data
apart) and search_grams (its character pairs and single characters, by area); `flask projections
rebuild` fills them for the documents already stored

Revision ID: 0015_search
Revises: 0014_responsibility
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_search"
down_revision = "0014_responsibility"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")
Scope = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
Gram = sa.String(length=8).with_variant(sa.String(length=8, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "search_documents",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("area", Scope, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("public_text", sa.Text(), nullable=False),
        sa.Column("personal_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_area", ["db_name", "area", "at"], unique=False)
    op.create_table(
        "search_grams",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("gram", Gram, nullable=False),
        sa.Column("area", Scope, nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.PrimaryKeyConstraint("db_name", "gram", "area", "doc_id"),
    )
    with op.batch_alter_table("search_grams", schema=None) as batch_op:
        batch_op.create_index("ix_search_grams_doc", ["db_name", "doc_id"], unique=False)


def downgrade():
    with op.batch_alter_table("search_grams", schema=None) as batch_op:
        batch_op.drop_index("ix_search_grams_doc")
    op.drop_table("search_grams")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_area")
    op.drop_table("search_documents")
