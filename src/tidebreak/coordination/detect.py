"""Coordination detection, end to end: events -> co-action pairs -> edges -> groups -> scored
groups with evidence, strongest first.

Only groups scoring at least `min_score` are reported: each becomes a review case (see
`review`), so every reported group costs a reviewer's time. Groups below it are still counted in
the stats, so nothing disappears without a trace.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tidebreak.coordination.edges import EdgeTable, directed_weights, select_edges, sorted_unique
from tidebreak.coordination.events import CoordEvent
from tidebreak.coordination.evidence import build_bundle, build_edge
from tidebreak.coordination.grouping import components_of, find_groups, internal_edges
from tidebreak.coordination.objects import NO_OBJECT, EventTable, build_table
from tidebreak.coordination.pairs import find_pairs
from tidebreak.coordination.events import ObjectType
from tidebreak.coordination.scoring import (
    GroupFeatures,
    breadth,
    focus,
    kinds,
    persistence,
    score,
)
from tidebreak.coordination.significance import MIN_NULL_PAIRS, edge_pvalues, populations
from tidebreak.text.urls import domain_of
from tidebreak.coordination.textmatch import DEFAULT_TEXT_THRESHOLD
from tidebreak.coordination.window import estimate_window

DETECTOR_VERSION = "coordination-2"


# Default scales: bots act within seconds, semi-automated networks within a minute, human-run
# ones minutes to an hour apart. Each network is reported at the scale where it scores best.
DEFAULT_WINDOWS: tuple[float, ...] = (10.0, 60.0, 600.0, 3600.0)


@dataclass(frozen=True)
class DetectionParams:
    # None (the default): every scale in `windows`, each edge tested against the configuration
    # null (see `significance`). A number: that one window, no significance test (the
    # behaviour before multi-scale detection, for those who know their window).
    window: float | None = None
    windows: tuple[float, ...] = DEFAULT_WINDOWS
    auto_window: bool = False  # estimate one window from the data (CooRnet) instead
    min_weight: int = 3  # co-actions both accounts attest to
    min_association: float = 0.05  # weight / sqrt(activity_a * activity_b)
    alpha: float = 1e-9  # multi-scale: keep an edge when P(>= its co-actions | null) < alpha
    percentile: float = 0.0  # also drop edges below this quantile of weights (0: off)
    min_group_size: int = 3
    # Objects acted on by more accounts than this pair nothing: co-sharing a link thousands
    # share (breaking news, a viral post) says nothing about coordination, and its pairs grow
    # with the square of the crowd. Counted in stats["viral_objects"]; 0 turns it off.
    max_object_accounts: int = 500
    min_score: float = 0.70
    text_threshold: float = DEFAULT_TEXT_THRESHOLD
    resolution: float = 1.0  # Louvain resolution
    seed: int = 0  # Louvain seed: same input, same groups

    def scales(self) -> tuple[tuple[float, ...], bool]:
        """(windows to run, whether edges are tested for significance), for explicit windows;
        auto_window is resolved in `detect` because it needs the data."""
        if self.window is not None:
            return (float(self.window),), False
        if not self.windows or any(w < 0 for w in self.windows):
            raise ValueError("windows must be a non-empty list of seconds >= 0")
        return tuple(sorted(set(float(w) for w in self.windows))), True


@dataclass
class DetectedGroup:
    group_id: str
    accounts: list[str]
    score: float
    features: GroupFeatures
    evidence: dict[str, Any]

    def to_output(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "accounts": self.accounts, "score": self.score,
                "evidence": self.evidence}


@dataclass
class DetectionResult:
    groups: list[DetectedGroup]  # reported (score >= min_score), strongest first
    below_threshold: list[DetectedGroup]  # candidates not reported, for tuning and audits
    window: float
    stats: dict[str, Any] = field(default_factory=dict)


def group_id_for(accounts: Sequence[str]) -> str:
    """Stable id from the member list: the same group found twice is the same case."""
    h = hashlib.sha256("\x1f".join(sorted(accounts)).encode("utf-8")).hexdigest()
    return f"cg_{h[:16]}"


def _pair_keys(table: EventTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    a, b = table.account[i].astype(np.int64), table.account[j].astype(np.int64)
    return np.minimum(a, b) * len(table.accounts) + np.maximum(a, b)


def _without_viral(table: EventTable, cap: int) -> tuple[np.ndarray, dict[str, int]]:
    """The object column with objects over `cap` distinct accounts masked out, and counts."""
    ok = table.obj != NO_OBJECT
    if cap <= 0 or not ok.any():
        return table.obj, {"viral_objects": 0, "viral_object_events": 0}
    distinct = sorted_unique(table.obj[ok].astype(np.int64) * len(table.accounts)
                             + table.account[ok])[0]
    accounts_on = np.bincount(distinct // len(table.accounts), minlength=len(table.objects))
    viral = accounts_on > cap
    masked = table.obj.copy()
    hit = ok.copy()
    hit[ok] = viral[table.obj[ok]]
    masked[hit] = NO_OBJECT
    return masked, {"viral_objects": int(viral.sum()), "viral_object_events": int(hit.sum())}


def detect(events: Sequence[CoordEvent], params: DetectionParams = DetectionParams(),
           table: EventTable | None = None) -> DetectionResult:
    table = table or build_table(events, params.text_threshold)
    if params.auto_window:
        scales, significance = (estimate_window(table.obj, table.t),), False
    else:
        scales, significance = params.scales()
    pair_obj, viral = _without_viral(table, params.max_object_accounts)
    # pairs once at the widest scale; each narrower scale is a filter on their gaps
    i_all, j_all = find_pairs(pair_obj, table.t, table.account, max(scales))
    gaps = np.abs(table.t[j_all] - table.t[i_all])
    # the accounts each account could have met: the null of the significance test is local
    population = (populations(pair_obj, table.account, len(table.accounts))
                  if significance else None)
    candidates: list[DetectedGroup] = []
    per_scale: dict[str, dict[str, int]] = {}
    for window in scales:
        on = gaps <= window
        found, counts = _detect_at(table, i_all[on], j_all[on], window, params, significance,
                                   population)
        candidates.extend(found)
        per_scale[f"{window:g}"] = counts
    reported, below = _merge_scales(candidates, params.min_score)
    stats = {
        "events": len(table.events), "accounts": len(table.accounts),
        "objects": len(table.objects), "unmatchable": dict(table.unmatchable),
        "window_s": max(scales), "windows_s": list(scales), "significance": significance,
        **viral, "co_actions": int(len(i_all)),
        "edges": sum(c["edges"] for c in per_scale.values()),
        "edges_kept": sum(c["edges_kept"] for c in per_scale.values()),
        "per_window": per_scale, "candidate_groups": len(candidates),
        "groups_reported": len(reported), "params": asdict(params),
        "detector_version": DETECTOR_VERSION,
    }
    return DetectionResult(reported, below, max(scales), stats)


def _merge_scales(candidates: list[DetectedGroup],
                  min_score: float) -> tuple[list[DetectedGroup], list[DetectedGroup]]:
    """One report per network: strongest first, a candidate that is mostly (half or more of
    its accounts) a network already reported at another scale is the same network, seen
    again, and is dropped; what does not reach min_score is kept aside for audits."""
    candidates = sorted(candidates, key=lambda g: (-g.score, -len(g.accounts), g.group_id))
    reported: list[DetectedGroup] = []
    below: list[DetectedGroup] = []
    taken: set[str] = set()
    seen_ids: set[str] = set()
    for g in candidates:
        if g.group_id in seen_ids:
            continue
        seen_ids.add(g.group_id)
        if g.score < min_score:
            below.append(g)
        elif sum(a in taken for a in g.accounts) * 2 < len(g.accounts):
            reported.append(g)
            taken.update(g.accounts)
    return reported, below


def _detect_at(table: EventTable, i: np.ndarray, j: np.ndarray, window: float,
               params: DetectionParams,
               significance: bool, population: np.ndarray | None = None
               ) -> tuple[list[DetectedGroup], dict[str, int]]:
    """Scored candidate groups at one window, from that window's co-action pairs."""
    n_acc = len(table.accounts)
    edges = directed_weights(i, j, table.account, table.activity)
    keep = select_edges(edges, min_weight=params.min_weight,
                        min_association=params.min_association, percentile=params.percentile)
    if significance and len(i) >= MIN_NULL_PAIRS:
        _, pvalue = edge_pvalues(i, j, table.account, edges, n_acc, population)
        keep &= pvalue < params.alpha
    kept = edges.subset(keep)
    all_events_on = np.bincount(table.obj[table.obj != NO_OBJECT], minlength=len(table.objects))
    found, n_groups = describe_groups(table, kept, i, j, window, params, all_events_on)
    return found, {"co_actions": int(len(i)), "edges": len(edges), "edges_kept": len(kept),
                   "groups": n_groups}


