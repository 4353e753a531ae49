"""Engagement counters and the virality circuit breaker.

The platform reports each item's cumulative views and shares in bulk (`POST /v1/engagement`, or
`record_engagement` in the library). Counters only go up and reports only go forward in time: a
report older than the last one, or with smaller counters, is refused for that item and nothing of
it is stored. Each accepted batch is one ledger entry.

After the counters move, the breaker looks at each item: if its shares or views per hour over the
policy's window exceed the `breaker:` thresholds, its latest automated decision carries a risk
signal at or above the policy's grey-zone score, and no person or fact-check has looked at it, the
breaker trips: the distribution service caps its multiplier and stops recommending it, and it goes
to the front of the review queue for viral items. A reviewer's decision, a fact-check label or a removal releases
it (BreakerEnforcer, in the decision's transaction). An item trips at most once: after release
someone has looked, which is what the breaker waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.enforce.hooks import Enforcement
from tidebreak.enforce.penalties import aware
from tidebreak.ingest import InvalidInput, _str_field, _timestamp
from tidebreak.model import ActionType, EventType, OutcomeKind, RuleHit
from tidebreak.policy.sections import BreakerConfig
from tidebreak.enforce.review_queue import open_task
from tidebreak.store.schema import BreakerRow, ContentRow, DecisionRow, EngagementSampleRow
from tidebreak.store.txcache import is_new, tx_cache

MAX_UPDATES = 1000
FACT_CHECK_CATEGORIES = ("misinformation", "voting_misinformation")


@dataclass(frozen=True, slots=True)
class EngagementUpdate:
    content_id: str
    views: int
    shares: int
    at: datetime


@dataclass
class EngagementResult:
    applied: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    tripped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"applied": len(self.applied), "rejected": self.rejected, "tripped": self.tripped}


# Called in the trip's transaction with (session, tenant, BreakerRow, now): the statement of
# reasons for the restriction (registered by tidebreak.accountability.restrictions).
TRIP_LISTENERS: list[Callable[[Session, str, BreakerRow, datetime], None]] = []


def parse_engagement(obj: Any, *, now: datetime) -> list[EngagementUpdate]:
    """Validate `{"updates": [{"id", "views", "shares", "at"}, ...]}`; any malformed entry
    rejects the whole batch (InvalidInput names it), so nothing half-read is stored."""
    if not isinstance(obj, dict) or not isinstance(obj.get("updates"), list):
        raise InvalidInput('body must be {"updates": [{"id", "views", "shares", "at"}, ...]}')
    items = obj["updates"]
    if not items:
        raise InvalidInput("'updates' is empty")
    if len(items) > MAX_UPDATES:
        raise InvalidInput(f"at most {MAX_UPDATES} updates per call, got {len(items)}")
    out: list[EngagementUpdate] = []
    seen: set[str] = set()
    for i, u in enumerate(items):
        where = f"updates[{i}]"
        if not isinstance(u, dict):
            raise InvalidInput(f"{where} must be an object")
        extra = set(u) - {"id", "views", "shares", "at"}
        if extra:
            raise InvalidInput(f"{where}: unknown field {sorted(extra)[0]!r}")
        try:
            cid = _str_field(u, "id", required=True)
        except InvalidInput as e:
            raise InvalidInput(f"{where}: {e}") from None
        assert cid is not None
        if cid in seen:
            raise InvalidInput(f"{where}: id {cid!r} appears twice in one batch")
        seen.add(cid)
        counts = []
        for k in ("views", "shares"):
            v = u.get(k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidInput(f"{where}: '{k}' must be a whole number >= 0 (cumulative)")
            counts.append(v)
        if "at" not in u:
            raise InvalidInput(f"{where}: 'at' is required (when the counters were read)")
        try:
            at = _timestamp(u["at"])
        except InvalidInput:
            raise InvalidInput(f"{where}: 'at' must be an ISO 8601 time or a Unix timestamp") \
                from None
        assert at is not None
        if at > now + timedelta(minutes=5):
            raise InvalidInput(f"{where}: 'at' is in the future")
        out.append(EngagementUpdate(cid, counts[0], counts[1], at))
    return out


def record_engagement(s: Session, tenant: str, updates: list[EngagementUpdate],
                      cfg: BreakerConfig | None, now: datetime) -> EngagementResult:
    """Apply counter updates in the caller's transaction; trip breakers where due."""
    res = EngagementResult()
    ids = [u.content_id for u in updates]
    rows = {r.id: r for r in s.execute(select(ContentRow).where(
        ContentRow.tenant == tenant, ContentRow.id.in_(ids))).scalars()}
    last: dict[str, datetime] = {}
    for cid, at in s.execute(select(EngagementSampleRow.content_id, func.max(EngagementSampleRow.at))
                             .where(EngagementSampleRow.tenant == tenant,
                                    EngagementSampleRow.content_id.in_(ids))
                             .group_by(EngagementSampleRow.content_id)):
        last[cid] = aware(at)  # type: ignore[assignment]
    applied: list[tuple[EngagementUpdate, ContentRow]] = []
    for u in updates:
        row = rows.get(u.content_id)
        reason = None
        if row is None:
            reason = f"unknown content {u.content_id!r}: submit it before its engagement"
        elif u.content_id in last and u.at <= last[u.content_id]:
            reason = (f"out of order: reading at {u.at.isoformat()} is not after the last one "
                      f"({last[u.content_id].isoformat()})")
        elif row.created_at is not None and u.at < aware(row.created_at):  # type: ignore[operator]
            reason = "reading is older than the content itself"
        elif u.views < (row.views or 0) or u.shares < (row.shares or 0):
            reason = (f"counters are cumulative and cannot go down (views {u.views} < "
                      f"{row.views} or shares {u.shares} < {row.shares})")
        if reason is not None:
            res.rejected.append({"id": u.content_id, "reason": reason})
            continue
        assert row is not None
        s.add(EngagementSampleRow(tenant=tenant, content_id=u.content_id, at=u.at,
                                  views=u.views, shares=u.shares))
        row.views, row.shares = u.views, u.shares
        applied.append((u, row))
        res.applied.append(u.content_id)
    if not applied:
        return res
    ledger.append(s, tenant=tenant, kind="engagement", subject=f"engagement:{len(applied)}",
                  actor="platform", at=now,
                  payload={"updates": [{"id": u.content_id, "views": u.views, "shares": u.shares,
                                        "at": u.at.isoformat()} for u, _ in applied]})
    if cfg is not None:
        s.flush()
        fast = _fast(s, tenant, applied, last, cfg)
        held = set(s.execute(select(BreakerRow.content_id).where(
            BreakerRow.tenant == tenant, BreakerRow.content_id.in_(list(fast)))).scalars()) \
            if fast else set()
        for u, row in applied:
            if u.content_id in fast and u.content_id not in held:
                tripped = check(s, tenant, row, fast[u.content_id], cfg, now)
                if tripped is not None:
                    res.tripped.append({"id": row.id, **tripped.reasons})
    return res


