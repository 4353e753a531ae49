"""domain events: one outbox for every change a platform acts on, deliveries per sink

The decision-only webhook outbox is folded in: its undelivered rows become `decision.made`
events queued for the sink named "webhook" (the one TIDEBREAK_WEBHOOK_URL configures), so an
upgrade loses nothing that was waiting to be sent.

Revision ID: 0012_domain_events
Revises: 0001
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012_domain_events"
down_revision = "0001"
branch_labels = None
depends_on = ("0006_scale",)

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "key", name="uq_domain_event_key"),
    )
    op.create_table(
        "event_sinks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("types", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("sink", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_event_delivery_due", "event_deliveries",
                    ["sink", "status", "next_attempt_at"])
    _fold_in_webhook_outbox()
    op.drop_index("ix_webhook_due", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")


def _fold_in_webhook_outbox() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT tenant, decision_id, content_id, body, created_at, next_attempt_at "
        "FROM webhook_outbox WHERE status != 'delivered' ORDER BY id")).all()
    if not rows:
        return
    events = sa.table("domain_events", sa.column("id"), sa.column("tenant"), sa.column("key"),
                      sa.column("type"), sa.column("subject"), sa.column("payload", sa.JSON),
                      sa.column("created_at"))
    deliveries = sa.table("event_deliveries", sa.column("sink"), sa.column("event_id"),
                          sa.column("tenant"), sa.column("status"), sa.column("attempts"),
                          sa.column("next_attempt_at"))
    for tenant, decision_id, content_id, body, created_at, due in rows:
        payload = json.loads(body)
        payload.pop("type", None)
        payload.pop("tenant", None)
        event_id = conn.execute(events.insert().values(
            tenant=tenant, key=f"decision:{decision_id}", type="decision.made",
            subject=content_id, payload=payload, created_at=created_at
        ).returning(events.c.id)).scalar_one()
        conn.execute(deliveries.insert().values(
            sink="webhook", event_id=event_id, tenant=tenant,
            status="pending", attempts=0, next_attempt_at=due))


def downgrade() -> None:
    # back to 0006's decision outbox (empty: what was queued stays in domain_events until drop)
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
    op.drop_index("ix_event_delivery_due", table_name="event_deliveries")
    op.drop_table("event_deliveries")
    op.drop_table("event_sinks")
    op.drop_table("domain_events")
