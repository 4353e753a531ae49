"""Group health and stages: healthy -> warned -> not_recommended -> reduced -> shutdown -> removed.

Every decision about an item posted in a group updates what that item counts for (group_posts:
violating or not, category, severity, who approved it, reports). The group is then assessed from
the whole window of its posts, never from one post:

    risk =  w.violating_share * V          severity-weighted share of posts that violate a focus
                                           category (hate, violence, misinformation, ...)
          + w.admin_approval  * A * V      share of those violating posts its admins/moderators
                                           approved (complicity weighs as much as there is to
                                           be complicit in)
          + w.admin_offenders * O          share of admins/moderators who are repeat offenders
          + w.reports         * R          share of posts reported at least once
          + w.overlap         * M          share of members who belong to groups already shut down
    health = 1 - min(risk, 1)

A stage above healthy needs at least `min_posts` posts and `min_violations` violating posts in the
window. The stage follows the policy's thresholds on health: it may skip stages on the way up
(each change is a determination listing its evidence), comes down one stage at a time and only
when health clears the threshold by `recover_margin`, and shutdown is final for automation (it
penalises the group's admins; after `removal_days` read-only, `sweep` removes the group).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.errors import BadInput
from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.enforce.hooks import Enforcement
from tidebreak.enforce.penalties import aware, impose, sync_status
from tidebreak.model import NON_VIOLATION_CATEGORIES, EventType
from tidebreak.policy.sections import STAGE_ORDER, STAGES, GroupConfig
from tidebreak.store.txcache import announced, is_new, tx_cache
from tidebreak.store.schema import (
    GroupDeterminationRow,
    GroupPostRow,
    GroupRoleRow,
    GroupRow,
    GroupStandingRow,
    StrikeRow,
)

ROLES = ("admin", "moderator", "member")
CLOSED = ("shutdown", "removed")
MAX_EXAMPLES = 25  # evidence lists at most this many example posts (counts cover all of them)
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class GroupError(BadInput):
    """Bad input about a group, with a one-line reason; `status` is its HTTP status."""

    status = 400


class UnknownGroup(GroupError):
    status = 404


# -- what each post counts for ------------------------------------------------------------------


def record_post(e: Enforcement) -> GroupPostRow:
    """Keep the item's group_posts row in step with the decision just taken on it, and the
    windows this transaction has read (`_Window`) in step with the row."""
    s, row = e.session, e.content
    new_content = is_new(s, "content", (e.tenant, row.id))
    gp = None if new_content else s.get(GroupPostRow, (e.tenant, row.id))
    if new_content:  # its group_posts row, if any, was made earlier in this transaction
        gp = tx_cache(s, "group_posts").get((e.tenant, row.id))
    before = None if gp is None else _Counted.of(gp)
    if gp is None:
        gp = GroupPostRow(tenant=e.tenant, content_id=row.id, group_id=row.group_id,
                          author_id=row.author_id, created_at=row.created_at or e.now,
                          violating=False, reports=0, decision_id=e.decision.id)
        s.add(gp)
        tx_cache(s, "group_posts")[(e.tenant, row.id)] = gp
    _update_post(e, gp)
    _counted(s, e.tenant, gp, before)
    return gp


def _update_post(e: Enforcement, gp: GroupPostRow) -> None:
    row, d = e.content, e.decision
    approved = (row.meta or {}).get("approved_by")
    gp.approved_by = str(approved)[:256] if approved else gp.approved_by
    gp.reports = row.reports or 0
    if e.event.type == EventType.DELETE:
        return  # an author deleting a violating post does not clean the group's record
    if e.event.type == EventType.REPORT and not d.actions:
        return  # a report that changed nothing leaves the standing determination
    gp.decision_id = d.id
    # Determinations only (OutcomeKind.ENFORCEMENT, automated or a reviewer's): a pending review
    # or an information label says nothing against the group.
    visible_hits = [h for h in d.reasons
                    if h.enforces and h.category not in NON_VIOLATION_CATEGORIES]
    if row.state in ("removed", "reduced", "labelled", "warning") and visible_hits:
        worst = max(visible_hits, key=lambda h: SEVERITY_RANK.get(h.severity, 1))
        gp.violating, gp.category, gp.severity = True, worst.category, worst.severity
    elif row.state == "removed":
        pass  # still removed (an automated decision cannot undo it): keep what it counted for
    else:
        gp.violating, gp.category, gp.severity = False, None, None


# -- assessment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    group_id: str
    posts: int
    health: float | None  # None: no posts in the window, nothing to measure
    implied_stage: str
    evidence: dict[str, Any]


# A batch of decisions assesses a group after each of its posts. Within the batch's transaction
# the group's window of posts, its roster and the shut-down groups are read once and then kept
# current by this module's own writes (record_post, change_stage, set_roles), so each assessment
# is computed in memory from the same rows the queries would return.


def _unread(s: Session, memo_name: str, tenant: str, group_id: str, *extra: Any) -> list[str]:
    """This group and every other group of the batch (tidebreak.store.txcache.announce) whose
    `memo_name` is not read yet: read together, with one query."""
    memo = tx_cache(s, memo_name)
    groups = {group_id} | announced(s, tenant, "groups")
    return sorted(g for g in groups if (tenant, g, *extra) not in memo)


@dataclass(frozen=True)
class _Counted:
    """What one post counts for in its group's window."""

    violating: bool
    category: str | None
    severity: str | None
    approved_by: str | None
    reported: bool

    @classmethod
    def of(cls, gp: GroupPostRow) -> _Counted:
        return cls(bool(gp.violating), gp.category, gp.severity, gp.approved_by,
                   (gp.reports or 0) > 0)


