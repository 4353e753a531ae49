"""Candidate groups: connected components of the kept edges, each split by Louvain communities
(networkx, seeded), as CooRnet reports both "to simplify the analysis of large components".
A chain of weak links between two real groups becomes two communities, not one blob."""

from __future__ import annotations

import numpy as np

from tidebreak.coordination.edges import EdgeTable


def find_groups(edges: EdgeTable, *, min_size: int = 3, resolution: float = 1.0,
                seed: int = 0) -> list[list[int]]:
    """Account codes of each group (sorted), largest first; groups below min_size are left out."""
    import networkx as nx  # here, not at the top: the pipeline imports this package

    g = nx.Graph()
    g.add_weighted_edges_from(zip(edges.a.tolist(), edges.b.tolist(), edges.weight.tolist()))
    groups: list[list[int]] = []
    for comp in nx.connected_components(g):
        if len(comp) < min_size:
            continue
        if len(comp) <= min_size:
            groups.append(sorted(comp))
            continue
        parts = nx.community.louvain_communities(g.subgraph(comp), weight="weight",
                                                 resolution=resolution, seed=seed)
        groups.extend(sorted(p) for p in parts if len(p) >= min_size)
    groups.sort(key=lambda grp: (-len(grp), grp))
    return groups


def components_of(edges: EdgeTable, groups: list[list[int]]) -> list[list[int]]:
    """The connected component (of the kept edges) each group lies in: the whole network at
    that window, of which Louvain may have cut the group out."""
    import networkx as nx

    g = nx.Graph()
    g.add_edges_from(zip(edges.a.tolist(), edges.b.tolist()))
    comp_of: dict[int, list[int]] = {}
    for comp in nx.connected_components(g):
        members = sorted(comp)
        for a in members:
            comp_of[a] = members
    return [comp_of[grp[0]] for grp in groups]


def internal_edges(edges: EdgeTable, members: list[int], n_accounts: int) -> np.ndarray:
    """Mask of the edges with both ends in `members`."""
    inside = np.zeros(n_accounts, dtype=bool)
    inside[members] = True
    return inside[edges.a] & inside[edges.b]
