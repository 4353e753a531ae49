"""The distribution service: how much a feed or recommender may amplify each item, account, group.

Everything here is read from state the decisions left behind, so the answer for 500 ids costs a
handful of indexed queries and no policy evaluation:

  content   state (removed/deleted 0; reduced: its factor; fact-check labelled or warning: not
            recommended; pending review restricts nothing), the author's live penalties (suspended or banned 0; a limited
            step's reach; `group_posting` / `ads` limits stop posts in groups / ads), the group's
            standing (not_recommended, reduced with the group's factor, shutdown/removed 0), and
            a tripped circuit breaker (capped, not recommended).
  account   its live penalties.
  group     its stage.

Factors multiply; `recommendable` is false as soon as one reason says so. Each answer lists its
reasons so a ranker's logs can say why an item was held back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.enforce.penalties import aware, live_penalties, status_of
from tidebreak.store.schema import (
    ActorRow,
    BreakerRow,
    ContentRow,
    GroupRow,
    GroupStandingRow,
    PenaltyRow,
    StrikeRow,
)

MAX_IDS = 1000  # per kind, per call

# Content state -> (multiplier, recommendable, reason). Reduced items use their own factor.
STATE_EFFECT: dict[str, tuple[float, bool, str]] = {
    "removed": (0.0, False, "removed"),
    "deleted": (0.0, False, "deleted by its author"),
    "reduced": (1.0, False, "reduced by decision"),
    "labelled": (1.0, False, "carries a fact-check label"),
    "warning": (1.0, False, "behind a warning screen"),
    # "pending_review" restricts nothing: a suspicion routes to a person and counts against no
    # one. A rule that holds an item back while it waits says so with an enforcing action (e.g.
    # `reduce`), which gets its statement of reasons and is lifted when a reviewer approves.
}


@dataclass
class Reach:
    id: str
    multiplier: float = 1.0
    recommendable: bool = True
    reasons: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def limit(self, factor: float, recommendable: bool, reason: str) -> None:
        self.multiplier *= factor
        self.recommendable = self.recommendable and recommendable
        self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "multiplier": round(self.multiplier, 6),
                "recommendable": self.recommendable, "reasons": self.reasons, **self.extra}


@dataclass
class ReachAnswer:
    content: dict[str, Reach]
    accounts: dict[str, Reach]
    groups: dict[str, Reach]
    unknown: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"content": [r.to_dict() for r in self.content.values()],
                "accounts": [r.to_dict() for r in self.accounts.values()],
                "groups": [r.to_dict() for r in self.groups.values()],
                "unknown": self.unknown}


def _account_reach(actor_id: str, penalties: list[PenaltyRow], strikes: int) -> Reach:
    status = status_of(penalties, strikes)
    r = Reach(actor_id, extra={"status": status,
                               "limits": sorted({f for p in penalties for f in p.limits or []})})
    for p in penalties:
        until = aware(p.ends_at).isoformat() if p.ends_at else "permanently"  # type: ignore[union-attr]
        r.limit(p.reach, False, f"account {p.penalty} until {until} ({p.rule})")
    return r


def _group_reach(group_id: str, stage: str, st: GroupStandingRow | None) -> Reach:
    r = Reach(group_id, extra={"stage": stage})
    if st is not None and (st.reach < 1.0 or not st.recommendable):
        r.limit(st.reach, st.recommendable, f"group stage {st.stage}")
    return r


def reach(s: Session, tenant: str, now: datetime, *, content: Sequence[str] = (),
          accounts: Sequence[str] = (), groups: Sequence[str] = ()) -> ReachAnswer:
    """Multipliers and recommendability for many ids at once; ids tidebreak has never seen are
    listed under `unknown` (the caller decides what to do with them)."""
    for name, ids in (("content", content), ("accounts", accounts), ("groups", groups)):
        if len(ids) > MAX_IDS:
            raise ValueError(f"at most {MAX_IDS} {name} ids per call, got {len(ids)}")
    content_ids = list(dict.fromkeys(content))
    # Only the columns needed (not the text): this is the hot path of every feed request.
    rows = {r.id: r for r in s.execute(select(
        ContentRow.id, ContentRow.state, ContentRow.reach, ContentRow.kind, ContentRow.author_id,
        ContentRow.group_id, ContentRow.created_at).where(
        ContentRow.tenant == tenant, ContentRow.id.in_(content_ids)))} if content_ids else {}
    authors = {r.author_id for r in rows.values() if r.author_id} | set(accounts)
    group_ids = {r.group_id for r in rows.values() if r.group_id} | set(groups)
    known_actors = set(s.execute(select(ActorRow.id).where(
        ActorRow.tenant == tenant, ActorRow.id.in_(authors))).scalars()) if authors else set()
    penalties = live_penalties(s, tenant, known_actors, now)
    strikes: dict[str, int] = {}
    if accounts:  # the strike count only changes an account's displayed status
        for actor in s.execute(select(StrikeRow.actor_id).where(
                StrikeRow.tenant == tenant, StrikeRow.actor_id.in_(list(accounts)),
                StrikeRow.revoked.is_(False), StrikeRow.expires_at > now)).scalars():
            strikes[actor] = strikes.get(actor, 0) + 1
    stages = dict(s.execute(select(GroupRow.id, GroupRow.stage).where(
        GroupRow.tenant == tenant, GroupRow.id.in_(group_ids))).all()) if group_ids else {}
    standing = {g.group_id: g for g in s.execute(select(GroupStandingRow).where(
        GroupStandingRow.tenant == tenant, GroupStandingRow.group_id.in_(group_ids))).scalars()} \
        if group_ids else {}
    breakers = {b.content_id: b for b in s.execute(select(BreakerRow).where(
        BreakerRow.tenant == tenant, BreakerRow.content_id.in_(content_ids),
        BreakerRow.released_at.is_(None))).scalars()} if content_ids else {}

    out_content: dict[str, Reach] = {}
    for cid in content_ids:
        row = rows.get(cid)
        if row is None:
            continue
        r = Reach(cid, extra={"state": row.state})
        if row.state in STATE_EFFECT:
            factor, rec, why = STATE_EFFECT[row.state]
            r.limit(row.reach if row.state == "reduced" else factor, rec, why)
        for p in penalties.get(row.author_id or "", []):
            created = aware(row.created_at)
            if p.reach < 1.0 or p.penalty != "limited":
                r.limit(p.reach, False, f"author {p.penalty} ({p.rule})")
            elif "group_posting" in (p.limits or []) and row.group_id and \
                    created is not None and created >= aware(p.starts_at):  # type: ignore[operator]
                r.limit(0.0, False, "author may not post in groups (limited)")
            elif "ads" in (p.limits or []) and row.kind == "ad":
                r.limit(0.0, False, "author may not run ads (limited)")
            else:
                r.limit(1.0, False, f"author limited ({p.rule})")
        if row.group_id:
            g = _group_reach(row.group_id, stages.get(row.group_id, "healthy"),
                             standing.get(row.group_id))
            if g.reasons:
                r.limit(g.multiplier, g.recommendable, f"in group {row.group_id}: {g.reasons[0]}")
        b = breakers.get(cid)
        if b is not None:
            r.limit(min(1.0, b.cap / r.multiplier) if r.multiplier > 0 else 1.0, False,
                    f"circuit breaker: spreading fast while unreviewed (cap {b.cap:g})")
        out_content[cid] = r
    out_accounts = {a: _account_reach(a, penalties.get(a, []), strikes.get(a, 0))
                    for a in dict.fromkeys(accounts) if a in known_actors}
    out_groups = {g: _group_reach(g, stages[g], standing.get(g))
                  for g in dict.fromkeys(groups) if g in stages}
    unknown = {"content": [c for c in content_ids if c not in rows],
               "accounts": [a for a in dict.fromkeys(accounts) if a not in known_actors],
               "groups": [g for g in dict.fromkeys(groups) if g not in stages]}
    return ReachAnswer(out_content, out_accounts, out_groups, unknown)
