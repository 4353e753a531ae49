"""scale-out: webhook outbox, event failures, backfill runs

Revision ID: 0006_scale
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_scale"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite needs INTEGER PRIMARY KEY for its rowid autoincrement (see store.schema.BigIntPK).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_outbox",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(256), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tenant", "decision_id", "url", name="uq_webhook_decision_url"),
    )
    op.create_index("ix_webhook_due", "webhook_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "event_failures",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(256), primary_key=True),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "backfill_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.String(256), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("backfill_runs")
    op.drop_table("event_failures")
    op.drop_index("ix_webhook_due", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
