"""accounts, groups, reach: penalties, group health and stages, circuit breakers, engagement

Revision ID: 0005_reach
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_reach"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite needs INTEGER PRIMARY KEY for its rowid autoincrement (see store.schema.BigIntPK).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_penalties",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(256), nullable=False),
        sa.Column("penalty", sa.String(16), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("reach", sa.Float(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("cause_content_id", sa.String(256), nullable=True),
        sa.Column("cause_group_id", sa.String(256), nullable=True),
        sa.Column("strike_ids", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_penalties_actor", "account_penalties", ["tenant", "actor_id"])
    op.create_table(
        "group_posts",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("group_id", sa.String(256), nullable=False),
        sa.Column("author_id", sa.String(256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("violating", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("approved_by", sa.String(256), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "content_id"),
    )
    op.create_index("ix_group_posts_group", "group_posts", ["tenant", "group_id", "created_at"])
    op.create_table(
        "group_roles",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(256), nullable=False),
        sa.Column("actor_id", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "group_id", "actor_id"),
    )
    op.create_index("ix_group_roles_actor", "group_roles", ["tenant", "actor_id"])
    op.create_table(
        "group_standing",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(256), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("reach", sa.Float(), nullable=False),
        sa.Column("recommendable", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remove_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("determination_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "group_id"),
    )
    op.create_table(
        "group_determinations",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(256), nullable=False),
        sa.Column("from_stage", sa.String(32), nullable=False),
        sa.Column("to_stage", sa.String(32), nullable=False),
        sa.Column("health", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_group_determinations", "group_determinations",
                    ["tenant", "group_id", "created_at"])
    op.create_table(
        "breakers",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("cap", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("tripped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_breakers_content", "breakers", ["tenant", "content_id"])
    op.create_table(
        "engagement_samples",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_engagement_content", "engagement_samples", ["tenant", "content_id", "at"])


def downgrade() -> None:
    for table in ("engagement_samples", "breakers", "group_determinations", "group_standing",
                  "group_roles", "group_posts", "account_penalties"):
        op.drop_table(table)
