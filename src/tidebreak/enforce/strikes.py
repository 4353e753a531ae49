"""Strikes on authors: one per newly removed item, decaying after the configured period."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.model import Decision, RuleHit
from tidebreak.store.schema import StrikeRow

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def active_strikes(session: Session, tenant: str, actor_id: str, now: datetime) -> Counter[str]:
    rows = session.execute(
        select(StrikeRow.category).where(
            StrikeRow.tenant == tenant, StrikeRow.actor_id == actor_id,
            StrikeRow.revoked.is_(False), StrikeRow.expires_at > now)
    ).scalars()
    return Counter(rows)


def add_strike(session: Session, tenant: str, actor_id: str, decision: Decision,
               now: datetime, days: int) -> StrikeRow | None:
    """The strike takes the category and severity of the most severe removing rule; without a
    removal, of the most severe rule that gives a strike of its own (`strike: true`)."""
    removing: list[RuleHit] = [h for h in decision.reasons if not h.shadow
                               and any(a.type.value == "remove" for a in h.actions)]
    if not removing:
        removing = [h for h in decision.reasons if h.strike and not h.shadow]
    if not removing:
        return None
    worst = max(removing, key=lambda h: SEVERITY_ORDER.get(h.severity, 1))
    row = StrikeRow(tenant=tenant, actor_id=actor_id, category=worst.category,
                    severity=worst.severity, decision_id=decision.id,
                    content_id=decision.content_id, created_at=now,
                    expires_at=now + timedelta(days=days), revoked=False)
    session.add(row)
    return row


def revoke_strikes_for(session: Session, tenant: str, content_id: str) -> int:
    """Lift the strikes a removal of this item caused (it was restored)."""
    rows = session.execute(
        select(StrikeRow).where(StrikeRow.tenant == tenant, StrikeRow.content_id == content_id,
                                StrikeRow.revoked.is_(False))
    ).scalars().all()
    for r in rows:
        r.revoked = True
    return len(rows)


def active_strike_rows(session: Session, tenant: str, actor_id: str,
                       now: datetime) -> list[StrikeRow]:
    """The author's strikes that count now (not revoked, not decayed), oldest first."""
    return list(session.execute(
        select(StrikeRow).where(
            StrikeRow.tenant == tenant, StrikeRow.actor_id == actor_id,
            StrikeRow.revoked.is_(False), StrikeRow.expires_at > now)
        .order_by(StrikeRow.created_at, StrikeRow.id)
    ).scalars())


def strike_ids_for_content(session: Session, tenant: str, content_id: str) -> set[int]:
    """Every strike (revoked or not) that a removal of this item caused."""
    return set(session.execute(
        select(StrikeRow.id).where(StrikeRow.tenant == tenant, StrikeRow.content_id == content_id)
    ).scalars())


def strike_dict(r: StrikeRow) -> dict[str, object]:
    return {"id": r.id, "category": r.category, "severity": r.severity, "content_id": r.content_id,
            "decision_id": r.decision_id, "created_at": _iso(r.created_at),
            "expires_at": _iso(r.expires_at), "revoked": r.revoked}


def _iso(dt: datetime) -> str:
    # SQLite hands back naive datetimes; everything tidebreak stores is UTC.
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).isoformat()
