"""the supervision room's collective matters: ledger_records gains people (a dispute's
people_involved), so that the collective matters (PAICHA_MATTER_COLLECTIVE_PEOPLE or more people) are
counted in SQL

Revision ID: 0016_collective_matters
Revises: 0015_search

Filled by `flask projections rebuild` after the upgrade (every dispute's row is written again).
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_collective_matters"
down_revision = "0015_search"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_records") as batch:
        batch.add_column(sa.Column("people", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("ledger_records") as batch:
        batch.drop_column("people")
