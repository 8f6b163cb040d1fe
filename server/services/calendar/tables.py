"""The calendar's own tables (migration 0004_calendar).

    calendar_state            small key/value state: how far the tick has generated rounds (`state`)
    calendar_reports          one row per screening_report of the domain database: which round, the
                              device time and when the server first received it (from the audit
                              trail), so status needs no scan over every document (a read model,
                              kept inside each write's transaction: `report_index`)
    calendar_rounds           (migration 0005_ledger_index) one row per screening_round document: its
                              dates, its report that counts and its status once due (the rules of
                              `status.settled_status`), the review of that report; the ledger pages
                              filter, count and page rounds in SQL on it (`status.status_at_sql`)
    calendar_scheduler_jobs   APScheduler's SQLAlchemyJobStore table, in APScheduler 3.x's own
                              layout (created here so schema changes stay in migrations and
                              concurrent starters never race to CREATE it)
"""
from __future__ import annotations

import sqlalchemy as sa

from sync.tables import DocId, metadata

JOBS_TABLE = "calendar_scheduler_jobs"

state = sa.Table(
    "calendar_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

reports = sa.Table(
    "calendar_reports",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("doc_id", DocId, primary_key=True),
    sa.Column("round_id", DocId, nullable=False),
    sa.Column("area", sa.String(64), nullable=False),
    # The earliest device time seen for the report (submitted_at, else created_at); None if absent.
    sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
    # When the server first accepted the report (audit trail), in UTC.
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    # The report's review state (`server.services.reviews`): its latest review's status, or
    # "resubmitted" once corrected after being sent back; None if never reviewed.
    sa.Column("review", sa.String(20), nullable=True),
    sa.Index("ix_calendar_reports_round", "db_name", "round_id"),
)

rounds = sa.Table(
    "calendar_rounds",
    metadata,
    sa.Column("db_name", sa.String(255), primary_key=True),
    sa.Column("round_id", DocId, primary_key=True),
    sa.Column("area", sa.String(64), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),  # the due instant, UTC
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),  # the document's, UTC
    sa.Column("live", sa.Boolean, nullable=False),  # False: the round document was deleted (missing)
    # status once due: on_time | late | overdue | missed | missing (`status.settled_status`)
    sa.Column("settled", sa.String(10), nullable=False),
    sa.Column("report_id", DocId, nullable=True),  # the report that counts (the earliest)
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),  # the time that counts, UTC
    sa.Column("time_used", sa.String(64), nullable=True),
    sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("review", sa.String(20), nullable=True),  # review status of that report
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("ix_calendar_rounds_area_due", "db_name", "area", "due_date"),
    sa.Index("ix_calendar_rounds_start", "db_name", "period_start", "area", "level"),
)

jobs = sa.Table(
    JOBS_TABLE,
    metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
