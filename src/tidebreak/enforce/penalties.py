"""Account penalties: strikes escalate along the policy's ladder; a restore lifts what it caused.

Every removal adds a strike (tidebreak.enforce.strikes). This enforcer, running in the same
transaction as the decision, looks at the author's active strikes and imposes the penalty the
policy's `penalties:` section calls for: the highest ladder step reached, or at once the penalty
of an `immediate` rule (e.g. a ban for a critical violent threat). Each penalty is a row with its
reasons (the strikes it counted, the rule, the ground) and a ledger entry.

When a reviewer or an appeal restores an item, the pipeline revokes its strike; every penalty that
counted that strike is lifted (with a ledger entry), because the threshold it was imposed at was
reached with a strike that should not have been given.

The account's status (ActorRow.status, which policies read as `author.status`) is the strongest
live penalty, "warned" while strikes are active, else "active". Temporary penalties end by
themselves; the stored status catches up (with a ledger entry) at the author's next decision, and
`standing()` always answers with the live value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.enforce.hooks import Enforcement
from tidebreak.enforce.strikes import (
    active_strike_rows,
    active_strikes,
    standing_changed,
    strike_dict,
    strike_ids_for_content,
)
from tidebreak.policy.sections import PENALTY_STRENGTH, ImmediateRule, LadderStep
from tidebreak.store.early_insert import insert_now
from tidebreak.store.schema import ActorRow, PenaltyRow, StrikeRow
from tidebreak.store.txcache import added, tx_cache

RESTRICTING = ("limited", "suspended", "banned")  # penalties that restrict while they last


def aware(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything tidebreak stores is UTC."""
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else aware(dt).isoformat()  # type: ignore[union-attr]


def live_penalties(session: Session, tenant: str, actor_ids: Iterable[str],
                   now: datetime) -> dict[str, list[PenaltyRow]]:
    """Restricting penalties in force now, per actor (one query for many actors). Remembered
    for the transaction (a batch asks once for all its authors) until one of them changes."""
    memo = tx_cache(session, "live_penalties")
    wanted = set(actor_ids)
    ids = [a for a in wanted if (tenant, a, now) not in memo]
    if ids:
        for a, rows in _live_penalties(session, tenant, ids, now).items():
            memo[(tenant, a, now)] = rows
    return {a: [p for p in memo[(tenant, a, now)] if _in_force(p, now)] for a in wanted}


def _in_force(p: PenaltyRow, now: datetime) -> bool:
    return (p.penalty in RESTRICTING and p.lifted_at is None
            and aware(p.starts_at) <= now  # type: ignore[operator]
            and (p.ends_at is None or aware(p.ends_at) > now))  # type: ignore[operator]


def _live_penalties(session: Session, tenant: str, ids: list[str],
                    now: datetime) -> dict[str, list[PenaltyRow]]:
    out: dict[str, list[PenaltyRow]] = {a: [] for a in ids}
    rows = session.execute(
        select(PenaltyRow).where(
            PenaltyRow.tenant == tenant, PenaltyRow.actor_id.in_(ids),
            PenaltyRow.penalty.in_(RESTRICTING), PenaltyRow.lifted_at.is_(None),
            PenaltyRow.starts_at <= now,
            or_(PenaltyRow.ends_at.is_(None), PenaltyRow.ends_at > now))
    ).scalars()
    for r in rows:
        out[r.actor_id].append(r)
    return out


def status_of(penalties: list[PenaltyRow], active_strikes: int) -> str:
    if penalties:
        return max((p.penalty for p in penalties), key=PENALTY_STRENGTH.__getitem__)
    return "warned" if active_strikes else "active"


def penalty_dict(p: PenaltyRow) -> dict[str, Any]:
    return {"id": p.id, "penalty": p.penalty, "limits": list(p.limits or []), "reach": p.reach,
            "starts_at": _iso(p.starts_at), "ends_at": _iso(p.ends_at), "rule": p.rule,
            "ground": p.ground, "notice": p.notice, "cause_content_id": p.cause_content_id,
            "cause_group_id": p.cause_group_id, "strike_ids": list(p.strike_ids or []),
            "reasons": p.reasons, "policy_version": p.policy_version, "decided_by": p.decided_by,
            "lifted_at": _iso(p.lifted_at), "lifted_reason": p.lifted_reason}


