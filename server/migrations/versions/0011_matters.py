"""a matter's life (事项办理): matter_numbers (each dispute's registration number), matter_steps (the
matter_step documents), matter_states (the stage and deadlines derived from the steps)

Revision ID: 0011_matters
Revises: 0010_notice_replies

Filled by `flask projections rebuild` after the upgrade: the disputes already stored get their
numbers in the order the server first received them (the audit trail's first entry), then by id.
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_matters"
down_revision = "0010_notice_replies"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "matter_numbers",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("received_seq", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
        sa.UniqueConstraint("db_name", "district", "year", "seq", name="uq_matter_numbers_seq"),
        sa.UniqueConstraint("db_name", "number", name="uq_matter_numbers_number"),
    )
    op.create_table(
        "matter_steps",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("matter_id", DocId, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
    )
    with op.batch_alter_table("matter_steps", schema=None) as batch_op:
        batch_op.create_index("ix_matter_steps_matter", ["db_name", "matter_id"], unique=False)
    op.create_table(
        "matter_states",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("accept_due", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("handle_due", sa.Date(), nullable=True),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("replied_on", sa.Date(), nullable=True),
        sa.Column("evaluation", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
    )
    with op.batch_alter_table("matter_states", schema=None) as batch_op:
        batch_op.create_index("ix_matter_states_stage", ["db_name", "stage", "area"], unique=False)


def downgrade():
    op.drop_table("matter_states")
    op.drop_table("matter_steps")
    op.drop_table("matter_numbers")
