"""Share cascades on the synthetic network, with tidebreak's policies on and off.

Time runs in ticks of 15 minutes. A post is seen by its author's followers; each viewer may
share it, and a share shows it to the sharer's followers one tick later; a recommendable item
is also shown to a few non-followers per share. The distribution multiplier scales the chance
that a follower's feed shows the item (and the recommendations).

Both runs draw every random choice from a hash of (seed, item, account, purpose), so they face
the same coin flips: with tidebreak on, an item can only reach the accounts it reached with it
off. Views prevented and views lost are therefore differences of the same cascades, not of two
independent samples.

With tidebreak on, the real machinery runs on a throw-away SQLite store: each post goes through
the pipeline with the default policies (a detector replays the simulated scores), engagement is
reported every hour through `record_engagement` (which trips the circuit breaker), simulated
reviewers work the review queues through `Pipeline.decide_by_human`, and every tick's
multipliers come from the distribution service.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.enforce.breaker import EngagementUpdate, record_engagement
from tidebreak.enforce.distribution import MAX_IDS, reach
from tidebreak.enforce.groups import set_roles
from tidebreak.model import Action, ActionType, Content, ContentKind, Event, EventType, Item, Signal
from tidebreak.policy import PolicySet, load_default_policy
from tidebreak.runtime import build_pipeline
from tidebreak.simulate.network import Network, Post, build_network, make_posts
from tidebreak.store.db import open_store
from tidebreak.store.schema import GroupRow, ReviewTaskRow

TICK = timedelta(minutes=15)
START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    users: int = 6000
    posts: int = 1500
    hours: int = 48
    communities: int = 30
    hate_groups: int = 3
    coordinated: int = 20
    base_violation_rate: float = 0.04
    p_see: float = 0.35  # a follower's feed shows a shared item
    p_share: float = 0.07  # a viewer shares it (times the item's appeal)
    violating_share_boost: float = 1.5  # outrage spreads: violating items are shared more
    recommend_per_share: int = 2  # non-followers shown a recommendable item per share
    review_per_hour: int = 24  # decisions the simulated review team makes per hour
    review_latency_ticks: int = 1  # a task waits at least this long before a reviewer has it

    @property
    def ticks(self) -> int:
        return self.hours * 4


@dataclass
class SimResult:
    config: SimConfig
    figures: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)


# -- coupled randomness -------------------------------------------------------------------------

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _uniform(seed: int, item: int, nodes: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) per node, a pure function of (seed, item, node, salt): splitmix64."""
    with np.errstate(over="ignore"):
        x = (nodes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64((seed * 1_000_003 + item) * 8 + salt) * np.uint64(0xD1B54A32D192ED03))
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


# -- one cascade step ---------------------------------------------------------------------------


class Cascades:
    def __init__(self, cfg: SimConfig, net: Network, posts: Sequence[Post]) -> None:
        self.cfg, self.net, self.posts = cfg, net, posts
        self.seen = np.zeros((len(posts), net.size), dtype=bool)
        self.views = np.zeros(len(posts), dtype=np.int64)
        self.shares = np.zeros(len(posts), dtype=np.int64)
        self.frontier: dict[int, np.ndarray] = {}
        self.ring = set(net.coordinated.tolist())

    def start(self, p: Post) -> None:
        self.seen[p.idx, p.author] = True
        self.frontier[p.idx] = np.array([p.author], dtype=np.int64)

    def step(self, idx: int, multiplier: float, recommendable: bool) -> int:
        """Advance one item by one tick; returns its new views."""
        sharers = self.frontier.pop(idx, None)
        if sharers is None or not len(sharers):
            return 0
        cfg, p = self.cfg, self.posts[idx]
        reached = [self.net.followers[s] for s in sharers]
        if recommendable and multiplier > 0:
            k = cfg.recommend_per_share
            u = _uniform(cfg.seed, idx, np.repeat(sharers, k) * 7 + np.tile(np.arange(k), len(sharers)), 3)
            reached.append((u * self.net.size).astype(np.int64))
        cand = np.unique(np.concatenate(reached)) if reached else np.empty(0, dtype=np.int64)
        cand = cand[~self.seen[idx, cand]]
        shown = cand[_uniform(cfg.seed, idx, cand, 1) < cfg.p_see * multiplier]
        self.seen[idx, shown] = True
        self.views[idx] += len(shown)
        boost = cfg.violating_share_boost if p.category else 1.0
        share_p = min(1.0, cfg.p_share * p.appeal * boost)
        shares = shown[_uniform(cfg.seed, idx, shown, 2) < share_p]
        if p.author in self.ring:  # the coordinated ring reshares its own at once
            shares = np.union1d(shares, shown[np.isin(shown, self.net.coordinated)])
        self.shares[idx] += len(shares)
        if len(shares):
            self.frontier[idx] = shares
        return len(shown)


