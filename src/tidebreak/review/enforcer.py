"""The review stage's enforcer: runs inside every decision's transaction (enforce.hooks).

- Tasks the decision opened (policy escalations, the circuit breaker) get their ranking inputs
  from the rule that opened them: its severity, the model's score, whether the item is graphic.
- A user report is recorded with its reason and merged into the item's open task, or opens one in
  the reports queue; a trusted flagger's report doubles the task's priority.
"""

from __future__ import annotations

from sqlalchemy import select

from tidebreak import ledger
from tidebreak.config import Settings
from tidebreak.enforce.hooks import Enforcement
from tidebreak.model import Decision, EventType, RuleHit
from tidebreak.enforce import review_priority as prio
from tidebreak.enforce.review_queue import (
    OPEN_STATES,
    REPORTS_QUEUE,
    open_task,
    rescore,
    tasks_of_decision,
)
from tidebreak.store.schema import ReviewReportRow, ReviewTaskRow, TrustedFlaggerRow


def top_score(decision: Decision, category: str | None = None) -> float | None:
    scores = [s.score for s in decision.signals if category is None or s.category == category]
    return max(scores) if scores else None


def is_graphic(decision: Decision) -> bool:
    return any(s.category in prio.GRAPHIC_CATEGORIES and s.score >= prio.GRAPHIC_SCORE
               for s in decision.signals)


class ReviewEnforcer:
    name = "review"

    def __call__(self, e: Enforcement) -> None:
        if e.event.type == EventType.REVIEW:
            return  # a person decided: the pipeline closes the item's tasks itself
        self._rank_escalations(e)
        if e.event.type == EventType.REPORT:
            self._record_report(e)

    def _rank_escalations(self, e: Enforcement) -> None:
        for task in tasks_of_decision(e.session, e.tenant, e.decision.id):
            hit: RuleHit | None = next((h for h in e.decision.reasons if h.rule_id == task.reason),
                                       None)
            if hit is not None:
                task.severity = max(task.severity, prio.severity_weight(hit.severity))
                task.confidence_gap = prio.confidence_gap(top_score(e.decision, hit.category))
            task.graphic = task.graphic or is_graphic(e.decision)
            rescore(task, e.content, e.now)

    def _record_report(self, e: Enforcement) -> None:
        ev, row = e.event, e.content
        reason = ev.report_reason or "other"
        flagger = None
        if ev.reporter:
            flagger = e.session.execute(
                select(TrustedFlaggerRow).where(TrustedFlaggerRow.tenant == e.tenant,
                                                TrustedFlaggerRow.reporter == ev.reporter,
                                                TrustedFlaggerRow.active.is_(True))
            ).scalar_one_or_none()
        statement = ev.content.meta.get("statement") if ev.content.meta else None
        task = None
        if row.state not in ("removed", "deleted"):  # nothing left for a person to act on
            task = e.session.execute(
                select(ReviewTaskRow).where(ReviewTaskRow.tenant == e.tenant,
                                            ReviewTaskRow.content_id == row.id,
                                            ReviewTaskRow.status.in_(OPEN_STATES))
                .order_by(ReviewTaskRow.priority.desc()).limit(1)
            ).scalar_one_or_none()
            if task is None:
                task, _ = open_task(e.session, tenant=e.tenant, content_id=row.id,
                                    decision_id=e.decision.id, queue=REPORTS_QUEUE, priority=0.0,
                                    reason=f"report:{reason}", now=e.now, kind="report",
                                    severity=prio.REPORT_SEVERITY.get(reason, "low"),
                                    score=top_score(e.decision, _report_category(reason)))
                e.session.flush()  # its id goes on the report row
            task.report_count = (task.report_count or 0) + 1
            task.severity = max(task.severity,
                                prio.severity_weight(prio.REPORT_SEVERITY.get(reason, "low")))
            task.trusted = task.trusted or flagger is not None
            task.graphic = task.graphic or is_graphic(e.decision) or reason == "violence"
            rescore(task, row, e.now)
        e.session.add(ReviewReportRow(
            tenant=e.tenant, content_id=row.id, event_id=ev.event_id, reason=reason,
            reporter=ev.reporter, trusted_org=flagger.organisation if flagger else None,
            statement=str(statement)[:5000] if statement else None,
            task_id=task.id if task is not None else None, created_at=e.now))
        ledger.append(e.session, tenant=e.tenant, kind="report.received", subject=row.id,
                      actor=f"reporter:{ev.reporter or 'anonymous'}",
                      payload={"event_id": ev.event_id, "reason": reason,
                               "trusted_flagger": flagger.organisation if flagger else None,
                               "task_id": task.id if task is not None else None}, at=e.now)


def _report_category(reason: str) -> str:
    return {"false_information": "misinformation"}.get(reason, reason)


def review_enforcer(_settings: Settings) -> ReviewEnforcer:
    """Factory for the built-in enforcers (tidebreak.plugins.builtin)."""
    return ReviewEnforcer()
