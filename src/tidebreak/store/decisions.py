"""Reading decisions back: the stored JSON is the decision exactly as it was returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.model import Action, ActionType, Decision, RuleHit, Signal
from tidebreak.store.schema import DecisionRow


def _signal(d: dict[str, Any]) -> Signal:
    return Signal(detector=d["detector"], category=d["category"], score=float(d["score"]),
                  evidence=d.get("evidence") or {}, detector_version=d.get("detector_version", ""))


def _action(d: dict[str, Any]) -> Action:
    return Action(type=ActionType(d["type"]), factor=d.get("factor"), label=d.get("label"),
                  queue=d.get("queue"), priority=d.get("priority"),
                  info=d.get("outcome") == "information")


def _hit(d: dict[str, Any]) -> RuleHit:
    return RuleHit(rule_id=d["rule_id"], category=d["category"],
                   actions=tuple(_action(a) for a in d["actions"]), ground=d["ground"],
                   notice=d["notice"], signals=tuple(_signal(s) for s in d.get("signals", ())),
                   shadow=d.get("shadow", False), severity=d.get("severity", "medium"),
                   policy_version=d.get("policy_version", ""), strike=bool(d.get("strike", False)))


def decision_from_dict(d: dict[str, Any]) -> Decision:
    """The decision a stored payload describes. Its `evidence` ("complete" or "pending") follows
    from the signals' evidence (`spans_pending`), so it round-trips; payloads recorded before
    evidence could be deferred have no such signal and read as complete."""
    return Decision(
        id=d["decision_id"], event_id=d["event_id"], content_id=d["content_id"],
        action=ActionType(d["action"]), actions=tuple(_action(a) for a in d["actions"]),
        categories=tuple(d["categories"]), reasons=tuple(_hit(h) for h in d["reasons"]),
        shadow=tuple(_hit(h) for h in d.get("shadow", ())),
        signals=tuple(_signal(s) for s in d["signals"]), policy_id=d["policy"]["id"],
        policy_version=d["policy"]["version"], model_versions=d.get("model_versions", {}),
        decided_by=d["decided_by"], created_at=datetime.fromisoformat(d["created_at"]),
        note=d.get("note"),
    )


def history(session: Session, tenant: str, content_id: str) -> list[dict[str, Any]]:
    """All decisions about one content item, oldest first, as returned to callers."""
    rows = session.execute(
        select(DecisionRow.payload).where(DecisionRow.tenant == tenant,
                                          DecisionRow.content_id == content_id)
        .order_by(DecisionRow.created_at, DecisionRow.id)
    ).scalars().all()
    return list(rows)


def recent(session: Session, tenant: str, *, limit: int = 50, action: str | None = None,
           rule: str | None = None) -> list[DecisionRow]:
    q = select(DecisionRow).where(DecisionRow.tenant == tenant)
    if action:
        q = q.where(DecisionRow.action == action)
    q = q.order_by(DecisionRow.created_at.desc(), DecisionRow.id.desc())
    rows = list(session.execute(q.limit(limit if not rule else limit * 20)).scalars())
    if rule:
        rows = [r for r in rows if rule in (r.rules or [])][:limit]
    return rows
