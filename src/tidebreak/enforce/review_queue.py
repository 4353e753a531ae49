"""Review tasks and queues: the routing side of enforcement (a suspicion opens a task; the
reviewer workflows in tidebreak.review work them).

Many escalations of one item merge into one open task per queue (the higher priority wins); user
reports merge into whatever task is open on the item (see review.reports). Every task carries its
ranking inputs (severity, predicted reach, confidence gap) and its service-level due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.enforce import review_priority as prio
from tidebreak.store.schema import ContentRow, ReviewQueueRow, ReviewTaskRow
from tidebreak.store.txcache import added, is_new, tx_cache

DEFAULT_QUEUE = "general"
REPORTS_QUEUE = "reports"
APPEALS_QUEUE = "appeals"
ESCALATIONS_QUEUE = "escalations"
OPEN_STATES = ("open", "claimed")


def sla_overrides(session: Session, tenant: str) -> dict[str, int]:
    memo = tx_cache(session, "sla_overrides")
    if tenant not in memo:
        # queues are configured in transactions of their own (`tidebreak review sla set`): no
        # need to flush what this transaction holds before reading them
        with session.no_autoflush:
            rows = session.execute(select(ReviewQueueRow.name, ReviewQueueRow.sla_minutes)
                                   .where(ReviewQueueRow.tenant == tenant)).all()
        memo[tenant] = {name: minutes for name, minutes in rows}
    return dict(memo[tenant])


def rescore(task: ReviewTaskRow, row: ContentRow | None, now: datetime) -> None:
    """Recompute the task's priority from its stored inputs and the item's current reach."""
    if row is not None:
        velocity = 0.0
        created = prio.aware(row.created_at)
        if created is not None and row.shares:
            velocity = row.shares / max((now - created).total_seconds() / 3600, 1 / 60)
        task.reach = prio.predicted_reach(row.views or 0, velocity, task.report_count or 0)
    task.priority = prio.priority(task.severity, task.reach, task.confidence_gap, task.trusted)


def open_task(session: Session, *, tenant: str, content_id: str, decision_id: str | None,
              queue: str | None, priority: float, reason: str, now: datetime,
              kind: str = "escalation", severity: str = "medium",
              score: float | None = None) -> tuple[ReviewTaskRow, bool]:
    """Create a task, or merge into the open one for the same item and queue. Returns
    (task, created). `priority` is the policy's hint; the stored priority is computed (see
    tidebreak.enforce.review_priority) and never lower than an earlier escalation's."""
    queue = queue or DEFAULT_QUEUE
    opened_here = tx_cache(session, "tasks_by_content")
    if is_new(session, "content", (tenant, content_id)):
        # content created in this transaction has only the tasks this transaction opened
        existing = next((t for t in opened_here.get((tenant, content_id, queue), ())
                         if t.status in OPEN_STATES), None)
    else:
        existing = session.execute(
            select(ReviewTaskRow).where(
                ReviewTaskRow.tenant == tenant, ReviewTaskRow.content_id == content_id,
                ReviewTaskRow.queue == queue, ReviewTaskRow.status.in_(OPEN_STATES))
        ).scalar_one_or_none()
    row = added(session, "content", (tenant, content_id)) or session.get(ContentRow,
                                                                           (tenant, content_id))
    sev, gap = prio.severity_weight(severity), prio.confidence_gap(score)
    if existing is not None:
        existing.severity = max(existing.severity, sev)
        existing.confidence_gap = max(existing.confidence_gap, gap)
        if decision_id:
            existing.decision_id = decision_id
            _opened_by(session, decision_id).append(existing)
        rescore(existing, row, now)
        return existing, False
    task = ReviewTaskRow(tenant=tenant, content_id=content_id, decision_id=decision_id, queue=queue,
                         priority=0.0, status="open", reason=reason, created_at=now, kind=kind,
                         severity=sev, reach=1.0, confidence_gap=gap, report_count=0,
                         trusted=False, graphic=False,
                         due_at=prio.due_at(now, queue, sla_overrides(session, tenant)))
    rescore(task, row, now)
    session.add(task)
    opened_here.setdefault((tenant, content_id, queue), []).append(task)
    emit(session, tenant=tenant, type=DomainEventType.REVIEW_TASK_OPENED,
         key=(f"review:{decision_id}:{queue}" if decision_id
              else f"review:{content_id}:{queue}:{now.isoformat()}"),
         subject=content_id, at=now,
         payload={"content_id": content_id, "queue": queue, "kind": kind, "reason": reason,
                  "decision_id": decision_id, "due_at": task.due_at.isoformat()
                  if task.due_at else None})
    if decision_id:
        _opened_by(session, decision_id).append(task)
    return task, True


