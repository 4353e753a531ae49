"""Review tasks. Many escalations of one item merge into one open task (highest priority wins)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.store.schema import ReviewTaskRow

DEFAULT_QUEUE = "general"


def open_task(session: Session, *, tenant: str, content_id: str, decision_id: str, queue: str | None,
              priority: float, reason: str, now: datetime) -> tuple[ReviewTaskRow, bool]:
    """Create a task, or raise the priority of the open one for the same item and queue.
    Returns (task, created)."""
    queue = queue or DEFAULT_QUEUE
    existing = session.execute(
        select(ReviewTaskRow).where(
            ReviewTaskRow.tenant == tenant, ReviewTaskRow.content_id == content_id,
            ReviewTaskRow.queue == queue, ReviewTaskRow.status.in_(("open", "claimed")))
    ).scalar_one_or_none()
    if existing is not None:
        existing.priority = max(existing.priority, priority)
        existing.decision_id = decision_id
        return existing, False
    task = ReviewTaskRow(tenant=tenant, content_id=content_id, decision_id=decision_id, queue=queue,
                         priority=priority, status="open", reason=reason, created_at=now)
    session.add(task)
    return task, True


def close_tasks(session: Session, *, tenant: str, content_id: str, by: str, now: datetime) -> int:
    """Close every open task on an item once a person has decided it."""
    rows = session.execute(
        select(ReviewTaskRow).where(ReviewTaskRow.tenant == tenant,
                                    ReviewTaskRow.content_id == content_id,
                                    ReviewTaskRow.status.in_(("open", "claimed")))
    ).scalars().all()
    for t in rows:
        t.status, t.closed_at, t.claimed_by = "done", now, t.claimed_by or by
    return len(rows)
