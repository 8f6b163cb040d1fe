"""The ledger's own table (migration 0005_ledger_index), on the shared metadata.

    ledger_records    one row per `dispute`, `supervision_notice` and `notice_reply` document of the
                      domain database (its winning revision): the small facts the ledger lists, counts and turns into
                      figures, as plain indexed columns (times in UTC), so no page parses the
                      documents' JSON or scans documents of other types. A read model, kept
                      inside each write's transaction (`index.py`); `flask projections rebuild`
                      fills it from the store. Rows only move forward in `seq`.
"""
from __future__ import annotations

import sqlalchemy as sa

from sync.tables import DocId, metadata

Time = sa.DateTime(timezone=True)

records = sa.Table(
    "ledger_records",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("type", sa.String(40), nullable=False),  # dispute | supervision_notice | notice_reply
    sa.Column("area", sa.String(64), nullable=False),  # the document's scope
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("category", sa.String(40), nullable=True),
    sa.Column("risk_level", sa.String(20), nullable=True),
    sa.Column("status", sa.String(20), nullable=True),
    sa.Column("summary", sa.Text, nullable=True),  # a notice's subject
    sa.Column("deadline", sa.String(40), nullable=True),  # a notice's deadline, as written
    sa.Column("created_by", sa.String(255), nullable=True),
    sa.Column("created_at", Time, nullable=True),
    sa.Column("accepted_at", Time, nullable=True),
    sa.Column("resolved_at", Time, nullable=True),
    # accepted_at - created_at and resolved_at - (accepted_at or created_at), in microseconds (exact
    # integers, so "within N days" is the same comparison in SQL as in Python)
    sa.Column("accept_us", sa.BigInteger, nullable=True),
    sa.Column("resolve_us", sa.BigInteger, nullable=True),
    sa.Column("one_time_resolution", sa.Boolean, nullable=True),
    sa.Column("satisfaction", sa.String(20), nullable=True),
    sa.Column("round_id", DocId, nullable=True),
    # migration 0010: the supervision loop (督办). link_id is a notice's dispute (dispute_id) or a
    # reply's notice (notice_id); a notice's kind and priority; a reply's replied_at.
    sa.Column("link_id", DocId, nullable=True),
    sa.Column("kind", sa.String(20), nullable=True),
    sa.Column("priority", sa.String(20), nullable=True),
    sa.Column("replied_at", Time, nullable=True),
    # migration 0016: a dispute's people_involved (collective: PAICHA_MATTER_COLLECTIVE_PEOPLE or more)
    sa.Column("people", sa.Integer, nullable=True),
    sa.Index("ix_ledger_records_area", "db_name", "type", "area"),
    sa.Index("ix_ledger_records_link", "db_name", "type", "link_id"),
    sa.Index("ix_ledger_records_open", "db_name", "type", "status", "risk_level", "area"),
    sa.Index("ix_ledger_records_created", "db_name", "type", "created_at"),
    sa.Index("ix_ledger_records_resolved", "db_name", "type", "resolved_at"),
)