@dataclass
class _Window:
    """A group's posts since `since`, as counts kept current post by post (so assessing the
    group after each post costs the same for 10 posts as for 100,000), and its violating posts
    themselves (for the evidence of a determination)."""

    posts: int = 0
    reported: int = 0
    by_kind: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    approvals: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    violating: dict[str, GroupPostRow] = field(default_factory=dict)

    def count(self, gp: GroupPostRow, c: _Counted, sign: int) -> None:
        self.reported += sign * c.reported
        if not c.violating:
            return
        self.by_kind[(c.category, c.severity)] += sign
        if c.approved_by:
            self.approvals[(c.category, c.approved_by)] += sign
        if sign > 0:
            self.violating[gp.content_id] = gp
        else:
            self.violating.pop(gp.content_id, None)


def _window(s: Session, tenant: str, group_id: str, since: datetime) -> _Window:
    """The group's window: counted by the database once per transaction (for all the batch's
    groups at once), then kept current by record_post."""
    memo = tx_cache(s, "group_window")
    if (tenant, group_id, since) not in memo:
        wanted = _unread(s, "group_window", tenant, group_id, since)
        found = {g: _Window() for g in wanted}
        in_window = (GroupPostRow.tenant == tenant, GroupPostRow.group_id.in_(wanted),
                     GroupPostRow.created_at >= since)
        for gp in s.execute(select(GroupPostRow).where(*in_window,
                                                        GroupPostRow.violating.is_(True))
                            ).scalars():
            found[gp.group_id].count(gp, _Counted.of(gp), +1)
        for g, n, reported in s.execute(  # every post, violating or not
                select(GroupPostRow.group_id, func.count(), func.coalesce(func.sum(
                    case((GroupPostRow.reports > 0, 1), else_=0)), 0))
                .where(*in_window).group_by(GroupPostRow.group_id)):
            found[g].posts, found[g].reported = int(n), int(reported)
        for g, w in found.items():
            memo[(tenant, g, since)] = w
    return memo[(tenant, group_id, since)]  # type: ignore[no-any-return]


