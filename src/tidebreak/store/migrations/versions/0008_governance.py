"""governance: policy versions and approvals, public-interest exceptions, elections,
severe-harassment cases

Revision ID: 0008_governance
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_governance"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite needs INTEGER PRIMARY KEY (not BIGINT) for its rowid autoincrement.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("base_version", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "policy_id", "version"),
    )
    op.create_index("ix_policy_versions_status", "policy_versions", ["tenant", "status"])
    op.create_table(
        "policy_approvals",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "policy_id", "version", "approver",
                            name="uq_policy_approvals_approver"),
    )
    op.create_table(
        "policy_exceptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
        sa.Column("granted_role", sa.String(32), nullable=False),
        sa.Column("actor_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_policy_exceptions_content", "policy_exceptions",
                    ["tenant", "content_id", "status"])
    op.create_table(
        "elections",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=False),
        sa.Column("registration_deadline", sa.Date(), nullable=True),
        sa.Column("early_voting_start", sa.Date(), nullable=True),
        sa.Column("election_day", sa.Date(), nullable=False),
        sa.Column("certification_date", sa.Date(), nullable=False),
        sa.Column("info_links", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id"),
    )
    op.create_table(
        "harassment_cases",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("reporter", sa.String(256), nullable=True),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_harassment_cases_status", "harassment_cases",
                    ["tenant", "status", "contact_due"])


def downgrade() -> None:
    op.drop_index("ix_harassment_cases_status", table_name="harassment_cases")
    op.drop_table("harassment_cases")
    op.drop_table("elections")
    op.drop_index("ix_policy_exceptions_content", table_name="policy_exceptions")
    op.drop_table("policy_exceptions")
    op.drop_table("policy_approvals")
    op.drop_index("ix_policy_versions_status", table_name="policy_versions")
    op.drop_table("policy_versions")
