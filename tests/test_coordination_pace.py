"""Every pace by default: bots within seconds and human-run networks minutes to an hour apart
are both found with no window given, while organic lockstep (a live audience, aggregator
bots, hyperactive sharers) stays out; an explicit --window keeps the old single-window path."""

from __future__ import annotations

import numpy as np
import pytest

from tidebreak.coordination import CoordEvent, DetectionParams, ObjectType, detect
from tidebreak.coordination.edges import directed_weights
from tidebreak.coordination.objects import build_table
from tidebreak.coordination.pairs import find_pairs
from tidebreak.coordination.scoring import focus, persistence
from tidebreak.coordination.significance import MIN_NULL_PAIRS, edge_pvalues

T0 = 1_800_000_000.0
HOUR = 3600.0


def _background(rng: np.random.Generator, n_accounts: int = 900, n_objects: int = 700,
                days: float = 4.0) -> list[CoordEvent]:
    """Organic sharing: Zipf-popular links shared at random times over days, enough co-actions
    for the significance test's null to mean something."""
    out = []
    pop = 1.0 / np.arange(1, n_objects + 1) ** 1.1
    pop /= pop.sum()
    births = rng.uniform(0, days * 86400, n_objects)
    for a in range(n_accounts):
        for o in rng.choice(n_objects, int(rng.integers(5, 40)), p=pop).tolist():
            t = births[o] + float(rng.lognormal(np.log(1800), 1.3))
            out.append(CoordEvent(f"bg{a}-{len(out)}", f"user{a}", ObjectType.URL,
                                  f"https://news{o % 50}.example/story/{o}", "", T0 + t))
    return out


def _campaign(rng: np.random.Generator, name: str, size: int, objects: int,
              mean_delay: float, days: float = 4.0) -> list[CoordEvent]:
    out = []
    members = [f"{name}{m}" for m in range(size)]
    for k in range(objects):
        trigger = float(rng.uniform(0, days * 86400))
        for m in members:
            if rng.random() < 0.7:
                out.append(CoordEvent(f"{name}-{k}-{m}", m, ObjectType.URL,
                                      f"https://{name}.example/p/{k}", "",
                                      T0 + trigger + float(rng.exponential(mean_delay))))
    return out


@pytest.fixture(scope="module")
def world() -> tuple[list[CoordEvent], dict[str, set[str]]]:
    rng = np.random.default_rng(5)
    events = _background(rng)
    bots = _campaign(rng, "bot", 12, 30, mean_delay=3.0)
    humans = _campaign(rng, "troll", 12, 30, mean_delay=900.0)  # 15 minutes, on average
    # a live audience: 20 super-fans reply to a broadcaster's updates within seconds, for two
    # hours, with a wider audience replying too
    audience = [f"user{a}" for a in range(0, 400)]
    core = audience[:20]
    for k in range(40):
        tk = T0 + 2 * 86400 + k * 180.0
        for acc in audience:
            if rng.random() < (0.6 if acc in core else 0.05):
                events.append(CoordEvent(f"live-{k}-{acc}", acc, ObjectType.REPLY,
                                         f"broadcaster/status/{k}", "",
                                         tk + float(rng.lognormal(np.log(15), 0.8))))
    events += bots + humans
    truth = {"bot": {e.account_id for e in bots}, "troll": {e.account_id for e in humans},
             "live_core": set(core)}
    return events, truth


def _flagged(groups: list) -> set[str]:  # type: ignore[type-arg]
    return {a for g in groups for a in g.accounts}


def test_default_finds_fast_and_human_paced_networks_and_leaves_the_live_audience(
        world: tuple[list[CoordEvent], dict[str, set[str]]]) -> None:
    events, truth = world
    result = detect(events)
    flagged = _flagged(result.groups)
    assert truth["bot"] <= flagged
    assert len(truth["troll"] & flagged) >= 0.9 * len(truth["troll"])
    assert not flagged & truth["live_core"]
    assert flagged <= truth["bot"] | truth["troll"]  # no organic account either
    assert all(g.evidence["summary"]["window_s"] in (10.0, 60.0, 600.0, 3600.0)
               for g in result.groups)
    assert result.stats["windows_s"] == [10.0, 60.0, 600.0, 3600.0]
    assert result.stats["significance"] is True


