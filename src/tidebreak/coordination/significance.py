"""Edge significance against each account's own co-action volume, within its own population
(a configuration null, made local).

At a given window every co-action is one (A, B) pair. If each account kept its number of
co-actions (its degree d) but its partners were drawn at random among the accounts it could
have met, A and B would share lambda = d_A * d_B / (2P) co-actions, P being the co-actions of
that population (the null behind modularity). An account that shares what everyone shares
(breaking news, a viral post, a live event's feed) has a large degree spread over many
partners, so no single partner stands out; a campaign member's co-actions fall again and again
on the same few partners. The edge is kept when P(X >= n_AB | Poisson(lambda)) is below
`alpha`: it is the count against the null that matters, not the count alone, so the same rule
holds at a 10 s window and at a 1 h one.

Which accounts could A have met? Those connected to it through the objects they acted on: the
connected component of A in the account-object graph (every event on an object under the crowd
cap is an edge), its *population*. P is the co-actions inside that population at the window.
Dividing by the co-actions of the whole data set instead makes the test depend on unrelated
traffic: a platform of 30 communities that never touch the same objects has 30 times the
co-actions any one account can reach, lambda shrinks 30-fold and ordinary pairs of friends look
significant (bench/: F1 0.45 at 10.8 M events with the global total, against 0.97 for one
community alone). With the local null, a data set made of separate populations gives each
account the same test as if its population had been run alone.

The null needs background: a population with fewer than MIN_NULL_PAIRS co-actions at a window
(a network whose objects nobody else touched, cut off from everyone) has no neighbourhood to
compare with, and is tested against the whole data set's co-actions instead, as before; and
when the whole data set is below MIN_NULL_PAIRS (a small hand-made file, one network being most
of the traffic) the test is not applied at that window, and edges are kept on weight and
association alone, as with a fixed window.
"""

from __future__ import annotations

import numpy as np

from tidebreak.coordination.edges import EdgeTable, sorted_unique

MIN_NULL_PAIRS = 10_000
NO_OBJECT = -1  # as objects.NO_OBJECT (not imported: this module stays free of the pipeline)


def populations(obj: np.ndarray, account: np.ndarray, n_accounts: int) -> np.ndarray:
    """Population label per account code: connected components of the account-object graph
    over the rows with an object (NO_OBJECT rows, e.g. over the crowd cap, link nothing)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ok = obj != NO_OBJECT
    a = account[ok].astype(np.int32)
    o = obj[ok].astype(np.int64)
    n_obj = int(o.max()) + 1 if len(o) else 0
    n = n_accounts + n_obj
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, (o + n_accounts).astype(np.int32))),
                   shape=(n, n)).tocsr()
    _, labels = connected_components(g, directed=False)
    return labels[:n_accounts].astype(np.int64)


def null_lambda(deg: np.ndarray, population: np.ndarray, a: np.ndarray,
                b: np.ndarray) -> np.ndarray:
    """Expected co-actions of the pairs (a, b) under the local configuration null. `deg`:
    co-actions per account at the window (each pair counts once for either end); `population`:
    population label per account (see `populations`)."""
    deg = deg.astype(np.float64)
    volume = np.bincount(population, weights=deg) / 2.0  # co-actions inside each population
    local = volume[population[a]]
    total = float(deg.sum()) / 2.0
    pairs = np.where(local >= MIN_NULL_PAIRS, local, total)
    return deg[a] * deg[b] / np.maximum(2.0 * pairs, 1.0)


def upper_tail(n_ab: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """P(X >= n) for X ~ Poisson(lam): the regularised lower incomplete gamma P(n, lam)."""
    from scipy.special import gammainc  # here: the pipeline imports this package

    return gammainc(n_ab.astype(np.float64), lam)


def edge_pvalues(i: np.ndarray, j: np.ndarray, account: np.ndarray, edges: EdgeTable,
                 n_accounts: int, population: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(pair count n_AB, Poisson upper-tail p) per edge of `edges`, from the co-action pairs
    (i, j) those edges were built from. `population`: label per account (None: one population,
    the global null)."""
    if len(edges) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    a, b = account[i].astype(np.int64), account[j].astype(np.int64)
    keys = np.minimum(a, b) * n_accounts + np.maximum(a, b)
    uniq, counts = sorted_unique(keys, counts=True)
    pos = np.searchsorted(uniq, edges.keys(n_accounts))
    n_ab = counts[pos]
    degree = np.bincount(a, minlength=n_accounts) + np.bincount(b, minlength=n_accounts)
    if population is None:
        population = np.zeros(n_accounts, dtype=np.int64)
    lam = null_lambda(degree, population, edges.a.astype(np.int64), edges.b.astype(np.int64))
    return n_ab, upper_tail(n_ab, lam)
