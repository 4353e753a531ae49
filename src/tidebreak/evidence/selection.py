"""Which decisions need their deferred evidence: those whose evidence is pending, has not been
computed, and that a person will look at, most urgent first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from tidebreak.model import EVIDENCE_PENDING
from tidebreak.store.schema import AppealRow, DecisionEvidenceRow, DecisionRow, ReviewTaskRow

OPEN_TASK_STATES = ("open", "claimed")  # as tidebreak.enforce.review_queue.OPEN_STATES
# Strongest actions of decisions that may restrict (a "label" may be an information label only,
# so the payload's outcome is checked too).
RESTRICTING_ACTIONS = ("remove", "reduce", "warn", "label")


@dataclass(frozen=True, slots=True)
class Pending:
    decision_id: str
    content_id: str
    why: str  # "review" (an open task on the item), "enforcement" or "appeal"


def unfilled(tenant: str) -> ColumnElement[bool]:
    """Decisions of `tenant` recorded with pending evidence and no evidence row yet (fill writes
    all of a decision's rows in one transaction, so one row means all of them)."""
    return and_(
        DecisionRow.tenant == tenant,
        DecisionRow.payload["evidence"].as_string() == EVIDENCE_PENDING,
        ~exists().where(DecisionEvidenceRow.tenant == tenant,
                        DecisionEvidenceRow.decision_id == DecisionRow.id),
    )


def _restricting() -> ColumnElement[bool]:
    return and_(DecisionRow.action.in_(RESTRICTING_ACTIONS),
                DecisionRow.payload["outcome"].as_string() == "enforcement")


def pending(session: Session, tenant: str, limit: int, *,
            exclude: Collection[str] = ()) -> list[Pending]:
    """Up to `limit` decisions whose evidence a person will need, most urgent first: decisions
    on items with an open review task (highest task priority first), then decisions that
    removed or restricted content, then appealed decisions; newest first within each. Benign
    decisions (nothing restricted, nobody asked to look) are never returned. `exclude`: ids to
    pass over (e.g. ones the caller could not explain)."""
    if limit <= 0:
        return []
    base = unfilled(tenant)
    if exclude:
        base = and_(base, DecisionRow.id.not_in(list(exclude)))
    prio = func.max(ReviewTaskRow.priority).label("prio")
    reviewed = session.execute(
        select(DecisionRow.id, DecisionRow.content_id, prio)
        .join(ReviewTaskRow, and_(ReviewTaskRow.tenant == tenant,
                                  ReviewTaskRow.content_id == DecisionRow.content_id,
                                  ReviewTaskRow.status.in_(OPEN_TASK_STATES)))
        .where(base)
        .group_by(DecisionRow.id, DecisionRow.content_id, DecisionRow.created_at)
        .order_by(prio.desc(), DecisionRow.created_at.desc(), DecisionRow.id)
        .limit(limit)).all()
    restricted = session.execute(
        select(DecisionRow.id, DecisionRow.content_id)
        .where(base, _restricting())
        .order_by(DecisionRow.created_at.desc(), DecisionRow.id)
        .limit(limit)).all()
    appealed = session.execute(
        select(DecisionRow.id, DecisionRow.content_id, func.max(AppealRow.created_at).label("at"))
        .join(AppealRow, and_(AppealRow.tenant == tenant, AppealRow.decision_id == DecisionRow.id))
        .where(base)
        .group_by(DecisionRow.id, DecisionRow.content_id)
        .order_by(func.max(AppealRow.created_at).desc(), DecisionRow.id)
        .limit(limit)).all()
    out: dict[str, Pending] = {}
    for why, rows in (("review", reviewed), ("enforcement", restricted), ("appeal", appealed)):
        for r in rows:
            out.setdefault(r[0], Pending(r[0], r[1], why))
    return list(out.values())[:limit]


def counts(session: Session, tenant: str) -> dict[str, int]:
    """`complete`: decisions whose evidence is all there (never deferred, or computed since);
    `pending`: decisions still waiting for deferred evidence, of which `wanted` are ones a
    person will look at (what `fill` works through) and the rest benign; `filled`: decisions
    whose deferred evidence has been computed."""
    total = session.execute(select(func.count()).select_from(DecisionRow)
                            .where(DecisionRow.tenant == tenant)).scalar_one()
    waiting = select(DecisionRow.id).where(unfilled(tenant))
    n_pending = session.execute(select(func.count()).select_from(waiting.subquery())).scalar_one()
    tasks = select(ReviewTaskRow.content_id).where(ReviewTaskRow.tenant == tenant,
                                                   ReviewTaskRow.status.in_(OPEN_TASK_STATES))
    appeals = select(AppealRow.decision_id).where(AppealRow.tenant == tenant)
    wanted = session.execute(select(func.count()).select_from(
        waiting.where(DecisionRow.content_id.in_(tasks) | _restricting()
                      | DecisionRow.id.in_(appeals)).subquery())).scalar_one()
    filled = session.execute(select(func.count(func.distinct(DecisionEvidenceRow.decision_id)))
                             .where(DecisionEvidenceRow.tenant == tenant)).scalar_one()
    return {"complete": int(total) - int(n_pending), "pending": int(n_pending),
            "wanted": int(wanted), "filled": int(filled)}
