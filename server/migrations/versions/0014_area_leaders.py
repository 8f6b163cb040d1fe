"""areas.leader: each area's 包案领导 (the leader answerable for its matters), as written

Revision ID: 0014_area_leaders
Revises: 0013_file_openings
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_area_leaders"
down_revision = "0013_file_openings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_column("leader")
