"""The SQL schema of the replication store (SQLAlchemy Core).

One row per document holds its revision tree, winning rev, scope and latest sequence number, so the
changes feed is an index range on (db, seq), and a scoped feed an index range on (db, scope, seq).
Revision bodies live beside it; attachment bytes are stored once per md5 digest.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Document ids sort by raw code points, as CouchDB's _all_docs does, whatever the server's locale.
DocId = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
Scope = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")

server_meta = sa.Table(
    "sync_server_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

databases = sa.Table(
    "sync_databases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    # The write counter: bumped as the last statement of every write transaction, so its row lock
    # orders commits exactly as it orders sequence numbers (no reader can skip a late commit).
    sa.Column("update_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("doc_count", sa.BigInteger, nullable=False, default=0),
    sa.Column("doc_del_count", sa.BigInteger, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

documents = sa.Table(
    "sync_documents",
    metadata,
    sa.Column("db_id", sa.Integer, sa.ForeignKey("sync_databases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("scope", Scope, nullable=False, default=""),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("winning_rev", sa.String(80), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("rev_tree", sa.Text, nullable=False),
    sa.Index("ix_sync_documents_seq", "db_id", "seq", unique=True),
    sa.Index("ix_sync_documents_scope_seq", "db_id", "scope", "seq"),
    sa.Index("ix_sync_documents_scope_id", "db_id", "scope", "doc_id"),
)

revisions = sa.Table(
    "sync_revisions",
    metadata,
    sa.Column("db_id", sa.Integer, sa.ForeignKey("sync_databases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("rev", sa.String(80), primary_key=True),
    sa.Column("deleted", sa.Boolean, nullable=False),
    # JSON of the revision's own fields (no _id/_rev) with attachment stubs under _attachments.
    sa.Column("body", sa.Text, nullable=False),
)

attachments = sa.Table(
    "sync_attachments",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

local_docs = sa.Table(
    "sync_local_docs",
    metadata,
    sa.Column("db_id", sa.Integer, sa.ForeignKey("sync_databases.id", ondelete="CASCADE"), primary_key=True),
    # _local docs (replication checkpoints) are private to the account that wrote them.
    sa.Column("owner", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("rev", sa.String(80), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

# Documents whose winning revision a reader could not take (stored by an older version, or brought
# in before today's checks): held back from the changes feed, with the reason, until a new
# revision replaces that one or an administrator releases it.
held_docs = sa.Table(
    "sync_held_docs",
    metadata,
    sa.Column("db_id", sa.Integer, sa.ForeignKey("sync_databases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("rev", sa.String(80), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
)

# Resumable uploads of a document revision (its multipart/related body), each written in pieces as
# they arrive, so a cut link loses at most the piece in flight; applied to the document once whole,
# then deleted. An upload belongs to the account that began it.
uploads = sa.Table(
    "sync_uploads",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("db_id", sa.Integer, sa.ForeignKey("sync_databases.id", ondelete="CASCADE"), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("doc_id", DocId, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),  # the client's Upload-Metadata, as sent
    # receiving; checked (its JSON judged acceptable); written (applied; kept without its bytes
    # until it expires, so a client that lost the last answer learns the upload is whole)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

upload_pieces = sa.Table(
    "sync_upload_pieces",
    metadata,
    sa.Column("upload_id", sa.String(64), sa.ForeignKey("sync_uploads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("offset", sa.BigInteger, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
