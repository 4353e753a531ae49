"""Co-actions: pairs of events by different accounts on the same object with |t_a - t_b| <= W.

A sliding window around every event, as in the QUT toolkit and CooRTweet, not CooRnet's fixed
bins: two shares one second apart are a pair even when a bin boundary falls between them.

Work is proportional to the number of pairs found plus the number of events: events are sorted
by (object, time); at step k every still-open event is compared with the event k places later,
and an event closes once that neighbour is another object or out of the window (later ones can
only be further away). Everything is numpy over the whole table, no Python loop per event.
"""

from __future__ import annotations

import numpy as np

from tidebreak.coordination.objects import NO_OBJECT


def find_pairs(obj: np.ndarray, t: np.ndarray, account: np.ndarray,
               window: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of every co-action, i the earlier event (ties: either order, once).
    Pairs of one account with itself are not co-actions and are left out."""
    if window < 0:
        raise ValueError("window must be >= 0 seconds")
    rows = np.flatnonzero(obj != NO_OBJECT)
    order = rows[np.lexsort((t[rows], obj[rows]))]
    so, st, sa = obj[order], t[order], account[order]
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    open_ = np.arange(len(order) - 1, dtype=np.int64)
    k = 1
    while open_.size:
        other = open_ + k
        keep = other < len(order)
        open_, other = open_[keep], other[keep]
        keep = (so[other] == so[open_]) & (st[other] - st[open_] <= window)
        open_, other = open_[keep], other[keep]
        distinct = sa[other] != sa[open_]
        if distinct.any():
            out_i.append(order[open_[distinct]])
            out_j.append(order[other[distinct]])
        k += 1
    if not out_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    return np.concatenate(out_i), np.concatenate(out_j)
