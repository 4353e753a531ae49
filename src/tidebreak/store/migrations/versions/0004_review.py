"""human review: task ranking and leases, reports, trusted flaggers, appeals, console accounts

Revision ID: 0004_review
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_review"
down_revision = "0001"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Server defaults let the columns be NOT NULL on databases that already hold tasks.
    with op.batch_alter_table("review_tasks", schema=None) as b:
        b.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="escalation"))
        b.add_column(sa.Column("severity", sa.Float(), nullable=False, server_default="2"))
        b.add_column(sa.Column("reach", sa.Float(), nullable=False, server_default="1"))
        b.add_column(sa.Column("confidence_gap", sa.Float(), nullable=False, server_default="1"))
        b.add_column(sa.Column("report_count", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("graphic", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("excluded_reviewer", sa.String(128), nullable=True))
        b.add_column(sa.Column("verdict", sa.String(16), nullable=True))
        b.add_column(sa.Column("clause", sa.String(128), nullable=True))
        b.add_column(sa.Column("outcome_decision_id", sa.String(64), nullable=True))

    op.create_table(
        "review_reports",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("event_id", sa.String(256), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("reporter", sa.String(256), nullable=True),
        sa.Column("trusted_org", sa.String(256), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_reports_content", "review_reports", ["tenant", "content_id"])

    op.create_table(
        "review_trusted_flaggers",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("reporter", sa.String(256), nullable=False),
        sa.Column("organisation", sa.String(256), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "reporter"),
    )

    op.create_table(
        "review_appeals",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("first_decider", sa.String(128), nullable=False),
        sa.Column("appellant", sa.String(256), nullable=False),
        sa.Column("appellant_role", sa.String(32), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_decision_id", sa.String(64), nullable=True),
        sa.Column("clause", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_appeals_content", "review_appeals",
                    ["tenant", "content_id", "status"])

    op.create_table(
        "review_queues",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sla_minutes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "name"),
    )

    op.create_table(
        "review_users",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blur_all", sa.Boolean(), nullable=False),
        sa.Column("grayscale", sa.Boolean(), nullable=False),
        sa.Column("graphic_streak", sa.Integer(), nullable=False),
        sa.Column("last_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "username"),
    )

    op.create_table(
        "review_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "review_secrets",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    for table in ("review_secrets", "review_sessions", "review_users", "review_queues",
                  "review_appeals", "review_trusted_flaggers", "review_reports"):
        op.drop_table(table)
    with op.batch_alter_table("review_tasks", schema=None) as b:
        for col in ("outcome_decision_id", "clause", "verdict", "excluded_reviewer", "due_at",
                    "graphic", "trusted", "report_count", "confidence_gap", "reach", "severity",
                    "kind"):
            b.drop_column(col)
