"""who answers for a matter: areas.leader (each area's 包案领导, as written), and matter_states'
unit_due / unit_acted_on (the responsible unit's acceptance after 交办, for 责任单位及时受理率)

Revision ID: 0014_responsibility
Revises: 0013_file_openings

The two new matter_states columns are filled by `flask projections rebuild` after the upgrade (until
then a matter written before it counts in that figure only once a step is written to it).
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_responsibility"
down_revision = "0013_file_openings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader", sa.String(length=100), nullable=True))
    with op.batch_alter_table("matter_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("unit_acted_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("matter_states", schema=None) as batch_op:
        batch_op.drop_column("unit_acted_on")
        batch_op.drop_column("unit_due")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_column("leader")
