"""The matters' read model (migration 0011_matters), on the shared metadata. Kept inside each write's
transaction by `index.py`; `flask projections rebuild` fills it from the store.

    matter_numbers  one row per dispute: its registration number (登记编号) `district-year-sequence`,
                    given when the server first received the dispute and never given again; the
                    dispute's area and registration day
    matter_steps    one row per matter_step document: its matter, kind, time and own fields
    matter_states   one row per dispute: the stage and the deadlines derived from its steps
                    (`stages.derive`); what is overdue is compared with the day asked, in the query;
                    the day it was finished, its reopens and its main party's key for the figures
"""
from __future__ import annotations

import sqlalchemy as sa

from sync.tables import DocId, metadata

Time = sa.DateTime(timezone=True)

numbers = sa.Table(
    "matter_numbers",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("district", sa.String(6), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("received_seq", sa.BigInteger, nullable=False),  # the first audit entry's seq
    sa.Column("received_at", Time, nullable=False),
    sa.Column("area", sa.String(64), nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.UniqueConstraint("db_name", "district", "year", "seq", name="uq_matter_numbers_seq"),
    sa.UniqueConstraint("db_name", "number", name="uq_matter_numbers_number"),
)

steps = sa.Table(
    "matter_steps",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("matter_id", DocId, nullable=False),
    sa.Column("area", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("at", Time, nullable=True),
    sa.Column("created_by", sa.String(255), nullable=True),
    sa.Column("body", sa.Text, nullable=False),  # the step's own fields, JSON
    sa.Index("ix_matter_steps_matter", "db_name", "matter_id"),
)

states = sa.Table(
    "matter_states",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("area", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("finished", sa.Boolean, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("accept_due", sa.Date, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("accepted_on", sa.Date, nullable=True),
    sa.Column("handle_due", sa.Date, nullable=True),
    sa.Column("extended_days", sa.Integer, nullable=False),
    sa.Column("replied_on", sa.Date, nullable=True),
    sa.Column("evaluation", sa.String(20), nullable=True),
    # migration 0012: for the figures (figures.py). The day it was finished (办结 / 终结), how many
    # times it was reopened, and a hash of its main party's phone number (重复信访)
    sa.Column("finished_on", sa.Date, nullable=True),
    sa.Column("reopened", sa.Integer, nullable=False, server_default="0"),
    sa.Column("party_key", sa.String(64), nullable=True),
    # migration 0014: the responsible unit's acceptance after 交办 (责任单位及时受理率)
    sa.Column("unit_due", sa.Date, nullable=True),
    sa.Column("unit_acted_on", sa.Date, nullable=True),
    sa.Index("ix_matter_states_stage", "db_name", "stage", "area"),
    sa.Index("ix_matter_states_party", "db_name", "party_key"),
)
