"""the figures of the matters (及时受理率, 按期办结率, 一次性化解率, 重复信访率, ...): matter_states gains
finished_on (the day of the 办结 / 终结), reopened (counted reopens) and party_key (a hash of the main
party's phone number, indexed)

Revision ID: 0012_matter_figures
Revises: 0011_matters

Filled by `flask projections rebuild` after the upgrade (every dispute's state is derived again,
now also from the dispute's own accepted_at / resolved_at).
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_matter_figures"
down_revision = "0011_matters"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("matter_states") as batch:
        batch.add_column(sa.Column("finished_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reopened", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("party_key", sa.String(length=64), nullable=True))
    op.create_index("ix_matter_states_party", "matter_states", ["db_name", "party_key"])


def downgrade():
    op.drop_index("ix_matter_states_party", table_name="matter_states")
    with op.batch_alter_table("matter_states") as batch:
        batch.drop_column("party_key")
        batch.drop_column("reopened")
        batch.drop_column("finished_on")
