"""Strikes on authors: one per newly removed item, decaying after the configured period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.model import Decision, RuleHit
from tidebreak.store.schema import StrikeRow
from tidebreak.store.txcache import tx_cache

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def active_strikes(session: Session, tenant: str, actor_id: str, now: datetime) -> Counter[str]:
    """The categories of the author's strikes that count now."""
    return Counter(r.category for r in active_strike_rows(session, tenant, actor_id, now))


def recall_active_strikes(session: Session, tenant: str, actor_ids: Iterable[str],
                          now: datetime) -> None:
    """Read many authors' strikes with one query (a batch's authors, up front). The
    transaction then remembers them: add_strike appends, a revocation is seen on the row."""
    memo = tx_cache(session, "strike_rows")
    ids = sorted({a for a in actor_ids if (tenant, a, now) not in memo})
    if not ids:
        return
    found: dict[str, list[StrikeRow]] = {a: [] for a in ids}
    for r in session.execute(
            select(StrikeRow).where(
                StrikeRow.tenant == tenant, StrikeRow.actor_id.in_(ids),
                StrikeRow.revoked.is_(False), StrikeRow.expires_at > now)
            .order_by(StrikeRow.created_at, StrikeRow.id)).scalars():
        found[r.actor_id].append(r)
    for a, rows in found.items():
        memo[(tenant, a, now)] = rows


def standing_changed(session: Session, tenant: str, actor_id: str) -> None:
    """A strike or penalty of the actor was added, revoked or lifted: their status must be
    worked out again."""
    memo = tx_cache(session, "status_synced")
    for key in [k for k in memo if k[0] == tenant and k[1] == actor_id]:
        del memo[key]


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
    for (t, a, at), rows in tx_cache(session, "strike_rows").items():
        if t == tenant and a == actor_id and row.expires_at > at:
            rows.append(row)  # newest last, as the query orders them
    standing_changed(session, tenant, actor_id)
    emit(session, tenant=tenant, type=DomainEventType.STRIKE_ADDED, key=f"strike:{decision.id}",
         subject=f"account:{actor_id}", at=now,
         payload={"actor_id": actor_id, "category": row.category, "severity": row.severity,
                  "decision_id": decision.id, "content_id": row.content_id,
                  "expires_at": row.expires_at.isoformat()})
    return row


def revoke_strikes_for(session: Session, tenant: str, content_id: str, now: datetime) -> int:
    """Lift the strikes a removal of this item caused (it was restored)."""
    rows = session.execute(
        select(StrikeRow).where(StrikeRow.tenant == tenant, StrikeRow.content_id == content_id,
                                StrikeRow.revoked.is_(False))
    ).scalars().all()
    for r in rows:
        r.revoked = True
        standing_changed(session, tenant, r.actor_id)
        emit(session, tenant=tenant, type=DomainEventType.STRIKE_REVOKED,
             key=f"strike:{r.decision_id}:revoked", subject=f"account:{r.actor_id}", at=now,
             payload={"actor_id": r.actor_id, "strike_id": r.id, "category": r.category,
                      "decision_id": r.decision_id, "content_id": content_id})
    return len(rows)


def active_strike_rows(session: Session, tenant: str, actor_id: str,
                       now: datetime) -> list[StrikeRow]:
    """The author's strikes that count now (not revoked, not decayed), oldest first. A strike
    added in this transaction has no id until the session flushes."""
    memo = tx_cache(session, "strike_rows")
    if (tenant, actor_id, now) not in memo:
        recall_active_strikes(session, tenant, [actor_id], now)
    return [r for r in memo[(tenant, actor_id, now)] if not r.revoked]


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
