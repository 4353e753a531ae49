"""Domain events: what a platform must act on or show, as typed records.

Every state change a platform needs to hear about (a decision, a content state, a strike, an
account penalty, a group stage, a review or appeal outcome) is written, in the transaction that
makes the change, as one `DomainEvent` in the outbox (`tidebreak.events.outbox.emit`). Sinks
(signed webhooks, NATS, platform adapters) choose the types they take and receive each event at
least once; `key` is the idempotency key a receiver deduplicates on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class DomainEventType(StrEnum):
    DECISION_MADE = "decision.made"
    CONTENT_STATE_CHANGED = "content.state_changed"
    FACTCHECK_LABEL_APPLIED = "factcheck.label_applied"
    STRIKE_ADDED = "strike.added"
    STRIKE_REVOKED = "strike.revoked"
    ACCOUNT_PENALTY_IMPOSED = "account.penalty_imposed"
    ACCOUNT_PENALTY_LIFTED = "account.penalty_lifted"
    GROUP_STAGE_CHANGED = "group.stage_changed"
    REVIEW_TASK_OPENED = "review.task_opened"
    REVIEW_TASK_DECIDED = "review.task_decided"
    APPEAL_DECIDED = "appeal.decided"
    REPORT_RECEIVED = "report.received"


EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in DomainEventType)


def parse_types(spec: str | list[str] | tuple[str, ...] | None) -> frozenset[str] | None:
    """A sink's filter: None or "*" for every type; otherwise exact types or `prefix.*`
    ("account.*"). Unknown names are refused, so a typo does not silently drop events."""
    if spec is None:
        return None
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec) if p.strip()]
    if not parts or "*" in parts:
        return None
    chosen: set[str] = set()
    for p in parts:
        if p.endswith(".*"):
            matched = {t for t in EVENT_TYPES if t.startswith(p[:-1])}
        else:
            matched = {p} & set(EVENT_TYPES)
        if not matched:
            raise ValueError(f"unknown event type {p!r}; known: {', '.join(EVENT_TYPES)}")
        chosen |= matched
    return frozenset(chosen)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    id: int  # outbox order: increases with each event
    key: str  # idempotency key: the same change never gets two keys
    type: str  # a DomainEventType value
    tenant: str
    subject: str  # what it is about: a content id, "account:<id>", "group:<id>", ...
    occurred_at: datetime
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "type": self.type, "tenant": self.tenant,
                "subject": self.subject, "occurred_at": self.occurred_at.isoformat(),
                "data": self.payload}
