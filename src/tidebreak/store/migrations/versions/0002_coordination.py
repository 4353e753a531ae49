"""coordination: detected coordinated groups as review cases

Revision ID: 0002_coordination
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_coordination"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coordination_cases",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detector_version", sa.String(32), nullable=False),
        sa.Column("review_task_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id"),
    )
    op.create_index("ix_coordination_cases_status", "coordination_cases",
                    ["tenant", "status", "score"])


def downgrade() -> None:
    op.drop_index("ix_coordination_cases_status", table_name="coordination_cases")
    op.drop_table("coordination_cases")
