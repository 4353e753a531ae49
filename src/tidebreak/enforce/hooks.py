"""Extension point of the enforce stage.

The pipeline applies a decision to the content itself (enforce.content), strikes and review tasks,
then calls each registered enforcer with the same transaction, so whatever an enforcer changes
(account penalties, group health, statements of reasons, webhooks to send) commits or rolls back
with the decision and its ledger entry. An enforcer that changes state writes its own ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from tidebreak.model import Decision, Event
from tidebreak.store.schema import ContentRow

if TYPE_CHECKING:
    from tidebreak.policy import Policy


@dataclass(frozen=True)
class Enforcement:
    session: Session
    tenant: str
    decision: Decision
    event: Event
    content: ContentRow  # already updated by this decision
    newly_removed: bool
    restored: bool  # a human decision lifted an earlier removal
    now: datetime
    # The active policy that decided (its optional penalties/groups/breaker sections configure
    # the enforcers). None only for callers that build an Enforcement by hand.
    policy: Policy | None = None


class Enforcer(Protocol):
    name: str

    def __call__(self, e: Enforcement) -> None: ...
