"""coaction: co-action events recorded from live content, read by the coordination sweep

Revision ID: 0010_coaction
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_coaction"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coordination_coactions",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(300), nullable=False),
        sa.Column("account_id", sa.String(256), nullable=False),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(2048), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "event_id"),
    )
    op.create_index("ix_coordination_coactions_ts", "coordination_coactions", ["tenant", "ts"])


def downgrade() -> None:
    op.drop_index("ix_coordination_coactions_ts", table_name="coordination_coactions")
    op.drop_table("coordination_coactions")