# -- tidebreak in the loop ----------------------------------------------------------------------


class Replay:
    """A detector that replays each simulated post's score."""

    name, version = "simulated", "sim-1"

    def __init__(self, posts: Sequence[Post]) -> None:
        self.by_id = {f"p{p.idx}": p for p in posts}

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        out = []
        for it in items:
            p = self.by_id[it.content.id]
            ev = {"rating": "false", "publisher": "Sim Check", "claim_id": "c1",
                  "fact_check_url": "https://factcheck.example/c1"} \
                if p.score_category == "misinformation" else {}
            out.append([Signal(self.name, p.score_category, p.score, ev, self.version)])
        return out


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Tidebreak:
    """The engine as a platform would wire it: pipeline, engagement, reviewers, distribution."""

    def __init__(self, cfg: SimConfig, net: Network, posts: Sequence[Post], db: str) -> None:
        self.cfg, self.posts = cfg, posts
        self.clock = Clock()
        self.engine = open_store(f"sqlite:///{db}")
        self.policy = PolicySet(load_default_policy())
        # the engine as `tidebreak serve` assembles it, with the simulator's scores as detector
        self.pipeline = build_pipeline(self.engine, Settings(), policy=self.policy,
                                       clock=self.clock, detectors=[Replay(posts)])
        with Session(self.engine) as s, s.begin():
            for gid, admin in net.admins.items():
                set_roles(s, "default", gid, {"admin": [admin]}, [], START, by="simulator")
        self.admins = dict(net.admins)
        self.reviews = 0
        self.trips = 0

    def submit(self, batch: Sequence[Post]) -> None:
        events = []
        with Session(self.engine) as s:
            closed = set(s.execute(select(GroupRow.id).where(
                GroupRow.stage.in_(("shutdown", "removed")))).scalars())
        for p in batch:
            # A shut-down group is read-only: the platform refuses new posts there, so its
            # members post on their own profiles instead.
            group = None if p.group in closed else p.group
            # Hate groups require approval, and their admins approve everything.
            meta = {"approved_by": self.admins[group]} if group else {}
            c = Content(id=f"p{p.idx}", kind=ContentKind.POST, text=f"simulated post {p.idx}",
                        author=str(p.author), group=group, created_at=self.clock.now, meta=meta)
            events.append(Event(f"p{p.idx}", EventType.CREATE, c, self.clock.now))
        for res in self.pipeline.process_batch(events):
            if isinstance(res, Exception):
                raise res

    def engagement(self, live: Sequence[Post], views: np.ndarray, shares: np.ndarray) -> None:
        now = self.clock.now
        updates = [EngagementUpdate(f"p{p.idx}", int(views[p.idx]), int(shares[p.idx]), now)
                   for p in live]
        for i in range(0, len(updates), MAX_IDS):
            with Session(self.engine) as s, s.begin():
                res = record_engagement(s, "default", updates[i:i + MAX_IDS],
                                        self.policy.active.sections.breaker, now)
            self.trips += len(res.tripped)

    def review(self, budget: int) -> None:
        """Reviewers take the oldest eligible tasks, viral ones first, and decide by the truth."""
        ready = self.clock.now - TICK * self.cfg.review_latency_ticks
        with Session(self.engine) as s:
            tasks = s.execute(select(ReviewTaskRow.content_id, ReviewTaskRow.queue).where(
                ReviewTaskRow.status.in_(("open", "claimed")), ReviewTaskRow.created_at <= ready)
                .order_by((ReviewTaskRow.queue == "viral").desc(), ReviewTaskRow.created_at)
                .limit(budget * 3)).all()
        done: set[str] = set()
        for cid, _queue in tasks:
            if cid in done or len(done) >= budget:
                continue
            done.add(cid)
            p = self.posts[int(cid[1:])]
            acts = [Action(ActionType.REMOVE)] if p.category else [Action(ActionType.NONE)]
            self.pipeline.decide_by_human(cid, reviewer="sim", actions=acts,
                                          category=p.category or p.score_category,
                                          ground="simulated review", key=f"sim:{cid}")
            self.reviews += 1

    def multipliers(self, ids: Sequence[int]) -> dict[int, tuple[float, bool, str]]:
        out: dict[int, tuple[float, bool, str]] = {}
        with Session(self.engine) as s:
            for i in range(0, len(ids), MAX_IDS):
                ans = reach(s, "default", self.clock.now,
                            content=[f"p{x}" for x in ids[i:i + MAX_IDS]])
                for cid, r in ans.content.items():
                    why = r.reasons[0].split(" (")[0].split(":")[0] if r.reasons else ""
                    out[int(cid[1:])] = (r.multiplier, r.recommendable, why)
        return out


# -- the two runs -------------------------------------------------------------------------------


