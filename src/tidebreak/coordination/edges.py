"""Edge weights between accounts, from co-actions.

Directed, as in the QUT toolkit since its PR #26: w(A->B) counts A's distinct events that have at
least one event of B on the same object within the window. The count is asymmetric on purpose:
an account that posts the same link fifty times next to B's one share gets w(A->B) = 50 but
w(B->A) = 1. The undirected `weight` is the smaller of the two, the number of co-actions both
sides can attest to, and `symmetry` = min/max (CooRTweet's edge_symmetry_score).

`association` = weight / sqrt(activity_A * activity_B) (a cosine over accounts' activity):
a hyperactive account that posts everything co-acts with everyone by chance, and its edges
shrink with its volume, so it cannot pull a quiet account into a group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EdgeTable:
    a: np.ndarray  # account code, a < b
    b: np.ndarray
    w_ab: np.ndarray  # A's distinct events matched by B
    w_ba: np.ndarray
    association: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        return np.minimum(self.w_ab, self.w_ba)

    @property
    def symmetry(self) -> np.ndarray:
        return np.minimum(self.w_ab, self.w_ba) / np.maximum(np.maximum(self.w_ab, self.w_ba), 1)

    def __len__(self) -> int:
        return len(self.a)

    def subset(self, mask: np.ndarray) -> EdgeTable:
        return EdgeTable(self.a[mask], self.b[mask], self.w_ab[mask], self.w_ba[mask],
                         self.association[mask])

    def keys(self, n_accounts: int) -> np.ndarray:
        return self.a.astype(np.int64) * n_accounts + self.b


def sorted_unique(x: np.ndarray, counts: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """np.unique by one sort. (numpy >= 2.3 picks a hash table for unsorted integers, several
    times slower on the tens of millions of pair keys this module sees.)"""
    s = np.sort(x)
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    if not counts:
        return s[first], np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(first)
    return s[first], np.diff(np.r_[starts, len(s)])


def _unique_rows(major: np.ndarray, minor: np.ndarray, minor_range: int) -> np.ndarray:
    """Distinct (major, minor) rows, returned as their `major` values (one per distinct row)."""
    if int(major.max(initial=0)) < (2**62) // max(minor_range, 1):
        combined = sorted_unique(major * minor_range + minor)[0]  # one int64 sort: fast path
        return combined // minor_range
    order = np.lexsort((minor, major))
    major, minor = major[order], minor[order]
    first = np.ones(len(major), dtype=bool)
    first[1:] = (major[1:] != major[:-1]) | (minor[1:] != minor[:-1])
    return major[first]


def directed_weights(i: np.ndarray, j: np.ndarray, account: np.ndarray,
                     activity: np.ndarray) -> EdgeTable:
    """Edges with both directed weights, from the co-action pairs (i, j) (row indices)."""
    n_acc = len(activity)
    if len(i) == 0:
        z = np.empty(0, dtype=np.int64)
        return EdgeTable(z, z, z, z, np.empty(0))
    src = np.concatenate([account[i], account[j]]).astype(np.int64)
    dst = np.concatenate([account[j], account[i]]).astype(np.int64)
    src_event = np.concatenate([i, j]).astype(np.int64)
    directed = _unique_rows(src * n_acc + dst, src_event, len(account))
    dkey, count = sorted_unique(directed, counts=True)
    s, d = dkey // n_acc, dkey % n_acc
    lo, hi = np.minimum(s, d), np.maximum(s, d)
    # every co-action counts in both directions, so each undirected edge has exactly two rows
    order = np.argsort(lo * n_acc + hi, kind="stable")
    s, lo, hi, count = s[order], lo[order], hi[order], count[order]
    first, second = slice(0, None, 2), slice(1, None, 2)
    forward_first = s[first] == lo[first]
    w_ab = np.where(forward_first, count[first], count[second])
    w_ba = np.where(forward_first, count[second], count[first])
    a, b = lo[first], hi[first]
    weight = np.minimum(w_ab, w_ba)
    association = weight / np.sqrt(activity[a].astype(np.float64) * activity[b])
    return EdgeTable(a, b, w_ab, w_ba, association)


def select_edges(edges: EdgeTable, *, min_weight: int, min_association: float,
                 percentile: float = 0.0) -> np.ndarray:
    """Mask of edges kept for grouping: weight >= min_weight (repetition: sharing the same thing
    once is common), association >= min_association, and weight >= the given percentile of all
    edge weights (CooRnet's percentile_edge_weight; 0 turns it off)."""
    weight = edges.weight
    keep = (weight >= min_weight) & (edges.association >= min_association)
    if percentile > 0 and len(weight):
        keep &= weight >= np.quantile(weight, percentile)
    return keep
