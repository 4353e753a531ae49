"""Writing domain events: `emit` adds the event, and one delivery per sink subscribed to its
type, to the caller's transaction, so the change and the news of it commit (or roll back)
together. Sinks subscribe by registering in `event_sinks` (the dispatcher does, at start); a
sink only receives events emitted after it registered, unless replayed (`replay_since`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tidebreak.events.types import EVENT_TYPES, DomainEvent
from tidebreak.store.schema import DomainEventRow, EventDeliveryRow, EventSinkRow
from tidebreak.store.txcache import tx_cache


def _subscriptions(session: Session) -> list[tuple[str, frozenset[str] | None]]:
    """The active sinks and their filters, read once per transaction."""
    memo = tx_cache(session, "event_sinks")
    if "subs" not in memo:
        rows = session.execute(select(EventSinkRow.name, EventSinkRow.types)
                               .where(EventSinkRow.active.is_(True))).all()
        memo["subs"] = [(n, None if t is None else frozenset(t)) for n, t in rows]
    return memo["subs"]  # type: ignore[no-any-return]


def emit(session: Session, *, tenant: str, type: str, key: str, subject: str,
         payload: dict[str, Any], at: datetime) -> DomainEventRow | None:
    """Queue one domain event in the caller's transaction. `key` must name the change itself
    (e.g. "penalty:42:imposed"), so emitting it twice in one transaction is a no-op and a
    receiver can deduplicate on it. Returns None when the key was already emitted."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {type!r}")
    seen: set[tuple[str, str]] = tx_cache(session, "event_keys").setdefault("keys", set())
    if (tenant, key) in seen:
        return None
    seen.add((tenant, key))
    row = DomainEventRow(tenant=tenant, key=key, type=type, subject=subject, payload=payload,
                         created_at=at)
    session.add(row)
    subs = [name for name, types in _subscriptions(session) if types is None or type in types]
    if subs:
        tx_cache(session, "event_deliveries").setdefault("pending", []).append((row, subs))
    return row


@event.listens_for(Session, "before_commit")
def _queue_deliveries(session: Session) -> None:
    """Deliveries point at their event's id, known once the events are flushed: one flush at
    commit instead of one per event."""
    pending = tx_cache(session, "event_deliveries").pop("pending", None)
    if not pending:
        return
    session.flush()
    session.add_all([EventDeliveryRow(sink=name, event_id=row.id, tenant=row.tenant,
                                      status="pending", attempts=0,
                                      next_attempt_at=row.created_at)
                     for row, subs in pending for name in subs])


def to_event(row: DomainEventRow) -> DomainEvent:
    return DomainEvent(id=row.id, key=row.key, type=row.type, tenant=row.tenant,
                       subject=row.subject, occurred_at=row.created_at, payload=row.payload)