def _fast(s: Session, tenant: str, applied: list[tuple[EngagementUpdate, ContentRow]],
          last: dict[str, datetime], cfg: BreakerConfig) -> dict[str, tuple[float, float]]:
    """Shares and views per hour over the window ending at each reading, for the items over a
    threshold (one query for the whole batch). The baseline is the latest earlier reading at
    least a window old; failing that the oldest recent one, the previous one, or the item's
    creation (when it had no engagement)."""
    window = timedelta(minutes=cfg.window_minutes)
    lo = min(u.at for u, _ in applied) - window - timedelta(hours=24)
    samples: dict[str, list[tuple[datetime, int, int]]] = {}
    for cid, at, v, sh in s.execute(select(
            EngagementSampleRow.content_id, EngagementSampleRow.at, EngagementSampleRow.views,
            EngagementSampleRow.shares).where(
            EngagementSampleRow.tenant == tenant, EngagementSampleRow.at >= lo,
            EngagementSampleRow.content_id.in_([u.content_id for u, _ in applied]))
            .order_by(EngagementSampleRow.at)):
        samples.setdefault(cid, []).append((aware(at), v, sh))  # type: ignore[arg-type]
    out: dict[str, tuple[float, float]] = {}
    for u, row in applied:
        earlier = [x for x in samples.get(u.content_id, []) if x[0] < u.at]
        old = [x for x in earlier if x[0] <= u.at - window]
        if old:
            base = old[-1]
        elif earlier:
            base = earlier[0]
        elif u.content_id in last:  # only readings older than the look-back
            base = (last[u.content_id], 0, 0)  # counters unknown there: count from zero
        else:
            base = (aware(row.created_at) or u.at, 0, 0)  # type: ignore[assignment]
        hours = max((u.at - base[0]).total_seconds() / 3600, 1 / 60)
        shares_rate, views_rate = (u.shares - base[2]) / hours, (u.views - base[1]) / hours
        if shares_rate >= cfg.shares_per_hour or views_rate >= cfg.views_per_hour:
            out[u.content_id] = (shares_rate, views_rate)
    return out


