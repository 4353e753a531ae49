"""Detected groups become review cases; a reviewer's confirmation feeds the decision path.

Detection never acts on accounts. `open_cases` stores each reported group as a
`coordination_cases` row, opens (or refreshes) a task in the "coordination" review queue whose
subject is `coordination:<group_id>`, and records both in the ledger, in one transaction.

The reviewer-confirmation path (built elsewhere) marks a case confirmed and then calls
`decision_inputs(case)`: it returns the account ids to act on, the ground for the statement of
reasons (`COORDINATED_HARM_GROUND`) and a compact evidence summary to cite, so account and group
actions go through the normal decision path like any other decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tidebreak.coordination.detect import DETECTOR_VERSION, DetectedGroup
from tidebreak.errors import BadInput
from tidebreak.ledger import chain as ledger
from tidebreak.enforce.review_queue import open_task
from tidebreak.store.schema import CoordinationCaseRow

QUEUE = "coordination"
COORDINATED_HARM_GROUND = "Coordinated inauthentic behaviour: accounts acting in lockstep"
SUBJECT_PREFIX = "coordination:"


class CaseNotConfirmed(BadInput):
    pass


@dataclass(frozen=True)
class DecisionInputs:
    """What the decision path needs for a confirmed group."""

    group_id: str
    account_ids: tuple[str, ...]
    ground: str
    score: float
    evidence_summary: dict[str, Any]


def evidence_summary(evidence: dict[str, Any], top: int = 10) -> dict[str, Any]:
    """The part of an evidence bundle a statement of reasons cites: the summary figures, the
    top objects and domains, and the time span, without the per-edge co-action lists."""
    return {
        "summary": evidence.get("summary", {}),
        "top_objects": evidence.get("objects", [])[:top],
        "domains": dict(list(evidence.get("domains", {}).items())[:top]),
        "first": evidence.get("timeline", {}).get("first"),
        "last": evidence.get("timeline", {}).get("last"),
    }


def open_cases(session: Session, groups: Iterable[DetectedGroup], *, tenant: str,
               now: datetime, actor: str = "coordination-detector") -> list[CoordinationCaseRow]:
    """Store each group as an open case with a review task and a ledger entry (caller commits).
    A group already confirmed or dismissed is left as the reviewer decided."""
    cases = []
    for g in groups:
        case = session.get(CoordinationCaseRow, (tenant, g.group_id))
        if case is not None and case.status != "open":
            continue
        cases.append(upsert_case(session, g, tenant=tenant, now=now, case=case, actor=actor))
    return cases


def upsert_case(session: Session, g: DetectedGroup, *, tenant: str, now: datetime,
                case: CoordinationCaseRow | None = None,
                actor: str = "coordination-detector") -> CoordinationCaseRow:
    """Open a case for `g`, or, given the open `case` of the same network, bring it up to date
    (its id, task and history stay; accounts, score and evidence become the latest), with its
    review task refreshed rather than duplicated and a ledger entry either way."""
    updating = case is not None
    if case is None:
        case = CoordinationCaseRow(tenant=tenant, id=g.group_id, status="open", created_at=now)
        session.add(case)
    previous = list(case.accounts or [])
    case.accounts, case.score, case.evidence = list(g.accounts), g.score, g.evidence
    case.detector_version, case.updated_at = DETECTOR_VERSION, now
    summary = g.evidence.get("summary", {})
    task, _ = open_task(
        session, tenant=tenant, content_id=SUBJECT_PREFIX + case.id, decision_id=None,
        queue=QUEUE, priority=g.score, now=now, score=g.score,
        reason=(f"coordinated behaviour: {len(g.accounts)} accounts, "
                f"{summary.get('co_actions', 0)} co-actions on "
                f"{summary.get('objects', 0)} objects (score {g.score:.2f})"))
    session.flush()
    case.review_task_id = task.id
    payload: dict[str, Any] = {"accounts": list(g.accounts), "score": g.score,
                               "review_task_id": task.id, "detector_version": DETECTOR_VERSION,
                               "evidence": evidence_summary(g.evidence)}
    # the same group seen again is a refresh; a changed membership is an update, with the diff
    changed = updating and (case.id != g.group_id or set(previous) != set(g.accounts))
    if changed:
        payload["detected_as"] = g.group_id
        payload["accounts_added"] = sorted(set(g.accounts) - set(previous))
        payload["accounts_gone"] = sorted(set(previous) - set(g.accounts))
    ledger.append(session, tenant=tenant,
                  kind="coordination.case_updated" if changed else "coordination.case_opened",
                  subject=SUBJECT_PREFIX + case.id, actor=actor, at=now, payload=payload)
    return case


def decision_inputs(case: CoordinationCaseRow) -> DecisionInputs:
    """For a confirmed case: the accounts to act on, the ground and the evidence to cite.
    Raises CaseNotConfirmed otherwise: only a reviewer's confirmation turns a case into action."""
    if case.status != "confirmed":
        raise CaseNotConfirmed(f"coordination case {case.id} is {case.status}, not confirmed")
    return DecisionInputs(case.id, tuple(case.accounts), COORDINATED_HARM_GROUND, case.score,
                          evidence_summary(case.evidence))