def _counted(s: Session, tenant: str, gp: GroupPostRow, before: _Counted | None) -> None:
    """A post recorded (`before` None) or re-decided in this transaction: every window already
    read that covers it counts it anew."""
    after = _Counted.of(gp)
    for (t, g, since), w in tx_cache(s, "group_window").items():
        if t != tenant or g != gp.group_id or aware(gp.created_at) < aware(since):  # type: ignore[operator]
            continue
        if before is None:
            w.posts += 1
        else:
            w.count(gp, before, -1)
        w.count(gp, after, +1)
    members = tx_cache(s, "group_members").get((tenant, gp.group_id))
    if members is not None and gp.author_id and before is None:
        members.add(gp.author_id)


def _roles(s: Session, tenant: str, group_id: str) -> dict[str, set[str]]:
    memo = tx_cache(s, "group_roles")
    if (tenant, group_id) not in memo:
        wanted = _unread(s, "group_roles", tenant, group_id)
        found: dict[str, dict[str, set[str]]] = {g: {r: set() for r in ROLES} for g in wanted}
        for g, actor, role in s.execute(
                select(GroupRoleRow.group_id, GroupRoleRow.actor_id, GroupRoleRow.role).where(
                    GroupRoleRow.tenant == tenant, GroupRoleRow.group_id.in_(wanted))):
            found[g][role].add(actor)
        for g, roles in found.items():
            memo[(tenant, g)] = roles
    return {r: set(a) for r, a in memo[(tenant, group_id)].items()}


def _members(s: Session, tenant: str, group_id: str) -> set[str]:
    """Everyone on the roster or who posted (memo kept current by record_post)."""
    memo = tx_cache(s, "group_members")
    if (tenant, group_id) not in memo:
        wanted = _unread(s, "group_members", tenant, group_id)
        for g, members in _members_by_group(s, tenant, wanted).items():
            memo[(tenant, g)] = members
    return set(memo[(tenant, group_id)])


def _closed(s: Session, tenant: str, group_id: str) -> tuple[list[str], set[str]]:
    """Groups shut down or removed (other than this one), and their members."""
    memo = tx_cache(s, "closed_groups")
    if tenant not in memo:
        closed = list(s.execute(select(GroupStandingRow.group_id).where(
            GroupStandingRow.tenant == tenant, GroupStandingRow.stage.in_(CLOSED))).scalars())
        memo[tenant] = (closed, _members_by_group(s, tenant, closed))
    closed, members = memo[tenant]
    others = [g for g in closed if g != group_id]
    return others, set().union(*(members[g] for g in others))


def _members_by_group(s: Session, tenant: str, group_ids: list[str]) -> dict[str, set[str]]:
    """Each group's roster and posters: two queries for all of them (a hate-heavy stream shuts
    down dozens of groups, and every batch asks about all of them)."""
    found: dict[str, set[str]] = {g: set() for g in group_ids}
    if not group_ids:
        return found
    for g, actor in s.execute(select(GroupRoleRow.group_id, GroupRoleRow.actor_id).where(
            GroupRoleRow.tenant == tenant, GroupRoleRow.group_id.in_(group_ids))):
        found[g].add(actor)
    for g, actor in s.execute(select(GroupPostRow.group_id, GroupPostRow.author_id).distinct()
                              .where(GroupPostRow.tenant == tenant,
                                     GroupPostRow.group_id.in_(group_ids),
                                     GroupPostRow.author_id.is_not(None))):
        found[g].add(actor)
    return found