def test_an_explicit_60s_window_misses_the_human_paced_network(
        world: tuple[list[CoordEvent], dict[str, set[str]]]) -> None:
    events, truth = world
    result = detect(events, DetectionParams(window=60.0))
    assert result.stats["windows_s"] == [60.0] and result.stats["significance"] is False
    assert len(truth["troll"] & _flagged(result.groups)) < 0.5 * len(truth["troll"])


def test_significance_discounts_a_hyperactive_pair_against_a_quiet_one() -> None:
    """Two hubs co-acting 20 times among thousands of co-actions each are expected; two quiet
    accounts co-acting 20 times with nothing else are not."""
    rng = np.random.default_rng(1)
    events = []
    for k in range(3000):  # hubs h0..h9 share everything popular
        t = float(rng.uniform(0, 86400))
        for h in range(10):
            if rng.random() < 0.5:
                events.append(CoordEvent(f"h{h}-{k}", f"h{h}", ObjectType.URL,
                                         f"https://x.example/{k}", "", T0 + t + h))
    for k in range(20):
        for q in ("q1", "q2"):
            events.append(CoordEvent(f"{q}-{k}", q, ObjectType.URL, f"https://q.example/{k}",
                                     "", T0 + k * 1000.0 + (q == "q2")))
    table = build_table(events)
    i, j = find_pairs(table.obj, table.t, table.account, 60.0)
    assert len(i) >= MIN_NULL_PAIRS
    edges = directed_weights(i, j, table.account, table.activity)
    n_ab, p = edge_pvalues(i, j, table.account, edges, len(table.accounts))
    code = {a: k for k, a in enumerate(table.accounts)}
    lo, hi = sorted((code["q1"], code["q2"]))
    quiet = np.flatnonzero((edges.a == lo) & (edges.b == hi))[0]
    hubs = np.flatnonzero((edges.a < 10) & (edges.b < 10) & (n_ab >= 20))
    assert n_ab[quiet] == 20 and p[quiet] < 1e-9
    assert len(hubs) and (p[hubs] > 1e-9).all()


def test_aggregators_spread_over_many_domains_and_short_bursts_score_lower() -> None:
    assert focus([10]) == 1.0 and focus([5, 5, 5]) == 1.0  # a campaign's few own sites
    assert focus([1] * 100) < 0.1  # an aggregator: every outlet
    assert persistence(2.0) < 0.2 and persistence(30.0) == 1.0


def test_windows_must_be_non_negative() -> None:
    with pytest.raises(ValueError):
        detect([], DetectionParams(windows=(-1.0, 60.0)))


def _copy(events: list[CoordEvent], pre: str) -> list[CoordEvent]:
    return [CoordEvent(pre + e.event_id, pre + e.account_id, e.object_type,
                       e.object_id + "/" + pre, e.text, e.timestamp) for e in events]


def test_the_null_is_local_separate_populations_do_not_dilute_it() -> None:
    """A platform of separate communities (no object in common) gives each pair the test it
    would get in its own community alone: the global co-action total would grow with every
    community added and let ordinary pairs through."""
    from tidebreak.coordination.significance import populations

    rng = np.random.default_rng(3)
    one = _background(rng, n_accounts=300, n_objects=250)
    many = [e for k in range(5) for e in _copy(one, f"c{k}-")]

    def pvalues(events: list[CoordEvent], local: bool) -> dict[tuple[str, str], float]:
        table = build_table(events)
        n_acc = len(table.accounts)
        i, j = find_pairs(table.obj, table.t, table.account, 3600.0)
        edges = directed_weights(i, j, table.account, table.activity)
        pop = populations(table.obj, table.account, n_acc) if local else None
        _, p = edge_pvalues(i, j, table.account, edges, n_acc, pop)
        names = table.accounts
        return {(names[a].split("-", 1)[-1], names[b].split("-", 1)[-1]): float(q)
                for a, b, q in zip(edges.a.tolist(), edges.b.tolist(), p.tolist())
                if names[a].startswith("c0-") or not local}

    alone = pvalues(_copy(one, "c0-"), local=False)
    local = pvalues(many, local=True)
    assert len(local) == len(alone) and len(alone) > 100
    assert all(abs(local[k] - alone[k]) <= 1e-9 * max(alone[k], 1e-300) for k in alone)
    table = build_table(many)
    assert len(set(populations(table.obj, table.account, len(table.accounts)).tolist())) == 5
