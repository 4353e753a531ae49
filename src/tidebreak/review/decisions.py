"""A reviewer's verdict on a claimed task, through the pipeline's one decision path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tidebreak.model import Action, ActionType
from tidebreak.pipeline import Outcome, Pipeline, PipelineError
from tidebreak.review.appeals import decide_appeal
from tidebreak.review.clauses import clause as find_clause
from tidebreak.review.errors import Forbidden, NotFound, ReviewError
from tidebreak.review.leases import check_lease, escalate
from tidebreak.store.schema import ConsoleUserRow, ReviewTaskRow

VERDICTS = ("approve", "remove", "reduce", "label", "escalate")
APPEAL_VERDICTS = ("reverse", "maintain")
REDUCE_FACTOR = 0.3  # a reviewer's "reduce": the policy's usual grey-zone demotion


@dataclass(frozen=True)
class TaskResult:
    task_id: int
    verdict: str
    content_id: str
    decision: dict[str, Any] | None  # the new decision, when one was made
    queue: str | None = None  # where an escalated task went

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "verdict": self.verdict, "content_id": self.content_id,
                "decision": self.decision, "queue": self.queue}


def actions_for(verdict: str, label: str) -> tuple[Action, ...]:
    return {"approve": (),
            "remove": (Action(ActionType.REMOVE),),
            "reduce": (Action(ActionType.REDUCE, factor=REDUCE_FACTOR),),
            "label": (Action(ActionType.LABEL, label=label),)}[verdict]


def decide_task(pipeline: Pipeline, *, task_id: int, reviewer: str, verdict: Any, clause_id: Any,
                note: Any = None, may_decide_appeals: bool = False) -> TaskResult:
    """Apply `verdict` to the task `reviewer` holds. Refusals raise ReviewError and change nothing."""
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise ReviewError("field 'note' must be a string of at most 2000 characters")
    tenant, now = pipeline.tenant, pipeline.clock()
    with pipeline.sessions() as s:
        task = s.get(ReviewTaskRow, task_id)
        if task is None or task.tenant != tenant:
            raise NotFound(f"no task {task_id}")
        kind, content_id = task.kind, task.content_id
    if kind == "appeal":
        if not may_decide_appeals:
            raise Forbidden("appeals are decided by senior reviewers")
        if verdict not in APPEAL_VERDICTS:
            raise ReviewError(f"an appeal's verdict must be one of {', '.join(APPEAL_VERDICTS)}")
        appeal, decided = decide_appeal(pipeline, task_id=task_id, reviewer=reviewer,
                                        outcome=verdict, clause_id=clause_id, note=note)
        return TaskResult(task_id, verdict, content_id,
                          decided.decision.to_dict() if decided else None)
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}")
    if verdict == "escalate":
        if not isinstance(clause_id, str):
            raise ReviewError("an escalation must cite the policy clause")
        find_clause(pipeline.policy, clause_id)
        moved = escalate(pipeline.engine, tenant=tenant, task_id=task_id, reviewer=reviewer,
                         clause=clause_id, note=note, now=now)
        return TaskResult(task_id, verdict, content_id, None, moved.queue)
    cl = find_clause(pipeline.policy, clause_id if isinstance(clause_id, str) else None)
    check_lease(pipeline.engine, tenant=tenant, task_id=task_id, reviewer=reviewer, now=now)
    try:
        out: Outcome = pipeline.decide_by_human(
            content_id, reviewer=reviewer, actions=actions_for(verdict, cl.ground),
            category=cl.category, ground=cl.ground, notice=cl.notice, note=note,
            key=f"task:{task_id}")
    except PipelineError as e:
        raise ReviewError(str(e), e.status) from None
    with pipeline.sessions() as s, s.begin():
        t = s.get(ReviewTaskRow, task_id)
        assert t is not None
        t.verdict, t.clause, t.outcome_decision_id = verdict, cl.rule_id, out.decision.id
        _count_graphic(s, tenant, reviewer, t.graphic, now)
    return TaskResult(task_id, verdict, content_id, out.decision.to_dict())


def _count_graphic(s: Session, tenant: str, reviewer: str, graphic: bool, now: Any) -> None:
    """Wellbeing: count a console user's consecutive graphic items (see review.accounts)."""
    user = s.get(ConsoleUserRow, (tenant, reviewer))
    if user is not None:
        user.graphic_streak = (user.graphic_streak or 0) + 1 if graphic else 0
        user.last_decided_at = now
