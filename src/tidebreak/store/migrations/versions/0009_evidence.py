"""evidence: deferred explanations (occlusion spans) beside their decisions

Revision ID: 0009_evidence
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_evidence"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_evidence",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("detector", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("detector_version", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "decision_id", "detector", "category"),
    )


def downgrade() -> None:
    op.drop_table("decision_evidence")
