"""The domain events a decision on content gives: always `decision.made`; `content.state_changed`
when what the platform shows changed; `factcheck.label_applied` when a fact-check label was
newly put on the item. Emitted in the decision's transaction by the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.model import ActionType, Decision, Event
from tidebreak.store.schema import ContentRow


def content_state(row: ContentRow) -> dict[str, Any]:
    """What a platform shows for an item: the fields it must mirror."""
    return {"state": row.state, "reach": row.reach, "labels": list(row.labels or []),
            "warning": row.warning}


def emit_decision_events(s: Session, tenant: str, decision: Decision, ev: Event, row: ContentRow,
                         before: dict[str, Any], now: datetime, *,
                         as_dict: dict[str, Any] | None = None) -> None:
    """`as_dict`: `decision.to_dict()` when the caller has it already."""
    after = content_state(row)
    emit(s, tenant=tenant, type=DomainEventType.DECISION_MADE, key=f"decision:{decision.id}",
         subject=row.id, at=now,
         payload={"content_id": row.id, "event_id": ev.event_id, "event_type": ev.type.value,
                  "author": row.author_id, "group": row.group_id, "content_state": after,
                  "decided_by": decision.decided_by,
                  "decision": decision.to_dict() if as_dict is None else as_dict})
    if after != before:
        emit(s, tenant=tenant, type=DomainEventType.CONTENT_STATE_CHANGED,
             key=f"content-state:{decision.id}", subject=row.id, at=now,
             payload={"content_id": row.id, "author": row.author_id, "group": row.group_id,
                      "from": before, "to": after, "decision_id": decision.id})
    fact_labels = [a.label for a in decision.actions
                   if a.type == ActionType.LABEL and a.restricts and a.label
                   and a.label not in before["labels"]]
    if fact_labels:
        claims = [dict(sig.evidence) for sig in decision.signals if sig.detector == "factcheck"]
        emit(s, tenant=tenant, type=DomainEventType.FACTCHECK_LABEL_APPLIED,
             key=f"factcheck-label:{decision.id}", subject=row.id, at=now,
             payload={"content_id": row.id, "author": row.author_id, "labels": fact_labels,
                      "decision_id": decision.id, "fact_checks": claims})
