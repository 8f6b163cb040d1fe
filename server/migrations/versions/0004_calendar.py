"""screening calendar: state, report index, APScheduler job store

Revision ID: 0004_calendar
Revises: 0002

The job table has APScheduler 3.x's SQLAlchemyJobStore layout (id, next_run_time, job_state), so
the job store finds it and never creates it itself.
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_calendar"
down_revision = "0002"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "calendar_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "calendar_reports",
        sa.Column("db_name", sa.String(length=255), nullable=False),
        sa.Column("doc_id", DocId, nullable=False),
        sa.Column("round_id", DocId, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("db_name", "doc_id"),
    )
    with op.batch_alter_table("calendar_reports", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_reports_round", ["db_name", "round_id"], unique=False)
    op.create_table(
        "calendar_scheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calendar_scheduler_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_scheduler_jobs_next_run_time", ["next_run_time"], unique=False)


def downgrade():
    with op.batch_alter_table("calendar_scheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_scheduler_jobs_next_run_time")
    op.drop_table("calendar_scheduler_jobs")
    with op.batch_alter_table("calendar_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_reports_round")
    op.drop_table("calendar_reports")
    op.drop_table("calendar_state")