def assess(s: Session, tenant: str, group_id: str, cfg: GroupConfig, now: datetime,
           with_evidence: bool = True) -> Assessment:
    """Measure a group's health from its posts in the window, with the evidence (only counts
    when `with_evidence` is False: what deciding whether the stage changes needs)."""
    since = now - timedelta(days=cfg.window_days)
    window = _window(s, tenant, group_id, since)
    n, reported = window.posts, window.reported
    if not n:
        return Assessment(group_id, 0, None, "healthy",
                          {"note": f"no posts in the last {cfg.window_days:g} days: nothing to "
                                   "measure, so no determination"})
    focus = set(cfg.focus)
    kinds = {k: c for k, c in window.by_kind.items() if k[0] in focus and c > 0}
    n_violating = sum(kinds.values())
    roles = _roles(s, tenant, group_id)
    staff = roles["admin"] | roles["moderator"]
    v = min(1.0, sum(c * cfg.severity_weights.get(sev or "medium", 0.5)
                     for (_, sev), c in sorted(kinds.items(), key=str)) / n)
    n_approved = sum(c for (cat, who), c in window.approvals.items()
                     if cat in focus and who in staff)
    a = n_approved / n_violating if n_violating else 0.0
    offenders: dict[str, int] = {}
    if staff:
        offenders = {actor: c for actor, c in s.execute(
            select(StrikeRow.actor_id, func.count()).where(
                StrikeRow.tenant == tenant, StrikeRow.actor_id.in_(staff),
                StrikeRow.revoked.is_(False), StrikeRow.expires_at > now)
            .group_by(StrikeRow.actor_id)) if c >= cfg.repeat_offender_strikes}
    o = len(offenders) / len(staff) if staff else 0.0
    r = reported / n
    closed, closed_members = _closed(s, tenant, group_id)
    members = _members(s, tenant, group_id)
    overlap = members & closed_members if closed else set()
    m = len(overlap) / len(members) if members else 0.0
    w = cfg.weights
    components = {"violating_share": w["violating_share"] * v,
                  "admin_approval": w["admin_approval"] * a * v,
                  "admin_offenders": w["admin_offenders"] * o,
                  "reports": w["reports"] * r, "overlap": w["overlap"] * m}
    health = round(1.0 - min(1.0, sum(components.values())), 4)
    enough = n >= cfg.min_posts and n_violating >= cfg.min_violations
    implied = cfg.stage_for(health) if enough else "healthy"
    if not with_evidence:
        return Assessment(group_id, n, health, implied, {})
    violating = sorted((p for p in window.violating.values() if p.category in focus),
                       key=lambda p: (aware(p.created_at), p.content_id))
    approved = [p for p in violating if p.approved_by and p.approved_by in staff]
    by_cat = Counter(p.category for p in violating)
    evidence: dict[str, Any] = {
        "window_days": cfg.window_days, "posts": n, "violating_posts": len(violating),
        "violating_share": round(len(violating) / n, 4), "weighted_violating_share": round(v, 4),
        "by_category": dict(by_cat), "by_severity": dict(Counter(p.severity for p in violating)),
        "focus": by_cat.most_common(1)[0][0] if by_cat else None,
        "distinct_violating_authors": len({p.author_id for p in violating}),
        "examples": [{"content_id": p.content_id, "category": p.category,
                      "severity": p.severity, "author": p.author_id,
                      "approved_by": p.approved_by} for p in violating[-MAX_EXAMPLES:]],
        "admin_approval": {"share": round(a, 4), "approved_violating": len(approved),
                           "staff": sorted(staff)},
        "admin_offenders": {"share": round(o, 4), "offenders": offenders},
        "reports": {"share": round(r, 4), "reported_posts": int(reported)},
        "overlap": {"share": round(m, 4), "members": len(members),
                    "members_of_shut_down_groups": sorted(overlap)[:MAX_EXAMPLES],
                    "shut_down_groups": sorted(closed)[:MAX_EXAMPLES]},
        "components": {k: round(x, 4) for k, x in components.items()},
        "health": health,
        "enough_evidence": enough,
        "minimums": {"posts": cfg.min_posts, "violating_posts": cfg.min_violations},
    }
    return Assessment(group_id, n, health, implied, evidence)


def next_stage(current: str, a: Assessment, cfg: GroupConfig) -> str:
    """Up to whatever health implies; down one stage at a time, past a margin; closed stays."""
    if current in CLOSED or a.health is None:
        return current
    if STAGE_ORDER[a.implied_stage] > STAGE_ORDER[current]:
        return a.implied_stage
    if STAGE_ORDER[a.implied_stage] < STAGE_ORDER[current] and current != "healthy":
        if a.health > cfg.thresholds[current] + cfg.recover_margin:
            return STAGES[STAGE_ORDER[current] - 1]
    return current