def _opened_by(session: Session, decision_id: str) -> list[ReviewTaskRow]:
    return tx_cache(session, "tasks_by_decision").setdefault(decision_id, [])  # type: ignore[no-any-return]


def tasks_of_decision(session: Session, tenant: str, decision_id: str) -> list[ReviewTaskRow]:
    """The open tasks a decision opened or joined. A decision's id is new, so only its own
    transaction can have given a task that id: no query needed."""
    seen: dict[int, ReviewTaskRow] = {}
    for t in _opened_by(session, decision_id):
        if t.tenant == tenant and t.decision_id == decision_id and t.status in OPEN_STATES:
            seen[id(t)] = t
    return list(seen.values())


def close_tasks(session: Session, *, tenant: str, content_id: str, by: str, now: datetime) -> int:
    """Close every open task on an item once a person has decided it."""
    rows = session.execute(
        select(ReviewTaskRow).where(ReviewTaskRow.tenant == tenant,
                                    ReviewTaskRow.content_id == content_id,
                                    ReviewTaskRow.status.in_(OPEN_STATES))
    ).scalars().all()
    for t in rows:
        t.status, t.closed_at, t.claimed_by = "done", now, t.claimed_by or by
        t.lease_expires = None
    return len(rows)


def waiting(tenant: str, now: datetime):  # type: ignore[no-untyped-def]
    """Tasks a reviewer may claim: open, or claimed under a lease that has run out."""
    return and_(ReviewTaskRow.tenant == tenant, or_(
        ReviewTaskRow.status == "open",
        and_(ReviewTaskRow.status == "claimed", ReviewTaskRow.lease_expires < now)))


@dataclass(frozen=True)
class QueueSummary:
    name: str
    waiting: int
    claimed: int
    overdue: int
    sla_minutes: int
    sla: prio.SlaStatus

    def to_dict(self) -> dict[str, object]:
        return {"queue": self.name, "waiting": self.waiting, "claimed": self.claimed,
                "overdue": self.overdue, "sla_minutes": self.sla_minutes,
                "sla_status": self.sla.state, "oldest_minutes": self.sla.oldest_minutes}


def summaries(session: Session, tenant: str, now: datetime) -> list[QueueSummary]:
    """Counts and service-level status for every queue with open work (and every configured one)."""
    live = and_(ReviewTaskRow.status == "claimed", ReviewTaskRow.lease_expires >= now)
    rows = session.execute(
        select(ReviewTaskRow.queue, func.count(),
               func.sum(case((live, 1), else_=0)),
               func.sum(case((ReviewTaskRow.due_at < now, 1), else_=0)),
               func.min(ReviewTaskRow.created_at))
        .where(ReviewTaskRow.tenant == tenant, ReviewTaskRow.status.in_(OPEN_STATES))
        .group_by(ReviewTaskRow.queue)
    ).all()
    overrides = sla_overrides(session, tenant)
    out = {q: (int(n) - int(c or 0), int(c or 0), int(o or 0), oldest) for q, n, c, o, oldest in rows}
    for name in overrides:
        out.setdefault(name, (0, 0, 0, None))
    result = []
    for name in sorted(out):
        w, c, o, oldest = out[name]
        target = prio.sla_minutes(name, overrides)
        result.append(QueueSummary(name, w, c, o, target,
                                   prio.sla_status(target, oldest, o, now)))
    return result

