"""Statements of reasons for account and group restrictions.

Penalties (enforce.penalties) and group stage changes (enforce.groups) call these listeners in
their own transaction, so every account or group restriction gets exactly one statement, as every
content restriction does through the StatementEnforcer. A warning, or a group that is only warned
or restored, restricts nothing and gets none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tidebreak.accountability.sor import Restriction, record_restriction

# penalty ladder step -> DSA restriction kind (see sor.RESTRICTION_KINDS)
PENALTY_KINDS = {"limited": "features_limited", "suspended": "account_suspended",
                 "banned": "account_terminated"}
STAGE_KINDS = {"not_recommended": "group_reduced", "reduced": "group_reduced",
               "shutdown": "group_shut_down", "removed": "group_shut_down"}


def _category(reasons: dict, fallback: str) -> str:
    strikes = reasons.get("strikes") or []
    return strikes[-1].get("category", fallback) if strikes else fallback


def statement_for_penalty(s: Session, tenant: str, row, now: datetime) -> None:  # type: ignore[no-untyped-def]
    kind = PENALTY_KINDS.get(row.penalty)
    if kind is None:
        return
    reasons = row.reasons or {}
    n = reasons.get("active_strikes")
    facts = (f"The account reached {n} active strikes under rule {row.rule}." if n
             else f"The account was restricted under rule {row.rule}.")
    if row.cause_group_id:
        facts = f"The account administers a group that was shut down (rule {row.rule})."
    record_restriction(s, tenant, Restriction(
        decision_id=f"penalty-{row.id}", subject_type="account", subject_id=row.actor_id,
        kind=kind, category=_category(reasons, "hate"), ground=row.ground or row.rule,
        explanation=row.notice or facts, decided_by=row.decided_by or "automation",
        facts=facts, until=row.ends_at), now)


def statement_for_stage(s: Session, tenant: str, det, now: datetime) -> None:  # type: ignore[no-untyped-def]
    kind = STAGE_KINDS.get(det.to_stage)
    if kind is None:
        return
    evidence = det.evidence or {}
    focus = evidence.get("focus") or "hate"
    facts = (f"The group moved from {det.from_stage} to {det.to_stage}: a measured determination "
             f"(health {det.health:.2f}) that it is focused on {focus}.")
    record_restriction(s, tenant, Restriction(
        decision_id=f"group-{det.id}", subject_type="group", subject_id=det.group_id, kind=kind,
        category=focus, ground=det.ground or "group health", explanation=facts,
        decided_by=det.decided_by or "automation", facts=facts), now)


def statement_for_trip(s: Session, tenant: str, b, now: datetime) -> None:  # type: ignore[no-untyped-def]
    reasons = b.reasons or {}
    risky = reasons.get("risk_signals") or {}
    category = max(risky, key=risky.get) if risky else "misinformation"
    facts = (f"The item was spreading fast ({reasons.get('shares_per_hour')} shares/h, "
             f"{reasons.get('views_per_hour')} views/h) while unreviewed, with automated risk "
             f"scores {risky}; its reach is capped at {b.cap} until a person has looked.")
    record_restriction(s, tenant, Restriction(
        decision_id=f"breaker-{b.id}", subject_type="content", subject_id=b.content_id,
        kind="content_capped", category=category, ground=reasons.get("ground") or "breaker",
        explanation="This item is spreading quickly and may break our rules, so we are showing it "
                    "to fewer people until a reviewer has checked it.",
        decided_by="automation", facts=facts), now)


def register() -> None:
    from tidebreak.enforce.breaker import TRIP_LISTENERS
    from tidebreak.enforce.groups import STAGE_LISTENERS
    from tidebreak.enforce.penalties import PENALTY_LISTENERS

    if statement_for_penalty not in PENALTY_LISTENERS:
        PENALTY_LISTENERS.append(statement_for_penalty)
    if statement_for_stage not in STAGE_LISTENERS:
        STAGE_LISTENERS.append(statement_for_stage)
    if statement_for_trip not in TRIP_LISTENERS:
        TRIP_LISTENERS.append(statement_for_trip)