def _standing_for(stage: str, cfg: GroupConfig | None) -> tuple[float, bool]:
    if stage in CLOSED:
        return 0.0, False
    if stage == "reduced":
        return (cfg.reduced_reach if cfg else 0.3), False
    return 1.0, stage in ("healthy", "warned")


# Called in the determination's transaction for every stage change (e.g. accountability writes
# the statement of reasons for a group restriction).
STAGE_LISTENERS: list[Callable[[Session, str, GroupDeterminationRow, datetime], None]] = []


def change_stage(s: Session, tenant: str, group_id: str, to: str, *, health: float,
                 evidence: dict[str, Any], ground: str, policy_version: str, now: datetime,
                 decided_by: str = "automation", trigger: str | None = None,
                 cfg: GroupConfig | None = None) -> GroupDeterminationRow:
    """Record a stage change: a determination with its evidence, the group's distribution
    standing, and a ledger entry."""
    group = s.get(GroupRow, (tenant, group_id))
    if group is None:
        raise UnknownGroup(f"no group {group_id!r}")
    det = GroupDeterminationRow(tenant=tenant, group_id=group_id, from_stage=group.stage,
                                to_stage=to, health=health, evidence=evidence, ground=ground,
                                policy_version=policy_version, decided_by=decided_by,
                                trigger=trigger, created_at=now)
    s.add(det)
    s.flush()
    reach, recommendable = _standing_for(to, cfg)
    st = s.get(GroupStandingRow, (tenant, group_id))
    if st is None:
        st = GroupStandingRow(tenant=tenant, group_id=group_id)
        s.add(st)
    st.stage, st.reach, st.recommendable, st.since = to, reach, recommendable, now
    st.determination_id = det.id
    st.remove_at = now + timedelta(days=cfg.removal_days) if to == "shutdown" and cfg else None
    notice = {"warned": "The group's admins are notified that its content breaks the rules.",
              "not_recommended": "The group is no longer recommended.",
              "reduced": "All posts in the group are shown to fewer people.",
              "shutdown": "The group is read-only and will be removed; its admins are penalised.",
              "removed": "The group is removed.",
              "healthy": "The group is back in good standing."}.get(to, "")
    ledger.append(s, tenant=tenant, kind="group.stage", subject=f"group:{group_id}",
                  actor=decided_by, payload={"determination_id": det.id, "from": group.stage,
                                             "to": to, "health": health, "ground": ground,
                                             "notice": notice, "policy_version": policy_version,
                                             "evidence": evidence}, at=now)
    emit(s, tenant=tenant, type=DomainEventType.GROUP_STAGE_CHANGED,
         key=f"group-stage:{det.id}", subject=f"group:{group_id}", at=now,
         payload={"group_id": group_id, "from": group.stage, "to": to, "reach": reach,
                  "recommendable": recommendable, "health": health, "ground": ground,
                  "notice": notice, "decided_by": decided_by, "determination_id": det.id,
                  "policy_version": policy_version})
    group.stage, group.health = to, health
    _keep_memos_current(s, tenant, group_id, to, st)
    for listener in STAGE_LISTENERS:
        listener(s, tenant, det, now)
    return det


def _keep_memos_current(s: Session, tenant: str, group_id: str, to: str,
                        st: GroupStandingRow) -> None:
    """A stage change updates the transaction's memos of closed groups and of groups due for
    removal in place (rather than dropping them: on a hate-heavy stream groups change stage
    every few batches, and every later post in a group would read both again)."""
    closed_memo = tx_cache(s, "closed_groups")
    if tenant in closed_memo:
        closed, members = closed_memo[tenant]
        if to in CLOSED and group_id not in closed:
            closed.append(group_id)
            members[group_id] = _members(s, tenant, group_id)
        elif to not in CLOSED and group_id in closed:
            closed.remove(group_id)
            members.pop(group_id, None)
    if to == "shutdown" and st.remove_at is not None:
        for (t, at), due in tx_cache(s, "groups_due").items():
            if t == tenant and aware(st.remove_at) <= aware(at) and st not in due:
                due.append(st)


