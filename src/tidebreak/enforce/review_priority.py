"""Ranking review tasks, and the service levels each queue is held to.

priority = severity x predicted reach x confidence gap (x 2 for a trusted flagger's report):
- severity: the rule's (or the report reason's) severity, 1 (low) to 4 (critical);
- predicted reach: 1 + log10(1 + views + a day's shares at the current velocity + 100 per report),
  so an item seen by a million ranks about six times one nobody has seen, not a million times;
- confidence gap: 1 - |2p - 1| for the model's score p, floored at 0.2: items the model is least
  sure of gain most from a person, but a confident escalation still counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

SEVERITY = {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 4.0}
REPORT_SEVERITY = {"violence": "critical", "self_harm": "critical", "hate": "high",
                   "voting_misinformation": "high", "harassment": "medium",
                   "false_information": "medium", "spam": "low", "other": "low"}
MIN_GAP = 0.2
TRUSTED_BOOST = 2.0
GRAPHIC_SCORE = 0.8  # a hate or violence score at least this high marks a task graphic
GRAPHIC_CATEGORIES = ("hate", "violence")

# Minutes to a first decision, per queue; `tidebreak review sla set` overrides per tenant.
DEFAULT_SLA_MINUTES: dict[str, int] = {
    "violence-escalation": 60,
    "violence": 120,
    "escalations": 240,
    "reports": 24 * 60,
    "appeals": 3 * 24 * 60,
    "general": 24 * 60,
}
FALLBACK_SLA_MINUTES = 24 * 60
AT_RISK = 0.75  # share of the target used up before a queue shows "at risk"


def severity_weight(severity: str) -> float:
    return SEVERITY.get(severity, SEVERITY["medium"])


def predicted_reach(views: int, velocity: float, reports: int = 0) -> float:
    return 1.0 + math.log10(1.0 + max(views, 0) + 24.0 * max(velocity, 0.0) + 100.0 * max(reports, 0))


def confidence_gap(score: float | None) -> float:
    if score is None:
        return 1.0  # no model opinion (e.g. a report alone): a person must look
    return max(MIN_GAP, 1.0 - abs(2.0 * min(max(score, 0.0), 1.0) - 1.0))


def priority(severity: float, reach: float, gap: float, trusted: bool = False) -> float:
    return round(severity * reach * gap * (TRUSTED_BOOST if trusted else 1.0), 6)


def sla_minutes(queue: str, overrides: dict[str, int] | None = None) -> int:
    if overrides and queue in overrides:
        return overrides[queue]
    return DEFAULT_SLA_MINUTES.get(queue, FALLBACK_SLA_MINUTES)


def due_at(created: datetime, queue: str, overrides: dict[str, int] | None = None) -> datetime:
    return created + timedelta(minutes=sla_minutes(queue, overrides))


@dataclass(frozen=True)
class SlaStatus:
    state: str  # ok | at_risk | breached | empty
    overdue: int
    oldest_minutes: float


def sla_status(target_minutes: int, oldest: datetime | None, overdue: int, now: datetime) -> SlaStatus:
    if oldest is None:
        return SlaStatus("empty", 0, 0.0)
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=timezone.utc)
    age = (now - oldest).total_seconds() / 60.0
    if overdue or age >= target_minutes:
        state = "breached"
    elif age >= AT_RISK * target_minutes:
        state = "at_risk"
    else:
        state = "ok"
    return SlaStatus(state, overdue, round(age, 1))


def aware(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt
