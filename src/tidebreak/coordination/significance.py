"""Edge significance against each account's own co-action volume (a configuration null).

At a given window every co-action is one (A, B) pair. If each account kept its number of
co-actions (its degree d) but its partners were drawn at random, A and B would share
lambda = d_A * d_B / (2P) co-actions, P being all co-actions (the null behind modularity).
An account that shares what everyone shares (breaking news, a viral post, a live event's feed)
has a large degree spread over many partners, so no single partner stands out; a campaign
member's co-actions fall again and again on the same few partners. The edge is kept when
P(X >= n_AB | Poisson(lambda)) is below `alpha`: it is the count against the null that
matters, not the count alone, so the same rule holds at a 10 s window and at a 1 h one.

The null needs background: when one network is most of the traffic (a small hand-made file),
its members' own co-actions make their degrees, and nothing can look surprising. Below
MIN_NULL_PAIRS co-actions at a window the test is not applied there, and edges are kept on
weight and association alone, as with a fixed window.
"""

from __future__ import annotations

import numpy as np

from tidebreak.coordination.edges import EdgeTable, sorted_unique

MIN_NULL_PAIRS = 10_000


def edge_pvalues(i: np.ndarray, j: np.ndarray, account: np.ndarray, edges: EdgeTable,
                 n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
    """(pair count n_AB, Poisson upper-tail p) per edge of `edges`, from the co-action pairs
    (i, j) those edges were built from."""
    from scipy.special import gammainc  # here: the pipeline imports this package

    if len(edges) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    a, b = account[i].astype(np.int64), account[j].astype(np.int64)
    keys = np.minimum(a, b) * n_accounts + np.maximum(a, b)
    uniq, counts = sorted_unique(keys, counts=True)
    pos = np.searchsorted(uniq, edges.keys(n_accounts))
    n_ab = counts[pos]
    degree = np.bincount(a, minlength=n_accounts) + np.bincount(b, minlength=n_accounts)
    lam = degree[edges.a].astype(np.float64) * degree[edges.b] / max(2.0 * len(i), 1.0)
    # P(X >= n) for X ~ Poisson(lam) is the regularised lower incomplete gamma P(n, lam)
    return n_ab, gammainc(n_ab.astype(np.float64), lam)
