"""Evidence bundles: what a reviewer needs to check a group, and to recompute every edge.

Every edge lists its co-actions (object, both event ids, the gap between them). From that list
alone, w(A->B) is the number of distinct `event_a`, w(B->A) the number of distinct `event_b`,
and the weight the smaller: `edge_weights_from_evidence` does exactly that, and tests hold the
detector to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from tidebreak.coordination.events import ObjectType
from tidebreak.coordination.objects import EventTable
from tidebreak.text.urls import domain_of

MAX_OBJECTS_LISTED = 50
SAMPLE_CHARS = 200


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def edge_weights_from_evidence(edge: Mapping[str, Any]) -> tuple[int, int, int]:
    """(w_ab, w_ba, weight) recomputed from an evidence edge's co-actions."""
    w_ab = len({c["event_a"] for c in edge["co_actions"]})
    w_ba = len({c["event_b"] for c in edge["co_actions"]})
    return w_ab, w_ba, min(w_ab, w_ba)


def object_label(table: EventTable, code: int) -> tuple[str, str]:
    otype, key = table.objects[code]
    return otype.value, key


def build_edge(table: EventTable, a: int, b: int, w_ab: int, w_ba: int, association: float,
               rows_i: np.ndarray, rows_j: np.ndarray) -> dict[str, Any]:
    """One edge's evidence; (rows_i, rows_j) are its co-action pairs, in either orientation."""
    co_actions = []
    for i, j in zip(rows_i.tolist(), rows_j.tolist()):
        if table.account[i] != a:  # orient every co-action as (A's event, B's event)
            i, j = j, i
        otype, key = object_label(table, int(table.obj[i]))
        co_actions.append({"object_type": otype, "object_id": key,
                           "event_a": table.events[i].event_id,
                           "event_b": table.events[j].event_id,
                           "gap_s": round(abs(float(table.t[j] - table.t[i])), 3)})
    co_actions.sort(key=lambda c: (c["object_type"], c["object_id"], c["event_a"], c["event_b"]))
    weight = min(w_ab, w_ba)
    return {"a": table.accounts[a], "b": table.accounts[b], "weight": weight, "w_ab": w_ab,
            "w_ba": w_ba, "symmetry": round(weight / max(w_ab, w_ba, 1), 4),
            "association": round(association, 4), "co_actions": co_actions}


def build_bundle(table: EventTable, members: Sequence[int], object_codes: np.ndarray,
                 group_events_on: np.ndarray, all_events_on: np.ndarray,
                 edges: list[dict[str, Any]], features: dict[str, Any],
                 window: float, co_action_rows: np.ndarray) -> dict[str, Any]:
    """The whole bundle of one group. `object_codes` are the objects co-acted on, with the
    group's and everyone's event counts on each; `co_action_rows` the rows of those events."""
    order = np.argsort(-group_events_on, kind="stable")
    objects = []
    domains: Counter[str] = Counter()
    for k in order.tolist():
        otype, key = object_label(table, int(object_codes[k]))
        if otype == ObjectType.URL.value:
            domains[domain_of(key)] += int(group_events_on[k])
        if len(objects) < MAX_OBJECTS_LISTED:
            entry: dict[str, Any] = {"object_type": otype, "object_id": key,
                                     "group_events": int(group_events_on[k]),
                                     "all_events": int(all_events_on[k])}
            if otype == ObjectType.TEXT.value and key in table.text_samples:
                entry["sample"] = table.text_samples[key][:SAMPLE_CHARS]
            objects.append(entry)
    times = table.t[co_action_rows]
    hours: Counter[str] = Counter(_iso(h * 3600.0) for h in (times // 3600).tolist())
    per_account: Counter[str] = Counter(table.accounts[int(a)]
                                        for a in table.account[co_action_rows].tolist())
    return {
        "summary": {"accounts": len(members), "edges": len(edges),
                    "co_actions": sum(len(e["co_actions"]) for e in edges),
                    "objects": len(object_codes), "window_s": window, **features},
        "edges": edges,
        "objects": objects,
        "objects_listed": len(objects),
        "domains": dict(domains.most_common()),
        "timeline": {
            "first": _iso(float(times.min())) if len(times) else None,
            "last": _iso(float(times.max())) if len(times) else None,
            "co_action_events_per_hour": dict(sorted(hours.items())),
            "co_action_events_per_account": dict(sorted(per_account.items())),
        },
    }