def impose(session: Session, *, tenant: str, actor_id: str, penalty: str, days: float | None,
           limits: tuple[str, ...], reach: float, rule: str, ground: str, notice: str,
           reasons: dict[str, Any], policy_version: str, now: datetime,
           cause_content_id: str | None = None, cause_group_id: str | None = None,
           strike_ids: list[int] | None = None, decided_by: str = "automation") -> PenaltyRow:
    """Record one penalty (a decision about an account) and its ledger entry."""
    if _actor(session, tenant, actor_id) is None:  # e.g. a group admin who never posted
        session.add(ActorRow(tenant=tenant, id=actor_id, status="active", first_seen=now, meta={}))
    ends = now + timedelta(days=days) if days is not None else None
    standing_changed(session, tenant, actor_id)
    row = PenaltyRow(tenant=tenant, actor_id=actor_id, penalty=penalty, limits=list(limits),
                     reach=reach, starts_at=now, ends_at=ends, rule=rule, ground=ground,
                     notice=notice, cause_content_id=cause_content_id,
                     cause_group_id=cause_group_id, strike_ids=strike_ids or [], reasons=reasons,
                     policy_version=policy_version, decided_by=decided_by)
    insert_now(session, row)  # its id goes into the ledger entry (the batch's rest waits)
    for (t, a, at), rows in tx_cache(session, "live_penalties").items():
        if t == tenant and a == actor_id and _in_force(row, at):
            rows.append(row)
    ledger.append(session, tenant=tenant, kind="account.penalty", subject=f"account:{actor_id}",
                  actor=decided_by, payload=penalty_dict(row), at=now)
    emit(session, tenant=tenant, type=DomainEventType.ACCOUNT_PENALTY_IMPOSED,
         key=f"penalty:{row.id}", subject=f"account:{actor_id}", at=now,
         payload={"actor_id": actor_id, **penalty_dict(row)})
    for listener in PENALTY_LISTENERS:
        listener(session, tenant, row, now)
    return row


# Called in the penalty's transaction for every penalty imposed (e.g. accountability writes the
# statement of reasons for an account restriction). Registered by the parts that need them, so
# enforcement does not depend on them.
PENALTY_LISTENERS: list[Callable[[Session, str, PenaltyRow, datetime], None]] = []


def _actor(session: Session, tenant: str, actor_id: str) -> ActorRow | None:
    # an account this transaction just added is not in the identity map until a flush
    new = added(session, "actor", (tenant, actor_id))
    return new if new is not None else session.get(ActorRow, (tenant, actor_id))


def _notice(penalty: str, n: int, days: float | None, limits: tuple[str, ...]) -> str:
    strikes = f"{n} active strike{'s' * (n != 1)}"
    if penalty == "warning":
        return (f"Your account has {strikes}. Further violations will restrict your account. "
                "Strikes expire over time; you can appeal any removal.")
    if penalty == "limited":
        return (f"Your account has {strikes}, so for {days:g} days you cannot use: "
                f"{', '.join(limits)}. You can appeal the removals behind these strikes.")
    if penalty == "suspended":
        return (f"Your account has {strikes} and is suspended for {days:g} days. You can appeal "
                "the removals behind these strikes.")
    return ("Your account is permanently suspended for a severe violation. You can appeal the "
            "removal behind it.")


def escalate(e: Enforcement) -> PenaltyRow | None:
    """After a removal added a strike: impose what the policy's ladder says for the new count."""
    cfg = e.policy.sections.penalties if e.policy is not None else None
    author = e.content.author_id
    if cfg is None or author is None:
        return None
    s = e.session
    strikes = [r for r in active_strike_rows(s, e.tenant, author, e.now)
               if r.category not in cfg.separate]
    new = next((r for r in strikes if r.decision_id == e.decision.id), None)
    if new is None:
        return None  # no strike (nothing removing in the reasons): nothing to escalate
    for r in strikes:
        if r.id is None:  # the strikes' ids go into the penalty and its reasons
            insert_now(s, r)
    n = len(strikes)
    rule: ImmediateRule | LadderStep | None = next(
        (r for r in cfg.immediate if r.category == new.category
         and (r.severity is None or r.severity == new.severity)), None)
    if rule is None:
        rule = cfg.step_for(n)
    if rule is None:
        return None
    limits = rule.limits if isinstance(rule, LadderStep) else ()
    reach = rule.reach if isinstance(rule, LadderStep) else 0.0
    reasons = {
        "trigger": {"decision_id": e.decision.id, "content_id": e.content.id,
                    "decided_by": e.decision.decided_by, "rules": e.decision.rules},
        "active_strikes": n,
        "threshold": rule.strikes if isinstance(rule, LadderStep) else None,
        "immediate": None if isinstance(rule, LadderStep) else
        f"a {new.severity} {new.category} violation brings this penalty at once",
        "strikes": [strike_dict(r) for r in strikes],
    }
    return impose(s, tenant=e.tenant, actor_id=author, penalty=rule.penalty, days=rule.days,
                  limits=limits, reach=reach, rule=rule.rule_id, ground=cfg.ground,
                  notice=rule.notice or _notice(rule.penalty, n, rule.days, limits),
                  reasons=reasons, policy_version=e.policy.version if e.policy else "",
                  now=e.now, cause_content_id=e.content.id,
                  strike_ids=[r.id for r in strikes])


