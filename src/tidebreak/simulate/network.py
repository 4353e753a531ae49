"""A synthetic follower network and the posts made on it.

Heavy-tailed popularity (Pareto weights: a few accounts have thousands of followers, most a
handful), communities (most follows stay inside one), a few hate groups whose members mostly
post hate with their admins approving it, and a ring of coordinated accounts that reshare each
other at once. Every number here is an assumption of the model, chosen to be plausible, and
the same for the runs with tidebreak on and off.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

CATEGORY_MIX = (("hate", 0.5), ("misinformation", 0.35), ("violence", 0.15))


@dataclass(frozen=True)
class Network:
    graph: nx.DiGraph  # edge u -> v: v follows u (v sees what u shares)
    followers: list[np.ndarray]
    community: np.ndarray
    hate_groups: dict[int, str]  # community -> group id
    admins: dict[str, str]  # group id -> admin account index as str
    coordinated: np.ndarray

    @property
    def size(self) -> int:
        return len(self.followers)


@dataclass(frozen=True)
class Post:
    idx: int
    author: int
    tick: int
    group: str | None
    category: str | None  # None: benign
    score: float  # the detector's score for `category` (or for a benign item's nearest one)
    score_category: str
    appeal: float  # how shareable it is (lognormal)


def build_network(rng: np.random.Generator, users: int, communities: int,
                  hate_groups: int, coordinated: int) -> Network:
    community = rng.integers(0, communities, size=users)
    popularity = rng.pareto(1.6, size=users) + 1.0  # heavy tail: a few very followed accounts
    g = nx.DiGraph()
    g.add_nodes_from(range(users))
    members = [np.flatnonzero(community == c) for c in range(communities)]
    p_global = popularity / popularity.sum()
    for v in range(users):
        k = int(min(users - 1, rng.geometric(1 / 15)))  # accounts v follows
        local = members[community[v]]
        w = popularity[local] / popularity[local].sum()
        n_local = int(k * 0.8)
        follows = set(rng.choice(local, size=min(n_local, len(local)), replace=False, p=w))
        follows |= set(rng.choice(users, size=k - n_local, replace=False, p=p_global))
        follows.discard(v)
        g.add_edges_from((int(u), v) for u in follows)
    hate = {int(c): f"hate-group-{i}" for i, c in
            enumerate(rng.choice(communities, size=hate_groups, replace=False))}
    admins = {gid: str(int(rng.choice(members[c]))) for c, gid in hate.items()}
    first_hate = next(iter(hate))
    ring = rng.choice(members[first_hate], size=min(coordinated, len(members[first_hate])),
                      replace=False)
    for a in ring:  # the ring follows each other
        g.add_edges_from((int(a), int(b)) for b in ring if a != b)
    followers = [np.fromiter(g.successors(u), dtype=np.int64) for u in range(users)]
    return Network(g, followers, community, hate, admins, np.sort(ring))


def make_posts(rng: np.random.Generator, net: Network, n: int, ticks: int,
               base_violation_rate: float) -> list[Post]:
    posts = []
    cats = [c for c, _ in CATEGORY_MIX]
    mix = np.array([p for _, p in CATEGORY_MIX])
    ring = set(net.coordinated.tolist())
    for i in range(n):
        author = int(rng.integers(0, net.size))
        comm = int(net.community[author])
        group = net.hate_groups.get(comm) if rng.random() < 0.7 else None
        if author in ring:
            rate = 0.8
        elif group is not None:
            rate = 0.7  # hate groups: most posts are hate
        else:
            rate = base_violation_rate
        violating = rng.random() < rate
        if violating:
            category = "hate" if group is not None else str(rng.choice(cats, p=mix))
            # Detector scores on violating items: most clear, a third in the grey zone.
            score = float(np.clip(rng.normal(0.86, 0.12), 0.3, 0.999))
            score_cat = category
        else:
            category = None
            score_cat = str(rng.choice(cats, p=mix))
            # Benign items: mostly near zero, 3% "edgy" ones land in the grey zone.
            mu, sd = (0.5, 0.15) if rng.random() < 0.03 else (0.05, 0.05)
            score = float(np.clip(rng.normal(mu, sd), 0.0, 0.95))
        posts.append(Post(i, author, int(rng.integers(0, ticks // 2)), group, category, score,
                          score_cat, float(rng.lognormal(0.0, 0.8))))
    return posts
