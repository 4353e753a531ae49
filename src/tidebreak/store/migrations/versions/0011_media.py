"""media: PDQ image hashes in the known-content banks

Revision ID: 0011_media
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_media"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Image entries live beside text entries (same banks, categories, audit trail): a nullable
    # hash column, not a second table, so every bank query and the ledger treat them alike.
    with op.batch_alter_table("bank_entries") as batch:
        batch.add_column(sa.Column("pdq", sa.String(64), nullable=True))
        batch.add_column(sa.Column("pdq_quality", sa.Integer(), nullable=True))
    op.create_index("ix_bank_pdq", "bank_entries", ["tenant", "pdq"])


def downgrade() -> None:
    op.drop_index("ix_bank_pdq", table_name="bank_entries")
    with op.batch_alter_table("bank_entries") as batch:
        batch.drop_column("pdq_quality")
        batch.drop_column("pdq")
