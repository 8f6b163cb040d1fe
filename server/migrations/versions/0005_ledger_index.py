"""ledger index: calendar_rounds (each round's settled status), review status on calendar_reports,
ledger_records (the facts of each dispute and supervision notice)

Revision ID: 0005_ledger_index
Revises: 0003_visits, 0004_calendar

Also merges the two heads. The report index's checkpoint is reset so the next index run (the tick, or
the first ledger page) reads the changes feed from the start and fills calendar_rounds; report rows
already indexed keep their receive times. ledger_records is filled from the store on first use
(server/ledger/index.py), then kept by a write hook.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_ledger_index"
down_revision = ("0003_visits", "0004_calendar")
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    with op.batch_alter_table("calendar_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review", sa.String(length=20), nullable=True))
    op.create_table(
        "calendar_rounds",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("round_id", DocId, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("settled", sa.String(length=10), nullable=False),
        sa.Column("report_id", DocId, nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_used", sa.String(length=64), nullable=True),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review", sa.String(length=20), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("db_name", "round_id"),
    )
    with op.batch_alter_table("calendar_rounds", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_rounds_area_due", ["db_name", "area", "due_date"], unique=False)
        batch_op.create_index("ix_calendar_rounds_start", ["db_name", "period_start", "area", "level"],
                              unique=False)
    op.create_table(
        "ledger_records",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("risk_level", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("deadline", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accept_us", sa.BigInteger(), nullable=True),
        sa.Column("resolve_us", sa.BigInteger(), nullable=True),
        sa.Column("one_time_resolution", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sa.String(length=20), nullable=True),
        sa.Column("round_id", DocId, nullable=True),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
    )
    with op.batch_alter_table("ledger_records", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_records_area", ["db_name", "type", "area"], unique=False)
        batch_op.create_index("ix_ledger_records_open", ["db_name", "type", "status", "risk_level", "area"],
                              unique=False)
        batch_op.create_index("ix_ledger_records_created", ["db_name", "type", "created_at"], unique=False)
        batch_op.create_index("ix_ledger_records_resolved", ["db_name", "type", "resolved_at"], unique=False)
    op.execute("DELETE FROM calendar_state WHERE key LIKE 'reports_seq:%'")


def downgrade():
    with op.batch_alter_table("ledger_records", schema=None) as batch_op:
        for name in ("ix_ledger_records_resolved", "ix_ledger_records_created", "ix_ledger_records_open",
                     "ix_ledger_records_area"):
            batch_op.drop_index(name)
    op.drop_table("ledger_records")
    with op.batch_alter_table("calendar_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_rounds_start")
        batch_op.drop_index("ix_calendar_rounds_area_due")
    op.drop_table("calendar_rounds")
    with op.batch_alter_table("calendar_reports", schema=None) as batch_op:
        batch_op.drop_column("review")
