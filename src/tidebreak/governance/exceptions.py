"""Public-interest (newsworthiness) exceptions.

Violence, incitement and voting-misinformation rules apply to every account alike: the policy
engine never sees who the author is. The only way an item that breaks a rule stays up is an
exception for that one item and category, granted by a named senior reviewer or policy admin
(permission `exceptions:grant`) with a written justification and an expiry. Granting it

1. stores the exception and a ledger entry `exception.grant` (who, role, why, until when);
2. records a human decision through `Pipeline.decide_by_human`, whose reasons cite the exception
   (the item stays up behind a public-interest notice: a warn action, not a clean bill);
3. from then until expiry, every automated decision on the item (an edit, a report, a rescan)
   passes through `exception_adjuster`, which replaces the enforced hits of that category with
   one `exception:<id>` hit that cites the rules it set aside.

`expire_exceptions` ends the lapsed ones (ledger `exception.expire`) and rescans their items so
the rules apply again. Voter interference is never excepted: a public-interest case for a false
claim about how to vote does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.auth.roles import allowed
from tidebreak.governance import actor_type
from tidebreak.governance.errors import Conflict, Forbidden, GovernanceError, NotFound
from tidebreak.model import (
    CATEGORIES,
    Action,
    ActionType,
    Content,
    ContentKind,
    Event,
    EventType,
    RuleHit,
)
from tidebreak.store.schema import ActorRow, ContentRow, PolicyExceptionRow
from tidebreak.store.txcache import is_new

KINDS = ("newsworthiness", "public_interest")
NEVER_EXCEPTED = frozenset({"voting_misinformation"})
MIN_JUSTIFICATION = 20  # characters: a reason someone else can check, not "ok"
MAX_DAYS = 90  # an exception is reviewed again at least this often
DEFINITION = ("Public-interest (newsworthiness) exceptions granted in the period, by the category "
              "of the rule set aside and by the author's actor type (e.g. politician, ordinary); "
              "each was granted by a named senior reviewer or policy admin with a written "
              "justification and an expiry.")


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Granted:
    exception: dict[str, Any]
    decision: dict[str, Any]


def to_dict(row: PolicyExceptionRow) -> dict[str, Any]:
    return {"id": row.id, "content_id": row.content_id, "category": row.category,
            "kind": row.kind, "justification": row.justification, "granted_by": row.granted_by,
            "granted_role": row.granted_role, "actor_type": row.actor_type, "status": row.status,
            "created_at": _aware(row.created_at).isoformat(),
            "expires_at": _aware(row.expires_at).isoformat(),
            "ended_at": _aware(row.ended_at).isoformat() if row.ended_at else None}


def _notice(row: PolicyExceptionRow) -> str:
    return (f"Kept up in the public interest ({row.kind}) although it breaks our rules on "
            f"{row.category}, until {_aware(row.expires_at).date().isoformat()}.")


def _ground(row: PolicyExceptionRow, rules: list[str] | None = None) -> str:
    set_aside = f"; sets aside {', '.join(rules)}" if rules else ""
    return (f"Public-interest exception {row.id} ({row.kind}) granted by {row.granted_by} "
            f"({row.granted_role}) until {_aware(row.expires_at).isoformat()}: "
            f"{row.justification}{set_aside}")


def validate(*, category: str, kind: str, justification: str, role: str | None,
             expires_at: datetime, now: datetime) -> None:
    """Every reason to refuse, checked before anything is stored."""
    if role is None or not allowed(role, "exceptions:grant"):
        raise Forbidden(f"role {role or 'none'!r} may not grant exceptions: a senior_reviewer or "
                        "policy_admin must")
    if category not in CATEGORIES:
        raise GovernanceError(f"unknown category {category!r}")
    if category in NEVER_EXCEPTED:
        raise GovernanceError(f"{category} is never excepted: voter interference has no "
                              "public-interest case")
    if kind not in KINDS:
        raise GovernanceError(f"kind must be one of {', '.join(KINDS)}")
    if len((justification or "").strip()) < MIN_JUSTIFICATION:
        raise GovernanceError(f"a written justification of at least {MIN_JUSTIFICATION} "
                              "characters is required")
    expires_at = _aware(expires_at)
    if expires_at <= now:
        raise GovernanceError("the expiry must be in the future")
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise GovernanceError(f"an exception may last at most {MAX_DAYS} days")


def grant(pipeline: Any, *, content_id: str, category: str, justification: str,
          expires_at: datetime, by: str, role: str | None,
          kind: str = "newsworthiness") -> Granted:
    """Grant an exception (see the module doc). `role` is the grantor's role as established by
    the caller (console account or API key), never taken from the request."""
    now = pipeline.clock()
    validate(category=category, kind=kind, justification=justification, role=role,
             expires_at=expires_at, now=now)
    tenant = pipeline.tenant
    with Session(pipeline.engine, expire_on_commit=False) as s, s.begin():
        content = s.get(ContentRow, (tenant, content_id))
        if content is None:
            raise NotFound(f"no content {content_id!r}")
        if _active(s, tenant, content_id, now, category):
            raise Conflict(f"content {content_id!r} already has an active {category} exception")
        author = s.get(ActorRow, (tenant, content.author_id)) if content.author_id else None
        row = PolicyExceptionRow(
            id=uuid.uuid4().hex[:16], tenant=tenant, content_id=content_id, category=category,
            kind=kind, justification=justification.strip(), granted_by=by,
            granted_role=str(role), actor_type=actor_type(author.meta if author else None),
            status="active", created_at=now, expires_at=_aware(expires_at))
        s.add(row)
        ledger.append(s, tenant=tenant, kind="exception.grant", subject=content_id, actor=by,
                      payload=to_dict(row), at=now)
    # The human decision that keeps the item up says why, in its reasons.
    out = pipeline.decide_by_human(
        content_id, reviewer=by, category=category, ground=_ground(row), notice=_notice(row),
        actions=[Action(ActionType.WARN, label=_notice(row))], note=row.justification,
        key=f"exception:{row.id}", bank=False)
    return Granted(to_dict(row), out.decision.to_dict())


def _active(s: Session, tenant: str, content_id: str, now: datetime,
            category: str | None = None) -> list[PolicyExceptionRow]:
    if is_new(s, "content", (tenant, content_id)):
        return []  # a person grants exceptions on stored content, never inside its creation
    q = select(PolicyExceptionRow).where(PolicyExceptionRow.tenant == tenant,
                                         PolicyExceptionRow.content_id == content_id,
                                         PolicyExceptionRow.status == "active")
    if category is not None:
        q = q.where(PolicyExceptionRow.category == category)
    return [r for r in s.execute(q).scalars() if _aware(r.expires_at) > now]


def exception_adjuster(a: Any) -> tuple[RuleHit, ...]:
    """Decide step: while an exception is active, the enforced hits of its category become one
    hit citing the exception (and the rules it sets aside)."""
    if not a.hits or a.event.type == EventType.CREATE:  # new content: no exception yet
        return a.hits
    active = _active(a.session, a.tenant, a.content.id, a.now)
    if not active:
        return a.hits
    hits = list(a.hits)
    for exc in active:
        replaced = [h for h in hits if h.category == exc.category]
        if not replaced:
            continue
        hits = [h for h in hits if h.category != exc.category]
        hits.append(RuleHit(
            rule_id=f"exception:{exc.id}", category=exc.category,
            actions=(Action(ActionType.WARN, label=_notice(exc)),),
            ground=_ground(exc, [h.rule_id for h in replaced]), notice=_notice(exc),
            signals=tuple(s for h in replaced for s in h.signals),
            severity=replaced[0].severity, policy_version=replaced[0].policy_version))
    return tuple(hits)


def expire(pipeline: Any) -> list[str]:
    """End the exceptions past their expiry (ledger `exception.expire`) and rescan their items,
    so the rules apply to them again. Returns the ids ended."""
    now = pipeline.clock()
    tenant = pipeline.tenant
    with Session(pipeline.engine, expire_on_commit=False) as s, s.begin():
        rows = [r for r in s.execute(select(PolicyExceptionRow).where(
            PolicyExceptionRow.tenant == tenant, PolicyExceptionRow.status == "active")).scalars()
            if _aware(r.expires_at) <= now]
        for r in rows:
            r.status, r.ended_at = "expired", now
            ledger.append(s, tenant=tenant, kind="exception.expire", subject=r.content_id,
                          actor="automation", payload={"id": r.id, "category": r.category,
                                                       "expired_at": now.isoformat()}, at=now)
    for r in rows:
        _rescan(pipeline, r.content_id, f"rescan:exception-expired:{r.id}", now)
    return [r.id for r in rows]


def revoke(pipeline: Any, exception_id: str, *, by: str, role: str | None, reason: str) -> None:
    now = pipeline.clock()
    if role is None or not allowed(role, "exceptions:grant"):
        raise Forbidden(f"role {role or 'none'!r} may not revoke exceptions")
    if not reason.strip():
        raise GovernanceError("a reason is required")
    with Session(pipeline.engine, expire_on_commit=False) as s, s.begin():
        r = s.get(PolicyExceptionRow, exception_id)
        if r is None or r.tenant != pipeline.tenant:
            raise NotFound(f"no exception {exception_id!r}")
        if r.status != "active":
            raise Conflict(f"exception {exception_id!r} is {r.status}")
        r.status, r.ended_at = "revoked", now
        ledger.append(s, tenant=pipeline.tenant, kind="exception.revoke", subject=r.content_id,
                      actor=by, payload={"id": r.id, "reason": reason}, at=now)
    _rescan(pipeline, r.content_id, f"rescan:exception-revoked:{r.id}", now)


def _rescan(pipeline: Any, content_id: str, event_id: str, now: datetime) -> None:
    # A rescan re-runs detection and policy over the stored item (the pipeline loads its text).
    ev = Event(event_id=event_id, type=EventType.RESCAN,
               content=Content(id=content_id, kind=ContentKind.POST, text=""), received_at=now)
    pipeline.process_batch([ev])


def list_exceptions(engine: Engine, tenant: str, *, content_id: str | None = None) -> list[dict[str, Any]]:
    with Session(engine) as s:
        q = select(PolicyExceptionRow).where(PolicyExceptionRow.tenant == tenant)
        if content_id:
            q = q.where(PolicyExceptionRow.content_id == content_id)
        return [to_dict(r) for r in s.execute(q.order_by(PolicyExceptionRow.created_at)).scalars()]


def report_section(session: Session, tenant: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Transparency report: exceptions granted in [start, end)."""
    rows = list(session.execute(select(PolicyExceptionRow).where(
        PolicyExceptionRow.tenant == tenant, PolicyExceptionRow.created_at >= start,
        PolicyExceptionRow.created_at < end)).scalars())
    by_category: dict[str, int] = {}
    by_actor: dict[str, int] = {}
    by_both: dict[str, dict[str, int]] = {}
    for r in rows:
        by_category[r.category] = by_category.get(r.category, 0) + 1
        by_actor[r.actor_type] = by_actor.get(r.actor_type, 0) + 1
        cell = by_both.setdefault(r.category, {})
        cell[r.actor_type] = cell.get(r.actor_type, 0) + 1
    return {"total": len(rows), "by_category": dict(sorted(by_category.items())),
            "by_actor_type": dict(sorted(by_actor.items())),
            "by_category_and_actor_type": {k: dict(sorted(v.items()))
                                           for k, v in sorted(by_both.items())}}


def flag_actor(engine: Engine, tenant: str, actor_id: str, kind: str, *, by: str,
               now: datetime) -> None:
    """Record an account's actor type (politician, public_figure, ...). It changes no rule: it
    only lets the transparency report show whom exceptions went to."""
    if not kind or not kind.replace("_", "").isalnum() or len(kind) > 32:
        raise GovernanceError("actor type: 1-32 letters, digits or _")
    with Session(engine) as s, s.begin():
        row = s.get(ActorRow, (tenant, actor_id))
        if row is None:
            row = ActorRow(tenant=tenant, id=actor_id, status="active", first_seen=now, meta={})
            s.add(row)
        row.meta = {**(row.meta or {}), "actor_type": kind}
        ledger.append(s, tenant=tenant, kind="actor.type", subject=actor_id, actor=by,
                      payload={"actor_type": kind}, at=now)
