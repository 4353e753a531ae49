"""accountability: statements of reasons, advertiser authorisations, ad adjacency ledger

Revision ID: 0003_accountability
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_accountability"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statements_of_reasons",
        sa.Column("puid", sa.String(length=500), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("puid"),
    )
    op.create_index("ix_sor_decision", "statements_of_reasons", ["tenant", "decision_id"])
    op.create_index("ix_sor_created", "statements_of_reasons", ["tenant", "created_at"])
    op.create_index("ix_sor_subject", "statements_of_reasons",
                    ["tenant", "subject_type", "subject_id"])
    op.create_table(
        "advertiser_authorisations",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("advertiser", sa.String(length=256), nullable=False),
        sa.Column("paid_for_by", sa.String(length=256), nullable=False),
        sa.Column("authorised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authorised_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "advertiser"),
    )
    op.create_table(
        "ad_impressions",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("impression_id", sa.String(length=256), nullable=False),
        sa.Column("ad_id", sa.String(length=256), nullable=False),
        sa.Column("advertiser", sa.String(length=256), nullable=False),
        sa.Column("content_id", sa.String(length=256), nullable=False),
        sa.Column("surface", sa.String(length=64), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "impression_id"),
    )
    op.create_index("ix_impressions_advertiser", "ad_impressions",
                    ["tenant", "advertiser", "served_at"])
    op.create_index("ix_impressions_content", "ad_impressions", ["tenant", "content_id"])


def downgrade() -> None:
    op.drop_index("ix_impressions_content", table_name="ad_impressions")
    op.drop_index("ix_impressions_advertiser", table_name="ad_impressions")
    op.drop_table("ad_impressions")
    op.drop_table("advertiser_authorisations")
    op.drop_index("ix_sor_subject", table_name="statements_of_reasons")
    op.drop_index("ix_sor_created", table_name="statements_of_reasons")
    op.drop_index("ix_sor_decision", table_name="statements_of_reasons")
    op.drop_table("statements_of_reasons")
