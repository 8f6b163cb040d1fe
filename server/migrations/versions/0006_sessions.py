"""sessions: auth_sessions (one row per AuthSession cookie login, so logging out ends it on the
server); api_tokens.family and api_tokens.used_at (refresh tokens rotate, and a reused one revokes
every token of its login)

Revision ID: 0006_sessions
Revises: 0005_ledger_index

Cookies signed before this migration carry no session id and are no longer accepted: their users
log in once more. Tokens issued before it have no family; a refresh gives the old token and its
successors a new one.
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_sessions"
down_revision = "0005_ledger_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_hash"),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_account_id"), ["account_id"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_tokens_family"), ["family"], unique=False)


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_family"))
        batch_op.drop_column("used_at")
        batch_op.drop_column("family")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sessions_account_id"))
    op.drop_table("auth_sessions")
