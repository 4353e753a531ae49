"""How strongly a candidate group looks coordinated, from features a reviewer can check.

Coordination is not inauthenticity: fandoms, activists and news audiences co-act too. Each
feature below separates a campaign from one of those organic look-alikes:

- `exclusivity`: for each object the group co-acted on, the share of its events made by the
  group (its whole network), averaged over the objects weighted by the group's events on each. A campaign pushes its own links and copypasta; a news audience co-shares a link that
  thousands of others also share, and a fandom reposts posts the wider public reposts too.
- `sync`: how tight the co-actions are inside the window (1 - median gap / window). Automated
  networks act within seconds; organic reactions spread over minutes.
- `breadth`: how many distinct objects the group co-acted on, saturating at 30: one viral object
  is chance, dozens are a pattern.
- `focus`: for groups that co-share links, how concentrated the links are on few domains: the
  effective number of domains (exp of the entropy of the domains of the group's link shares)
  against
  FOCUS_DOMAINS; CooRnet reports the Gini of domains for the same reason. A campaign drives
  traffic to its own few sites; news aggregators post every outlet's stories, dozens of
  domains, and so does a crowd that co-shares the news. Groups without links score 1 here:
  there is nothing to judge.
- `persistence`: how long the group keeps co-acting, saturating at PERSISTENCE_HOURS: a live
  event's audience (a match, a debate) replies to the broadcaster in lockstep for the two or
  three hours it lasts, then disperses; a campaign keeps pushing its objects day after day.
  A campaign caught in its first hours scores lower until it persists (found a sweep later).
- `kinds`: how many object types the co-actions span (links, text, hashtags, reposts...): a
  campaign runs the same message through several channels; a fan base reposts.

The score is their weighted geometric mean, so a group must look coordinated on every count,
not only on one (a fandom is fast and broad, but not exclusive).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

BREADTH_SATURATION = 30
KINDS_SATURATION = 3
WEIGHTS = {"exclusivity": 3.0, "sync": 1.0, "breadth": 1.0, "kinds": 1.0, "focus": 2.0,
           "persistence": 3.0}
PERSISTENCE_HOURS = 12.0
PERSISTENCE_FLOOR = 0.05
FOCUS_FLOOR = 0.05  # a perfectly even spread still leaves a little weight
FOCUS_DOMAINS = 5.0  # up to this many effective domains is a campaign's own few sites


@dataclass(frozen=True, slots=True)
class GroupFeatures:
    accounts: int
    edges: int
    density: float
    co_actions: int
    objects: int
    object_types: int
    median_gap_s: float
    mean_weight: float
    mean_association: float
    exclusivity: float
    sync: float
    breadth: float
    kinds: float
    focus: float
    span_h: float = 0.0  # hours from the 10th to the 90th percentile of its co-actions' times
    persistence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def breadth(objects: int) -> float:
    return min(1.0, math.log1p(objects) / math.log1p(BREADTH_SATURATION))


def persistence(span_h: float) -> float:
    return max(PERSISTENCE_FLOOR, min(1.0, span_h / PERSISTENCE_HOURS))


def kinds(object_types: int) -> float:
    return min(1.0, object_types / KINDS_SATURATION)


def focus(links_per_domain: list[int]) -> float:
    """min(1, FOCUS_DOMAINS / effective number of domains), the effective number being exp of
    the Shannon entropy of the links' domains; 1 for fewer than two links."""
    total = sum(links_per_domain)
    if total < 2:
        return 1.0
    ent = -sum(c / total * math.log(c / total) for c in links_per_domain if c)
    return max(FOCUS_FLOOR, min(1.0, FOCUS_DOMAINS / math.exp(ent)))


def score(f: GroupFeatures) -> float:
    """Weighted geometric mean of the features in [0, 1]; 0 if any is 0."""
    total = sum(WEIGHTS.values())
    acc = 0.0
    for name, w in WEIGHTS.items():
        v = getattr(f, name)
        if v <= 0:
            return 0.0
        acc += w * math.log(v)
    return round(math.exp(acc / total), 4)
