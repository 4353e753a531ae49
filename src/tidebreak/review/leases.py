"""Claiming tasks under a lease, so two reviewers never work on the same task.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` picks the best waiting task that no other claim is
holding, so concurrent reviewers each get a different one without waiting on each other. SQLite
has no row locks; tidebreak's SQLite engine begins every transaction with BEGIN IMMEDIATE (one
writer at a time), which makes the same select-then-update safe. Either way the update is also a
compare-and-set on the status and lease, so a claim never takes a task from a live lease.

A lease that runs out (the reviewer closed the tab) puts the task back in the queue: waiting tasks
are "open, or claimed with an expired lease". Claims, releases and escalations are ledgered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.review.errors import Conflict, NotFound, ReviewError
from tidebreak.enforce.review_queue import ESCALATIONS_QUEUE, OPEN_STATES, waiting
from tidebreak.enforce.review_priority import aware, due_at
from tidebreak.store.schema import ReviewTaskRow

DEFAULT_LEASE = timedelta(minutes=15)


def claim(engine: Engine, *, tenant: str, queue: str, reviewer: str, now: datetime,
          lease: timedelta = DEFAULT_LEASE, exclude_graphic: bool = False) -> ReviewTaskRow | None:
    """Lease the highest-priority waiting task of `queue` to `reviewer`; None when none is left.
    Tasks the reviewer may not decide (their own decision's appeal) are skipped."""
    for _ in range(5):
        try:
            task = _claim_once(engine, tenant=tenant, queue=queue, reviewer=reviewer, now=now,
                               lease=lease, exclude_graphic=exclude_graphic)
        except IntegrityError:
            continue  # two first-ever ledger appends raced to create its head: try again
        if task is not False:
            return task
    raise Conflict("the queue is busy; try again")


def _claim_once(engine: Engine, *, tenant: str, queue: str, reviewer: str, now: datetime,
                lease: timedelta, exclude_graphic: bool) -> ReviewTaskRow | None | bool:
    """One attempt: the task, None when the queue is empty, False when a race was lost."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        q = (select(ReviewTaskRow)
             .where(waiting(tenant, now), ReviewTaskRow.queue == queue,
                    or_(ReviewTaskRow.excluded_reviewer.is_(None),
                        ReviewTaskRow.excluded_reviewer != reviewer)))
        if exclude_graphic:
            q = q.where(ReviewTaskRow.graphic.is_(False))
        task = s.execute(
            q.order_by(ReviewTaskRow.priority.desc(), ReviewTaskRow.created_at,
                       ReviewTaskRow.id)
            .limit(1).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if task is None:
            return None
        previous = task.claimed_by if task.status == "claimed" else None
        expires = now + lease
        won = s.execute(
            update(ReviewTaskRow)
            .where(ReviewTaskRow.id == task.id, waiting(tenant, now))
            .values(status="claimed", claimed_by=reviewer, lease_expires=expires)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            return False  # lost a compare-and-set (only without row locks)
        ledger.append(s, tenant=tenant, kind="review.claim", subject=task.content_id,
                      actor=f"reviewer:{reviewer}",
                      payload={"task_id": task.id, "queue": queue,
                               "lease_expires": expires.isoformat(),
                               "reclaimed_from": previous}, at=now)
        s.expire(task)
        s.refresh(task)
        return task


def held(session: Session, *, tenant: str, task_id: int, reviewer: str,
         now: datetime) -> ReviewTaskRow:
    """The task, locked, when `reviewer` holds a live lease on it; else a one-line refusal."""
    task = session.execute(
        select(ReviewTaskRow).where(ReviewTaskRow.id == task_id, ReviewTaskRow.tenant == tenant)
        .with_for_update()
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status not in OPEN_STATES:
        raise Conflict(f"task {task_id} is already {task.status}")
    expires = aware(task.lease_expires)
    if task.status != "claimed" or task.claimed_by != reviewer or expires is None or expires <= now:
        raise Conflict(f"task {task_id} is not leased to you (claim it first; leases run out "
                       "after inactivity)")
    return task


def check_lease(engine: Engine, *, tenant: str, task_id: int, reviewer: str,
                now: datetime) -> ReviewTaskRow:
    with Session(engine, expire_on_commit=False) as s, s.begin():
        return held(s, tenant=tenant, task_id=task_id, reviewer=reviewer, now=now)


def release(engine: Engine, *, tenant: str, task_id: int, reviewer: str, now: datetime) -> None:
    """Hand a claimed task back to its queue untouched."""
    with Session(engine) as s, s.begin():
        task = held(s, tenant=tenant, task_id=task_id, reviewer=reviewer, now=now)
        task.status, task.claimed_by, task.lease_expires = "open", None, None
        ledger.append(s, tenant=tenant, kind="review.release", subject=task.content_id,
                      actor=f"reviewer:{reviewer}", payload={"task_id": task.id}, at=now)


def escalate(engine: Engine, *, tenant: str, task_id: int, reviewer: str, clause: str,
             note: str | None, now: datetime) -> ReviewTaskRow:
    """Move a task to the senior reviewers' queue, with the clause that makes it hard."""
    if not clause.strip():
        raise ReviewError("an escalation must cite the policy clause")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        task = held(s, tenant=tenant, task_id=task_id, reviewer=reviewer, now=now)
        if task.queue == ESCALATIONS_QUEUE:
            raise Conflict(f"task {task_id} is already escalated; decide it")
        origin = task.queue
        task.queue, task.status, task.claimed_by, task.lease_expires = (
            ESCALATIONS_QUEUE, "open", None, None)
        task.due_at = due_at(now, ESCALATIONS_QUEUE)
        task.clause = clause
        ledger.append(s, tenant=tenant, kind="review.escalate", subject=task.content_id,
                      actor=f"reviewer:{reviewer}",
                      payload={"task_id": task.id, "from_queue": origin, "clause": clause,
                               "note": note}, at=now)
        return task