def describe_groups(table: EventTable, kept: EdgeTable, i: np.ndarray, j: np.ndarray,
                    window: float, params: DetectionParams,
                    all_events_on: np.ndarray) -> tuple[list[DetectedGroup], int]:
    """Groups of the kept edges (components split by Louvain), each scored with its evidence.
    `i`, `j`: the window's co-action pairs (rows of `table`; pairs off the kept edges are
    ignored); `all_events_on`: everyone's events per object code. The out-of-core path calls
    this too, with a table holding only the rows it needs, so both paths score alike."""
    n_acc = len(table.accounts)
    groups = find_groups(kept, min_size=params.min_group_size, resolution=params.resolution,
                         seed=params.seed)
    if not groups:
        return [], 0
    # co-actions of kept edges, sorted by edge key so each edge's pairs are one slice
    pk = _pair_keys(table, i, j)
    kept_keys = kept.keys(n_acc)
    on_kept = np.isin(pk, kept_keys)
    i, j, pk = i[on_kept], j[on_kept], pk[on_kept]
    order = np.argsort(pk, kind="stable")
    i, j, pk = i[order], j[order], pk[order]
    starts = np.searchsorted(pk, kept_keys, side="left")
    ends = np.searchsorted(pk, kept_keys, side="right")
    networks = components_of(kept, groups)
    return [_describe(table, kept, members, i, j, starts, ends, all_events_on, window, network)
            for members, network in zip(groups, networks)], len(groups)