def _penalise_staff(s: Session, tenant: str, group_id: str, det: GroupDeterminationRow,
                    cfg: GroupConfig, policy_version: str, now: datetime) -> None:
    """At shutdown: the admins, and the moderators who approved violating posts."""
    roles = _roles(s, tenant, group_id)
    approvers = {x["approved_by"] for x in det.evidence.get("examples", []) if x["approved_by"]}
    for actor in sorted(roles["admin"] | (roles["moderator"] & approvers)):
        impose(s, tenant=tenant, actor_id=actor, penalty=cfg.admin_penalty,
               days=cfg.admin_penalty_days,
               limits=("group_posting",) if cfg.admin_penalty == "limited" else (),
               reach=0.0 if cfg.admin_penalty in ("suspended", "banned") else 1.0,
               rule=f"group-shutdown:{group_id}", ground=cfg.ground,
               notice=f"You run group {group_id}, which was shut down for being focused on "
                      f"{det.evidence.get('focus') or 'violating content'}; your account is "
                      f"{cfg.admin_penalty}. You can appeal.",
               reasons={"determination_id": det.id, "group_id": group_id,
                        "role": "admin" if actor in roles["admin"] else "moderator"},
               policy_version=policy_version, now=now, cause_group_id=group_id)
        sync_status(s, tenant, actor, now, f"group {group_id} shut down")


def apply(s: Session, tenant: str, group_id: str, cfg: GroupConfig, policy_version: str,
          now: datetime, trigger: str | None = None) -> GroupDeterminationRow | None:
    """Assess the group and, when its stage changes, record the determination."""
    sweep(s, tenant, now, [group_id])
    group = s.get(GroupRow, (tenant, group_id))
    if group is None:
        return None
    a = assess(s, tenant, group_id, cfg, now, with_evidence=False)
    to = next_stage(group.stage, a, cfg)
    if to == group.stage:
        return None
    a = assess(s, tenant, group_id, cfg, now)  # a determination: with its evidence
    det = change_stage(s, tenant, group_id, to, health=a.health or 0.0, evidence=a.evidence,
                       ground=cfg.ground, policy_version=policy_version, now=now,
                       trigger=trigger, cfg=cfg)
    if to == "shutdown":
        _penalise_staff(s, tenant, group_id, det, cfg, policy_version, now)
    return det


def sweep(s: Session, tenant: str, now: datetime,
          group_ids: Iterable[str] | None = None) -> list[str]:
    """Remove shut-down groups whose read-only grace period is over."""
    memo = tx_cache(s, "groups_due")
    if (tenant, now) not in memo:  # one read per transaction; change_stage forgets it
        memo[(tenant, now)] = list(s.execute(select(GroupStandingRow).where(
            GroupStandingRow.tenant == tenant, GroupStandingRow.stage == "shutdown",
            GroupStandingRow.remove_at <= now)).scalars().all())
    wanted = None if group_ids is None else set(group_ids)
    done = []
    for st in [x for x in memo[(tenant, now)] if wanted is None or x.group_id in wanted]:
        if st.stage != "shutdown":
            continue  # removed earlier in this transaction
        group = s.get(GroupRow, (tenant, st.group_id))
        if group is None:
            continue
        change_stage(s, tenant, st.group_id, "removed", health=group.health,
                     evidence={"read_only_since": aware(st.since).isoformat(),  # type: ignore[union-attr]
                               "shutdown_determination_id": st.determination_id},
                     ground="read-only period after shutdown is over",
                     policy_version="", now=now)
        done.append(st.group_id)
    return done


