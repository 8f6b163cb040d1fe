"""The search index's tables (migration 0015)."""
from __future__ import annotations

import sqlalchemy as sa

from sync.tables import DocId, Scope, metadata

Gram = sa.String(8).with_variant(sa.String(8, collation="C"), "postgresql")

# Each searchable document once: what it shows in the results, and its text in two parts, the
# personal data of a matter's parties (names, phones, ID numbers) apart from the rest.
search_documents = sa.Table(
    "search_documents",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),  # the document's type
    sa.Column("area", Scope, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),  # the document's own time (ISO 8601), for the order
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("public_text", sa.Text, nullable=False),
    sa.Column("personal_text", sa.Text, nullable=False),
    sa.Index("ix_search_documents_area", "db_name", "area", "at"),
)

# Every distinct pair of consecutive characters of a document's text (and every single character,
# for a one-character query: a surname), with the area, so a query's pairs find the candidates in
# the viewer's area through one index.
search_grams = sa.Table(
    "search_grams",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("gram", Gram, primary_key=True),
    sa.Column("area", Scope, primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Index("ix_search_grams_doc", "db_name", "doc_id"),  # a document's pairs, replaced when it changes
)