def lift_for_restore(s: Session, tenant: str, actor_id: str, content_id: str, by: str,
                     now: datetime) -> list[PenaltyRow]:
    """Lift every unlifted penalty that counted a strike this item's removal caused."""
    ids = strike_ids_for_content(s, tenant, content_id)
    if not ids:
        return []
    rows = s.execute(select(PenaltyRow).where(
        PenaltyRow.tenant == tenant, PenaltyRow.actor_id == actor_id,
        PenaltyRow.lifted_at.is_(None))).scalars().all()
    lifted = []
    for p in rows:
        if ids & set(p.strike_ids or []):
            p.lifted_at = now
            standing_changed(s, tenant, actor_id)
            p.lifted_reason = (f"{content_id} was restored by {by}: its strike is revoked, so "
                               "this penalty no longer has the strikes it was imposed for")
            ledger.append(s, tenant=tenant, kind="account.penalty.lifted",
                          subject=f"account:{actor_id}", actor=by,
                          payload={"penalty_id": p.id, "penalty": p.penalty,
                                   "restored_content_id": content_id,
                                   "reason": p.lifted_reason}, at=now)
            emit(s, tenant=tenant, type=DomainEventType.ACCOUNT_PENALTY_LIFTED,
                 key=f"penalty:{p.id}:lifted", subject=f"account:{actor_id}", at=now,
                 payload={"actor_id": actor_id, "penalty_id": p.id, "penalty": p.penalty,
                          "lifted_by": by, "restored_content_id": content_id,
                          "reason": p.lifted_reason})
            lifted.append(p)
    return lifted


def sync_status(s: Session, tenant: str, actor_id: str, now: datetime, reason: str) -> str:
    """Bring ActorRow.status in line with the live penalties; record a change in the ledger."""
    actor = _actor(s, tenant, actor_id)
    if actor is None:
        return "active"
    # Status depends on live penalties, active strikes and the time; in a batch's transaction
    # it is read once per author, again only after a strike or penalty changed for them.
    synced = tx_cache(s, "status_synced")
    if (tenant, actor_id, now) in synced:
        return actor.status  # type: ignore[no-any-return]
    live = live_penalties(s, tenant, [actor_id], now)[actor_id]
    status = status_of(live, sum(active_strikes(s, tenant, actor_id, now).values()))
    if actor.status != status:
        ledger.append(s, tenant=tenant, kind="account.status", subject=f"account:{actor_id}",
                      actor="automation", payload={"from": actor.status, "to": status,
                                                   "reason": reason}, at=now)
        actor.status = status
    synced[(tenant, actor_id, now)] = True
    return status


class PenaltyEnforcer:
    """A built-in enforcer (tidebreak.plugins.builtin): penalties follow every decision about an author."""

    name = "penalties"

    def __call__(self, e: Enforcement) -> None:
        author = e.content.author_id
        if author is None:
            return
        reason = f"decision {e.decision.id} on {e.content.id}"
        if e.restored:
            lift_for_restore(e.session, e.tenant, author, e.content.id, e.decision.decided_by,
                             e.now)
            reason = f"{e.content.id} restored by {e.decision.decided_by}"
        elif e.newly_removed:
            p = escalate(e)
            if p is not None:
                reason = f"penalty {p.id} ({p.penalty}, {p.rule}) after removal of {e.content.id}"
        sync_status(e.session, e.tenant, author, e.now, reason)


def standing(s: Session, tenant: str, actor_id: str, now: datetime) -> dict[str, Any] | None:
    """What an account holder (and the platform) may see: status, limits, strikes, penalties with
    their reasons. None for an account tidebreak has never seen."""
    actor = s.get(ActorRow, (tenant, actor_id))
    if actor is None:
        return None
    strikes = active_strike_rows(s, tenant, actor_id, now)
    live = live_penalties(s, tenant, [actor_id], now)[actor_id]
    status = status_of(live, len(strikes))
    history = s.execute(select(PenaltyRow).where(PenaltyRow.tenant == tenant,
                                                 PenaltyRow.actor_id == actor_id)
                        .order_by(PenaltyRow.starts_at, PenaltyRow.id)).scalars().all()
    past = s.execute(select(StrikeRow).where(
        StrikeRow.tenant == tenant, StrikeRow.actor_id == actor_id)
        .order_by(StrikeRow.created_at, StrikeRow.id)).scalars().all()
    ends = [aware(p.ends_at) for p in live]
    return {
        "account": actor_id,
        "status": status,
        "limits": sorted({f for p in live for f in (p.limits or [])}),
        "reach": min((p.reach for p in live), default=1.0),
        "recommendable": status not in RESTRICTING,
        "until": None if not live or any(x is None for x in ends) else
        max(ends).isoformat(),  # type: ignore[type-var, union-attr]
        "active_strikes": [strike_dict(r) for r in strikes],
        "strikes": [strike_dict(r) for r in past],
        "penalties": [penalty_dict(p) for p in history],
    }
