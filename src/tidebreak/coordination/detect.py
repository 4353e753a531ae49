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

from tidebreak.coordination.edges import EdgeTable, directed_weights, select_edges
from tidebreak.coordination.events import CoordEvent
from tidebreak.coordination.evidence import build_bundle, build_edge
from tidebreak.coordination.grouping import find_groups, internal_edges
from tidebreak.coordination.objects import NO_OBJECT, EventTable, build_table
from tidebreak.coordination.pairs import find_pairs
from tidebreak.coordination.events import ObjectType
from tidebreak.coordination.scoring import GroupFeatures, breadth, focus, kinds, score
from tidebreak.coordination.urls import domain_of
from tidebreak.coordination.textmatch import DEFAULT_TEXT_THRESHOLD
from tidebreak.coordination.window import estimate_window

DETECTOR_VERSION = "coordination-1"


@dataclass(frozen=True)
class DetectionParams:
    window: float = 60.0  # seconds; None-like 0 is a legal (same-second) window
    auto_window: bool = False  # estimate the window from the data (CooRnet) instead
    min_weight: int = 3  # co-actions both accounts attest to
    min_association: float = 0.05  # weight / sqrt(activity_a * activity_b)
    percentile: float = 0.0  # also drop edges below this quantile of weights (0: off)
    min_group_size: int = 3
    # Objects acted on by more accounts than this pair nothing: co-sharing a link thousands
    # share (breaking news, a viral post) says nothing about coordination, and its pairs grow
    # with the square of the crowd. Counted in stats["viral_objects"]; 0 turns it off.
    max_object_accounts: int = 500
    min_score: float = 0.5
    text_threshold: float = DEFAULT_TEXT_THRESHOLD
    resolution: float = 1.0  # Louvain resolution
    seed: int = 0  # Louvain seed: same input, same groups


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
    distinct = np.unique(table.obj[ok].astype(np.int64) * len(table.accounts) + table.account[ok])
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
    n_acc = len(table.accounts)
    window = (estimate_window(table.obj, table.t) if params.auto_window else params.window)
    pair_obj, viral = _without_viral(table, params.max_object_accounts)
    i, j = find_pairs(pair_obj, table.t, table.account, window)
    activity = table.activity
    edges = directed_weights(i, j, table.account, activity)
    kept = edges.subset(select_edges(edges, min_weight=params.min_weight,
                                     min_association=params.min_association,
                                     percentile=params.percentile))
    groups = find_groups(kept, min_size=params.min_group_size, resolution=params.resolution,
                         seed=params.seed)

    # co-actions of kept edges, sorted by edge key so each edge's pairs are one slice
    pk = _pair_keys(table, i, j)
    kept_keys = kept.keys(n_acc)
    on_kept = np.isin(pk, kept_keys)
    i, j, pk = i[on_kept], j[on_kept], pk[on_kept]
    order = np.argsort(pk, kind="stable")
    i, j, pk = i[order], j[order], pk[order]
    starts = np.searchsorted(pk, kept_keys, side="left")
    ends = np.searchsorted(pk, kept_keys, side="right")
    all_events_on = np.bincount(table.obj[table.obj != NO_OBJECT], minlength=len(table.objects))

    scored: list[DetectedGroup] = []
    for members in groups:
        scored.append(_describe(table, kept, members, i, j, starts, ends, all_events_on,
                                window))
    scored.sort(key=lambda g: (-g.score, -len(g.accounts), g.group_id))
    reported = [g for g in scored if g.score >= params.min_score]
    below = [g for g in scored if g.score < params.min_score]
    stats = {
        "events": len(table.events), "accounts": n_acc, "objects": len(table.objects),
        "unmatchable": dict(table.unmatchable), "window_s": window, **viral,
        "co_actions": int(len(on_kept)), "edges": len(edges), "edges_kept": len(kept),
        "candidate_groups": len(scored), "groups_reported": len(reported),
        "params": asdict(params), "detector_version": DETECTOR_VERSION,
    }
    return DetectionResult(reported, below, window, stats)


def _describe(table: EventTable, kept: EdgeTable, members: list[int], i: np.ndarray,
              j: np.ndarray, starts: np.ndarray, ends: np.ndarray, all_events_on: np.ndarray,
              window: float) -> DetectedGroup:
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
    co_rows = np.unique(np.concatenate([pi, pj]))
    object_codes = np.unique(table.obj[co_rows])
    # every event of the group on those objects, inside the window of a partner or not
    inside = np.zeros(n_acc, dtype=bool)
    inside[members] = True
    on_objects = np.zeros(len(table.objects), dtype=bool)
    on_objects[object_codes] = True
    obj_ok = table.obj != NO_OBJECT
    mine = obj_ok & inside[table.account]
    mine[mine] = on_objects[table.obj[mine]]
    group_events_on = np.bincount(table.obj[mine], minlength=len(table.objects))[object_codes]
    all_on = all_events_on[object_codes]
    n_types = len({table.objects[int(o)][0] for o in object_codes.tolist()})
    domains: Counter[str] = Counter()
    for o in object_codes.tolist():
        otype, key = table.objects[o]
        if otype is ObjectType.URL:
            domains[domain_of(key)] += 1
    weights = kept.weight[inner]
    median_gap = float(np.median(gaps))
    n = len(members)
    features = GroupFeatures(
        accounts=n, edges=len(inner), density=len(inner) / (n * (n - 1) / 2),
        co_actions=len(pi), objects=len(object_codes), object_types=n_types,
        median_gap_s=median_gap, mean_weight=float(weights.mean()),
        mean_association=float(kept.association[inner].mean()),
        exclusivity=float(np.mean(group_events_on / np.maximum(all_on, 1))),
        sync=max(0.0, 1.0 - median_gap / window) if window > 0 else 1.0,
        breadth=breadth(len(object_codes)), kinds=kinds(n_types),
        focus=focus(list(domains.values())))
    accounts = sorted(table.accounts[m] for m in members)
    bundle = build_bundle(table, members, object_codes, group_events_on, all_on,
                          edge_evidence, features.to_dict(), window, co_rows)
    return DetectedGroup(group_id_for(accounts), accounts, score(features), features, bundle)
