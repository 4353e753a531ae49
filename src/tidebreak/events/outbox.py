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
from tidebreak.ledger import chain
from tidebreak.store.schema import DomainEventRow, EventDeliveryRow, EventSinkRow
from tidebreak.store.txcache import tx_cache


def _subscriptions(session: Session) -> list[tuple[str, frozenset[str] | None]]:
    """The active sinks and their filters, read once per transaction."""
    memo = tx_cache(session, "event_sinks")
    if "subs" not in memo:
        # sinks are registered in transactions of their own (tidebreak.events.dispatch), so
        # nothing this transaction holds needs flushing first: its rows stay together for the
        # one flush at commit
        with session.no_autoflush:
            rows = session.execute(select(EventSinkRow.name, EventSinkRow.types)
                                   .where(EventSinkRow.active.is_(True))).all()
        memo["subs"] = [(n, None if t is None else frozenset(t)) for n, t in rows]
    return memo["subs"]  # type: ignore[no-any-return]


def emit(session: Session, *, tenant: str, type: str, key: str, subject: str,
         payload: dict[str, Any], at: datetime) -> bool:
    """Queue one domain event in the caller's transaction. `key` must name the change itself
    (e.g. "penalty:42:imposed"), so emitting it twice in one transaction is a no-op and a
    receiver can deduplicate on it. Returns False when the key was already emitted."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {type!r}")
    seen: set[tuple[str, str]] = tx_cache(session, "event_keys").setdefault("keys", set())
    if (tenant, key) in seen:
        return False
    seen.add((tenant, key))
    subs = [name for name, types in _subscriptions(session) if types is None or type in types]
    tx_cache(session, "domain_events").setdefault("pending", []).append(
        ({"tenant": tenant, "key": key, "type": type, "subject": subject, "payload": payload,
          "created_at": at}, subs))
    return True


@event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    """The transaction's events, written together at commit (append-only rows nobody reads back
    in the transaction: one executemany, no ORM objects), and one delivery per subscribed sink,
    pointing at its event's id."""
    pending = tx_cache(session, "domain_events").pop("pending", None)
    if not pending:
        return
    conn = session.connection()
    rows = [row for row, _ in pending]  # ids follow the order the events were emitted in
    if not any(subs for _, subs in pending):
        conn.execute(_INSERT, rows)
        return
    ids = conn.execute(_INSERT_RETURNING_ID, rows).scalars().all()
    conn.execute(_DELIVERIES, [
        {"sink": name, "event_id": event_id, "tenant": row["tenant"], "status": "pending",
         "attempts": 0, "next_attempt_at": row["created_at"]}
        for event_id, (row, subs) in zip(ids, pending) for name in subs])


# also before the ledger head is locked, when the transaction appends to the ledger
chain.BEFORE_LINK.append(_write_events)
_INSERT = DomainEventRow.__table__.insert()
_INSERT_RETURNING_ID = _INSERT.returning(DomainEventRow.__table__.c.id,
                                         sort_by_parameter_order=True)
_DELIVERIES = EventDeliveryRow.__table__.insert()


def to_event(row: DomainEventRow) -> DomainEvent:
    return DomainEvent(id=row.id, key=row.key, type=row.type, tenant=row.tenant,
                       subject=row.subject, occurred_at=row.created_at, payload=row.payload)
