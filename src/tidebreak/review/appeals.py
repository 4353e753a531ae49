"""Appeals: the affected user (or the group's admin) asks for a second look.

An appeal is a task in the appeals queue that only senior reviewers take, and never the reviewer
who made the decision under appeal. Reversing it goes through `Pipeline.decide_by_human`, the
same path as every decision, so the content, its reach and the author's strike are restored
together and ledgered; maintaining it changes nothing but is ledgered too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.pipeline import Outcome, Pipeline
from tidebreak.enforce import review_priority as prio
from tidebreak.review.clauses import clause as find_clause
from tidebreak.review.errors import Conflict, Forbidden, NotFound, ReviewError
from tidebreak.review.leases import held
from tidebreak.enforce.review_queue import APPEALS_QUEUE, open_task
from tidebreak.store.schema import AppealRow, ContentRow, DecisionRow, ReviewTaskRow

APPELLANT_ROLES = ("author", "group_admin")
OUTCOMES = ("reverse", "maintain")
MAX_STATEMENT = 5000


def first_reviewer(decided_by: str) -> str | None:
    """The person behind a decision ("reviewer:alice" -> "alice"); None for automation."""
    return decided_by.split(":", 1)[1] if decided_by.startswith("reviewer:") else None


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReviewError(f"field '{name}' is required and must be a non-empty string")
    if len(value) > limit:
        raise ReviewError(f"field '{name}' is longer than {limit} characters")
    return value.strip()


def file_appeal(session: Session, *, tenant: str, content_id: Any, appellant: Any,
                appellant_role: Any, statement: Any, now: datetime) -> AppealRow:
    content_id = _text(content_id, "content_id", 256)
    appellant = _text(appellant, "appellant", 256)
    statement = _text(statement, "statement", MAX_STATEMENT)
    if appellant_role not in APPELLANT_ROLES:
        raise ReviewError(f"field 'appellant_role' must be one of {', '.join(APPELLANT_ROLES)}")
    row = session.get(ContentRow, (tenant, content_id))
    if row is None:
        raise NotFound(f"no content {content_id!r}")
    if appellant_role == "author" and appellant != row.author_id:
        raise Forbidden("only the author of the content may appeal as 'author'")
    if appellant_role == "group_admin" and not row.group_id:
        raise ReviewError("the content is not in a group, so there is no group admin to appeal")
    decision = session.get(DecisionRow, row.last_decision_id) if row.last_decision_id else None
    if decision is None or decision.action in ("none", "review"):
        raise Conflict(f"content {content_id!r} has no enforcement decision to appeal")
    earlier = session.execute(
        select(AppealRow).where(AppealRow.tenant == tenant, AppealRow.content_id == content_id,
                                AppealRow.decision_id == decision.id)).scalar_one_or_none()
    if earlier is not None:
        raise Conflict(f"decision {decision.id} was already appealed (appeal {earlier.id}, "
                       f"{earlier.status}); each decision may be appealed once")
    reasons = decision.payload.get("reasons", [])
    severity = max((h.get("severity", "medium") for h in reasons),
                   key=prio.severity_weight, default="medium")
    task, _ = open_task(session, tenant=tenant, content_id=content_id, decision_id=decision.id,
                        queue=APPEALS_QUEUE, priority=0.0, reason="appeal", now=now,
                        kind="appeal", severity=severity)
    task.excluded_reviewer = first_reviewer(decision.decided_by)
    appeal = AppealRow(tenant=tenant, content_id=content_id, decision_id=decision.id,
                       first_decider=decision.decided_by, appellant=appellant,
                       appellant_role=appellant_role, statement=statement, status="open",
                       created_at=now)
    session.add(appeal)
    session.flush()
    appeal.task_id = task.id
    ledger.append(session, tenant=tenant, kind="appeal.filed", subject=content_id,
                  actor=f"{appellant_role}:{appellant}",
                  payload={"appeal_id": appeal.id, "decision_id": decision.id,
                           "task_id": task.id}, at=now)
    return appeal


def decide_appeal(pipeline: Pipeline, *, task_id: int, reviewer: str, outcome: str,
                  clause_id: str | None, note: str | None = None) -> tuple[AppealRow, Outcome | None]:
    """Decide an appeal task the reviewer has claimed. Returns the appeal and, when reversed,
    the new decision that restored the content."""
    if outcome not in OUTCOMES:
        raise ReviewError(f"an appeal's outcome must be one of {', '.join(OUTCOMES)}")
    cl = find_clause(pipeline.policy, clause_id)
    tenant, now = pipeline.tenant, pipeline.clock()
    with pipeline.sessions() as s:
        task = s.get(ReviewTaskRow, task_id)
        if task is None or task.tenant != tenant or task.kind != "appeal":
            raise NotFound(f"no appeal task {task_id}")
        if task.excluded_reviewer == reviewer:
            raise Forbidden("the reviewer who made the decision under appeal may not decide "
                            "the appeal; another senior reviewer must")
    with pipeline.sessions() as s, s.begin():
        held(s, tenant=tenant, task_id=task_id, reviewer=reviewer, now=now)
    decided: Outcome | None = None
    if outcome == "reverse":
        with pipeline.sessions() as s:
            appeal_id = s.execute(select(AppealRow.id).where(AppealRow.task_id == task_id)).scalar_one()
        decided = pipeline.decide_by_human(
            task.content_id, reviewer=reviewer, actions=(), category=cl.category,
            ground=cl.ground, notice="On appeal, we found that this does not break the rule "
            "we cited, and restored it.", note=note or f"appeal {appeal_id} reversed",
            key=f"appeal:{appeal_id}", bank=False)
    with pipeline.sessions() as s, s.begin():
        appeal = s.execute(select(AppealRow).where(AppealRow.task_id == task_id)).scalar_one()
        t = s.get(ReviewTaskRow, task_id)
        assert t is not None
        if appeal.status != "open":
            return appeal, decided  # a retry after the reversal was already recorded
        appeal.status = "reversed" if outcome == "reverse" else "maintained"
        appeal.decided_by, appeal.decided_at, appeal.clause = f"reviewer:{reviewer}", now, cl.rule_id
        appeal.outcome_decision_id = decided.decision.id if decided else None
        t.status, t.closed_at, t.lease_expires = "done", t.closed_at or now, None
        t.verdict, t.clause, t.outcome_decision_id = outcome, cl.rule_id, appeal.outcome_decision_id
        ledger.append(s, tenant=tenant, kind="appeal.decided", subject=appeal.content_id,
                      actor=f"reviewer:{reviewer}",
                      payload={"appeal_id": appeal.id, "outcome": appeal.status,
                               "clause": cl.rule_id, "ground": cl.ground,
                               "decision_id": appeal.outcome_decision_id, "note": note}, at=now)
        emit(s, tenant=tenant, type=DomainEventType.APPEAL_DECIDED, key=f"appeal:{appeal.id}",
             subject=appeal.content_id, at=now,
             payload={**appeal_dict(appeal), "ground": cl.ground})
    return appeal, decided


def appeal_dict(a: AppealRow) -> dict[str, Any]:
    return {"appeal_id": a.id, "content_id": a.content_id, "decision_id": a.decision_id,
            "appellant": a.appellant, "appellant_role": a.appellant_role,
            "statement": a.statement, "status": a.status, "task_id": a.task_id,
            "decided_by": a.decided_by, "clause": a.clause,
            "decided_at": a.decided_at.isoformat() if a.decided_at else None,
            "outcome_decision_id": a.outcome_decision_id,
            "created_at": a.created_at.isoformat()}


def appeals(session: Session, tenant: str, *, status: str | None = None,
            limit: int = 100) -> list[AppealRow]:
    q = select(AppealRow).where(AppealRow.tenant == tenant)
    if status:
        q = q.where(AppealRow.status == status)
    return list(session.execute(q.order_by(AppealRow.created_at.desc(), AppealRow.id.desc())
                                .limit(limit)).scalars())
