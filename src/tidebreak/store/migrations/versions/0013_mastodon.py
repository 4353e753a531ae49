"""mastodon: statuses received from the instance, reports filed or received, actions taken

Revision ID: 0013_mastodon
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_mastodon"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mastodon_statuses",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("content_id", sa.String(256), primary_key=True),
        sa.Column("status_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mastodon_reports",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("content_ids", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mastodon_reports_account", "mastodon_reports", ["tenant", "account_id"])
    op.create_table(
        "mastodon_actions",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("penalty_id", sa.BigInteger(), nullable=True),
        sa.Column("report_id", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mastodon_actions_account", "mastodon_actions",
                    ["tenant", "account_id", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_mastodon_actions_account", table_name="mastodon_actions")
    op.drop_table("mastodon_actions")
    op.drop_index("ix_mastodon_reports_account", table_name="mastodon_reports")
    op.drop_table("mastodon_reports")
    op.drop_table("mastodon_statuses")
