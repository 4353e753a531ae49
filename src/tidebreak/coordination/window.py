"""A data-driven coordination window (CooRnet's `estimate_coord_interval`).

Among objects shared more than once, take the fastest q-quantile by time from first to second
share; for those, the time to reach more than p of their shares; the median of that is the
window. "The median time for the fastest 10% of objects to reach half of their shares."
"""

from __future__ import annotations

import numpy as np

from tidebreak.coordination.objects import NO_OBJECT


def estimate_window(obj: np.ndarray, t: np.ndarray, q: float = 0.1, p: float = 0.5) -> float:
    """Seconds (at least 1, as CooRnet sets a 0 s interval to 1 s). Raises ValueError when no
    object was shared twice: there is nothing to estimate from."""
    if not (0 < q <= 1 and 0 < p < 1):
        raise ValueError("q must be in (0, 1] and p in (0, 1)")
    rows = np.flatnonzero(obj != NO_OBJECT)
    order = rows[np.lexsort((t[rows], obj[rows]))]
    so, st = obj[order], t[order]
    starts = np.flatnonzero(np.r_[True, so[1:] != so[:-1]])
    sizes = np.diff(np.r_[starts, len(so)])
    multi = sizes > 1
    starts, sizes = starts[multi], sizes[multi]
    if not len(starts):
        raise ValueError("no object was shared twice; cannot estimate a window")
    first_gap = st[starts + 1] - st[starts]
    fastest = first_gap <= np.quantile(first_gap, q)
    starts, sizes = starts[fastest], sizes[fastest]
    # "more than p of their shares": the share at rank floor(p * size) (0-based), 0 s for pairs
    reach = st[starts + np.floor(p * sizes).astype(np.int64)] - st[starts]
    return max(1.0, float(np.median(reach)))
