"""How strongly a candidate group looks coordinated, from features a reviewer can check.

Coordination is not inauthenticity: fandoms, activists and news audiences co-act too. Each
feature below separates a campaign from one of those organic look-alikes:

- `exclusivity`: for each object the group co-acted on, the share of its events made by the
  group, averaged over the objects. A campaign pushes its own links and copypasta; a news audience co-shares a link that
  thousands of others also share, and a fandom reposts posts the wider public reposts too.
- `sync`: how tight the co-actions are inside the window (1 - median gap / window). Automated
  networks act within seconds; organic reactions spread over minutes.
- `breadth`: how many distinct objects the group co-acted on, saturating at 30: one viral object
  is chance, dozens are a pattern.
- `focus`: for groups that co-share links, how concentrated the links are on few domains
  (1 - entropy of domains over distinct links, normalised; CooRnet reports the Gini of domains for the same reason). A campaign
  drives traffic to its own few sites; news aggregators post every outlet's stories. Groups
  without links score 1 here: there is nothing to judge.
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
WEIGHTS = {"exclusivity": 2.0, "sync": 1.0, "breadth": 1.0, "kinds": 1.0, "focus": 1.0}
FOCUS_FLOOR = 0.05  # a perfectly even spread still leaves a little weight


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

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def breadth(objects: int) -> float:
    return min(1.0, math.log1p(objects) / math.log1p(BREADTH_SATURATION))


def kinds(object_types: int) -> float:
    return min(1.0, object_types / KINDS_SATURATION)


def focus(links_per_domain: list[int]) -> float:
    """1 - Shannon entropy of the links' domains, normalised by its maximum for that many
    links (every link on its own domain). 1 for fewer than two links."""
    total = sum(links_per_domain)
    if total < 2:
        return 1.0
    ent = -sum(c / total * math.log(c / total) for c in links_per_domain if c)
    return max(FOCUS_FLOOR, 1.0 - ent / math.log(total))


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