def check(s: Session, tenant: str, row: ContentRow, rates: tuple[float, float],
          cfg: BreakerConfig, now: datetime) -> BreakerRow | None:
    """Trip the breaker on an item spreading fast (`rates`: shares/h, views/h) if it is risky
    and unreviewed. The caller has checked it never tripped before: either it is still held,
    or someone has looked since."""
    if row.state in ("removed", "deleted"):
        return None
    shares_rate, views_rate = rates
    decisions = s.execute(select(DecisionRow.decided_by, DecisionRow.payload).where(
        DecisionRow.tenant == tenant, DecisionRow.content_id == row.id)
        .order_by(DecisionRow.created_at)).all()
    if any(by.startswith("reviewer:") for by, _ in decisions):
        return None  # a person has looked
    if any(_fact_checked(p) for _, p in decisions):
        return None
    automated = [p for by, p in decisions if by == "automation"]
    if not automated:
        return None
    top: dict[str, float] = {}
    for sig in automated[-1].get("signals", []):
        top[sig["category"]] = max(top.get(sig["category"], 0.0), float(sig["score"]))
    risky = {c: round(v, 4) for c, v in top.items() if c in cfg.risk and v >= cfg.risk[c]}
    if not risky:
        return None
    reasons = {"shares_per_hour": round(shares_rate, 2), "views_per_hour": round(views_rate, 2),
               "thresholds": {"shares_per_hour": cfg.shares_per_hour,
                              "views_per_hour": cfg.views_per_hour,
                              "window_minutes": cfg.window_minutes},
               "risk_signals": risky, "risk_thresholds": {c: cfg.risk[c] for c in risky},
               "reviewed": False, "cap": cfg.cap, "ground": cfg.ground,
               "queue": cfg.queue}
    b = BreakerRow(tenant=tenant, content_id=row.id, cap=cfg.cap, reasons=reasons, tripped_at=now)
    s.add(b)
    tx_cache(s, "breakers").setdefault((tenant, row.id), []).append(b)
    # Its own queue, as a critical task: the review module ranks it by severity and reach, so a
    # viral item comes first there.
    open_task(s, tenant=tenant, content_id=row.id, decision_id=row.last_decision_id,
              queue=cfg.queue, priority=0.0, reason="breaker: spreading fast while risky and "
              "unreviewed", now=now, severity="critical", score=max(risky.values()))
    ledger.append(s, tenant=tenant, kind="breaker.trip", subject=row.id, actor="automation",
                  payload=reasons, at=now)
    # Holding an item back is a restriction (enforcement), so it gets its statement of reasons
    # (tidebreak.accountability.restrictions); the review task is the routing beside it.
    s.flush()
    for listener in TRIP_LISTENERS:
        listener(s, tenant, b, now)
    return b


def _fact_checked_hits(hits: Iterable[RuleHit]) -> bool:
    """A decision's hits label it as fact-checked (a restricting label under a fact-check
    category): `_fact_checked`'s rule, on the hits themselves rather than a stored payload."""
    return any(h.category in FACT_CHECK_CATEGORIES
               and any(a.type == ActionType.LABEL and a.outcome != OutcomeKind.INFORMATION
                       for a in h.actions) for h in hits)


def _fact_checked(payload: dict[str, Any]) -> bool:
    """`_fact_checked_hits` on a stored decision payload (`Decision.to_dict()`)."""
    return any(h.get("category") in FACT_CHECK_CATEGORIES
               and any(a.get("type") == ActionType.LABEL.value
                       and a.get("outcome") != "information" for a in h.get("actions", []))
               for h in payload.get("reasons", []))


def release(s: Session, tenant: str, content_id: str, by: str, why: str,
            now: datetime) -> list[BreakerRow]:
    if is_new(s, "content", (tenant, content_id)):  # only this transaction can have tripped
        held = [b for b in tx_cache(s, "breakers").get((tenant, content_id), [])
                if b.released_at is None]
    else:
        held = list(s.execute(select(BreakerRow).where(
            BreakerRow.tenant == tenant, BreakerRow.content_id == content_id,
            BreakerRow.released_at.is_(None))).scalars().all())
    for b in held:
        b.released_at, b.released_by = now, by
        ledger.append(s, tenant=tenant, kind="breaker.release", subject=content_id, actor=by,
                      payload={"breaker_id": b.id, "reason": why}, at=now)
    return list(held)


class BreakerEnforcer:
    """A built-in enforcer (tidebreak.plugins.builtin): a review, a fact-check label or a removal releases."""

    name = "breaker"

    def __call__(self, e: Enforcement) -> None:
        d = e.decision
        if d.decided_by.startswith("reviewer:"):
            why = f"reviewed ({d.action.value})"
        elif _fact_checked_hits(d.reasons):
            why = "fact-checked: labelled"
        elif e.newly_removed or e.event.type == EventType.DELETE:
            why = "no longer visible"
        else:
            return
        release(e.session, e.tenant, e.content.id, d.decided_by, why, e.now)