def _describe(table: EventTable, kept: EdgeTable, members: list[int], i: np.ndarray,
              j: np.ndarray, starts: np.ndarray, ends: np.ndarray, all_events_on: np.ndarray,
              window: float, network: list[int]) -> DetectedGroup:
    n_acc = len(table.accounts)
    inner = np.flatnonzero(internal_edges(kept, members, n_acc))
    edge_evidence = []
    rows_i, rows_j = [], []
    for e in inner.tolist():
        s, t = int(starts[e]), int(ends[e])
        rows_i.append(i[s:t])
        rows_j.append(j[s:t])
        edge_evidence.append(build_edge(table, int(kept.a[e]), int(kept.b[e]),
                                        int(kept.w_ab[e]), int(kept.w_ba[e]),
                                        float(kept.association[e]), i[s:t], j[s:t]))
    pi, pj = np.concatenate(rows_i), np.concatenate(rows_j)
    gaps = np.abs(table.t[pj] - table.t[pi])
    co_rows = sorted_unique(np.concatenate([pi, pj]))[0]
    object_codes = np.unique(table.obj[co_rows])
    # every event of the group on those objects, inside the window of a partner or not
    # Exclusivity asks whether the objects are pushed by the network or by the public, so the
    # group's share counts the whole network it was cut from (its connected component): a
    # campaign Louvain split in three is not a third as exclusive.
    inside = np.zeros(n_acc, dtype=bool)
    inside[network] = True
    on_objects = np.zeros(len(table.objects), dtype=bool)
    on_objects[object_codes] = True
    obj_ok = table.obj != NO_OBJECT
    mine = obj_ok & inside[table.account]
    mine[mine] = on_objects[table.obj[mine]]
    group_events_on = np.bincount(table.obj[mine], minlength=len(table.objects))[object_codes]
    all_on = all_events_on[object_codes]
    n_types = len({table.objects[int(o)][0] for o in object_codes.tolist()})
    domains: Counter[str] = Counter()
    # Both exclusivity and focus weigh each object by the group's own events on it: in a big
    # network, members also co-share the odd popular link by chance (their camouflage), and
    # those incidental objects must not count as much as the ones the network pushes.
    for o, n_group in zip(object_codes.tolist(), group_events_on.tolist()):
        otype, key = table.objects[o]
        if otype is ObjectType.URL:
            domains[domain_of(key)] += n_group
    weights = kept.weight[inner]
    median_gap = float(np.median(gaps))
    # the central 80% of the co-actions: a live audience's odd organic co-shares over the
    # week do not stretch its three hours of lockstep
    lo_t, hi_t = np.quantile(table.t[co_rows], [0.1, 0.9])
    span_h = float(hi_t - lo_t) / 3600.0
    n = len(members)
    features = GroupFeatures(
        accounts=n, edges=len(inner), density=len(inner) / (n * (n - 1) / 2),
        co_actions=len(pi), objects=len(object_codes), object_types=n_types,
        median_gap_s=median_gap, mean_weight=float(weights.mean()),
        mean_association=float(kept.association[inner].mean()),
        exclusivity=float(np.average(group_events_on / np.maximum(all_on, 1),
                                     weights=np.maximum(group_events_on, 1))),
        sync=max(0.0, 1.0 - median_gap / window) if window > 0 else 1.0,
        breadth=breadth(len(object_codes)), kinds=kinds(n_types),
        focus=focus(list(domains.values())), span_h=span_h, persistence=persistence(span_h))
    accounts = sorted(table.accounts[m] for m in members)
    bundle = build_bundle(table, members, object_codes, group_events_on, all_on,
                          edge_evidence, features.to_dict(), window, co_rows)
    return DetectedGroup(group_id_for(accounts), accounts, score(features), features, bundle)
