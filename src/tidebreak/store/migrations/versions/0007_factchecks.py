"""fact-checks: imported ClaimReview records and retroactive-matching runs

Revision ID: 0007_factchecks
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_factchecks"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factchecks",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(256), primary_key=True),
        sa.Column("rating", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("import_id", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backfill_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_factchecks_new", "factchecks", ["tenant", "backfill_id"])
    op.create_table(
        "factcheck_backfills",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("claim_ids", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.String(256), nullable=True),
        sa.Column("scanned", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("actioned", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_factcheck_backfills_status", "factcheck_backfills", ["tenant", "status"])


def downgrade() -> None:
    op.drop_index("ix_factcheck_backfills_status", table_name="factcheck_backfills")
    op.drop_table("factcheck_backfills")
    op.drop_index("ix_factchecks_new", table_name="factchecks")
    op.drop_table("factchecks")