class GroupEnforcer:
    """A built-in enforcer (tidebreak.plugins.builtin): every decision in a group updates its health."""

    name = "groups"

    def __call__(self, e: Enforcement) -> None:
        group_id = e.content.group_id
        if group_id is None:
            return
        record_post(e)
        cfg = e.policy.sections.groups if e.policy is not None else None
        if cfg is not None:
            apply(e.session, e.tenant, group_id, cfg, e.policy.version,  # type: ignore[union-attr]
                  e.now, trigger=e.decision.id)


# -- roster and display -------------------------------------------------------------------------


def set_roles(s: Session, tenant: str, group_id: str, roles: dict[str, list[str]],
              removed: list[str], now: datetime, by: str) -> dict[str, int]:
    """Record who administers, moderates and belongs to a group (as the platform says)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise GroupError(f"unknown role {sorted(unknown)[0]!r}; roles: {', '.join(ROLES)}")
    seen: dict[str, str] = {}
    for role, actors in roles.items():
        for a in actors:
            if a in seen and seen[a] != role:
                raise GroupError(f"account {a!r} is given two roles ({seen[a]}, {role})")
            seen[a] = role
    clash = set(seen) & set(removed)
    if clash:
        raise GroupError(f"account {sorted(clash)[0]!r} is both given a role and removed")
    if s.get(GroupRow, (tenant, group_id)) is None:
        s.add(GroupRow(tenant=tenant, id=group_id, stage="healthy", health=1.0, first_seen=now))
    for actor, role in seen.items():
        row = s.get(GroupRoleRow, (tenant, group_id, actor))
        if row is None:
            s.add(GroupRoleRow(tenant=tenant, group_id=group_id, actor_id=actor, role=role,
                               since=now))
        else:
            row.role = role
    gone = 0
    for actor in removed:
        row = s.get(GroupRoleRow, (tenant, group_id, actor))
        if row is not None:
            s.delete(row)
            gone += 1
    for name in ("group_roles", "group_members", "closed_groups"):
        tx_cache(s, name).clear()
    counts = dict(Counter(seen.values()))
    ledger.append(s, tenant=tenant, kind="group.roles", subject=f"group:{group_id}", actor=by,
                  payload={"set": {r: sorted(a for a, x in seen.items() if x == r) for r in counts},
                           "removed": sorted(removed)}, at=now)
    return {"set": len(seen), "removed": gone}


def show(s: Session, tenant: str, group_id: str, cfg: GroupConfig | None,
         now: datetime) -> dict[str, Any]:
    group = s.get(GroupRow, (tenant, group_id))
    if group is None:
        raise UnknownGroup(f"no group {group_id!r}")
    st = s.get(GroupStandingRow, (tenant, group_id))
    dets = s.execute(select(GroupDeterminationRow).where(
        GroupDeterminationRow.tenant == tenant, GroupDeterminationRow.group_id == group_id)
        .order_by(GroupDeterminationRow.created_at, GroupDeterminationRow.id)).scalars().all()
    roles = _roles(s, tenant, group_id)
    live = assess(s, tenant, group_id, cfg, now) if cfg is not None else None
    reach, recommendable = (st.reach, st.recommendable) if st else _standing_for(group.stage, cfg)
    return {
        "group": group_id, "stage": group.stage, "reach": reach, "recommendable": recommendable,
        "remove_at": aware(st.remove_at).isoformat() if st and st.remove_at else None,  # type: ignore[union-attr]
        "health_at_last_determination": group.health if dets else None,
        "current": None if live is None else {"health": live.health, "posts": live.posts,
                                              "implied_stage": live.implied_stage,
                                              "evidence": live.evidence},
        "roles": {r: len(a) for r, a in roles.items()},
        "determinations": [{"id": d.id, "from": d.from_stage, "to": d.to_stage,
                            "health": d.health, "ground": d.ground, "decided_by": d.decided_by,
                            "trigger": d.trigger, "created_at": aware(d.created_at).isoformat(),  # type: ignore[union-attr]
                            "evidence": d.evidence} for d in dets],
    }
