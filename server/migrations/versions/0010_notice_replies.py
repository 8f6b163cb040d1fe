"""the supervision loop (督办): ledger_records also indexes notice_reply documents, with a link from a
reply to its notice and from a notice to its dispute (link_id), a notice's kind and priority, and a
reply's replied_at

Revision ID: 0010_notice_replies
Revises: 0009_uploads

The notices' rows are set back to seq 0, so that `flask projections rebuild` (run after an upgrade)
fills their new columns: a row is only ever replaced by a newer revision's.
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_notice_replies"
down_revision = "0009_uploads"
branch_labels = None
depends_on = None

DocId = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade():
    with op.batch_alter_table("ledger_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_id", DocId, nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_ledger_records_link", ["db_name", "type", "link_id"], unique=False)
    op.execute("UPDATE ledger_records SET seq = 0 WHERE type = 'supervision_notice'")


def downgrade():
    op.execute("DELETE FROM ledger_records WHERE type = 'notice_reply'")
    with op.batch_alter_table("ledger_records", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_records_link")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("priority")
        batch_op.drop_column("kind")
        batch_op.drop_column("link_id")