def _simulate(cfg: SimConfig, net: Network, posts: Sequence[Post],
              tb: Tidebreak | None) -> tuple[Cascades, np.ndarray, dict[int, int], dict[int, str]]:
    """Run all ticks; returns the cascades, cumulative violating views per tick, and the tick at
    which each violating item was first held back and the first reason each item was held back
    for (policies on only)."""
    cas = Cascades(cfg, net, posts)
    by_tick: dict[int, list[Post]] = {}
    for p in posts:
        by_tick.setdefault(p.tick, []).append(p)
    violating = np.array([p.category is not None for p in posts])
    curve = np.zeros(cfg.ticks)
    actioned: dict[int, int] = {}
    reported = np.zeros(len(posts), dtype=np.int64)
    held: dict[int, str] = {}
    for t in range(cfg.ticks):
        new = by_tick.get(t, [])
        for p in new:
            cas.start(p)
        active = sorted(cas.frontier)
        if tb is not None:
            tb.clock.now = START + TICK * t
            if new:
                tb.submit(new)
            if t % 4 == 0 and t:  # hourly, the platform reports the counters that moved
                moved = np.flatnonzero(cas.views != reported)
                tb.engagement([posts[i] for i in moved], cas.views, cas.shares)
                reported = cas.views.copy()
            tb.review(max(1, cfg.review_per_hour // 4))
            mult = tb.multipliers(active)
            for i in active:
                m, rec, why = mult.get(i, (1.0, True, ""))
                if m < 1.0 or not rec:
                    held.setdefault(i, why)
                    if violating[i] and i not in actioned:
                        actioned[i] = t - posts[i].tick
                cas.step(i, m, rec)
        else:
            for i in active:
                cas.step(i, 1.0, True)
        curve[t] = cas.views[violating].sum()
    return cas, curve, actioned, held


def run(cfg: SimConfig) -> SimResult:
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    net = build_network(rng, cfg.users, cfg.communities, cfg.hate_groups, cfg.coordinated)
    posts = make_posts(rng, net, cfg.posts, cfg.ticks, cfg.base_violation_rate)
    off, curve_off, _, _ = _simulate(cfg, net, posts, None)
    with tempfile.TemporaryDirectory(prefix="tidebreak-sim-") as tmp:
        tb = Tidebreak(cfg, net, posts, str(Path(tmp) / "sim.db"))
        on, curve_on, actioned, held = _simulate(cfg, net, posts, tb)
        stats = _store_stats(tb)
        tb.engine.dispose()
    violating = np.array([p.category is not None for p in posts])
    v_off, v_on = int(off.views[violating].sum()), int(on.views[violating].sum())
    b_off, b_on = int(off.views[~violating].sum()), int(on.views[~violating].sum())
    hours = sorted(ticks / 4 for ticks in actioned.values())
    lost: dict[str, int] = {}
    for i, why in held.items():
        if not violating[i]:
            lost[why or "other"] = lost.get(why or "other", 0) + int(off.views[i] - on.views[i])
    figures = {
        "seed": cfg.seed,
        "users": cfg.users, "posts": cfg.posts, "violating_posts": int(violating.sum()),
        "follow_edges": net.graph.number_of_edges(),
        "max_followers": int(max(len(f) for f in net.followers)),
        "violating_views_off": v_off, "violating_views_on": v_on,
        "prevented_views": v_off - v_on,
        "prevented_share": round((v_off - v_on) / v_off, 4) if v_off else 0.0,
        "benign_views_off": b_off, "benign_views_on": b_on,
        "collateral_views": b_off - b_on,
        "collateral_share": round((b_off - b_on) / b_off, 4) if b_off else 0.0,
        "collateral_views_by_reason": dict(sorted(lost.items(), key=lambda kv: -kv[1])),
        "actioned_violating_share": round(len(actioned) / int(violating.sum()), 4)
        if violating.any() else 0.0,
        "time_to_action_median_hours": float(np.median(hours)) if hours else None,
        "time_to_action_p90_hours": float(np.percentile(hours, 90)) if hours else None,
        "reviews": tb.reviews, "breaker_trips": tb.trips, **stats,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return SimResult(cfg, figures, {"violating_views_off": curve_off.tolist(),
                                    "violating_views_on": curve_on.tolist()})


def _store_stats(tb: Tidebreak) -> dict[str, int]:
    from sqlalchemy import func

    from tidebreak.store.schema import ActorRow, ContentRow, GroupRow

    with Session(tb.engine) as s:
        removed = s.execute(select(func.count()).select_from(ContentRow)
                            .where(ContentRow.state == "removed")).scalar_one()
        restricted = s.execute(select(func.count()).select_from(ActorRow).where(
            ActorRow.status.in_(("suspended", "banned")))).scalar_one()
        closed = s.execute(select(func.count()).select_from(GroupRow).where(
            GroupRow.stage.in_(("shutdown", "removed")))).scalar_one()
    return {"removed_items": removed, "suspended_or_banned_accounts": restricted,
            "groups_shut_down": closed}
