"""Disparate-impact report: who the rules hit hardest.

Three rates, each broken down by target group and by language:

- enforcement rate: items automatically restricted (remove, reduce, label, warn; an election
  information label is context, not enforcement) / items automatically decided;
- overturn rate: appeals of automated decisions reversed / appeals of automated decisions decided;
- false-positive rate: labelled-benign items (a hand label with no category) automatically
  restricted / labelled-benign items.

An item's target group is the one a reviewer named (`tag`, stored in the item's meta as
`target_group`, ledgered), else one the classifier's evidence names (`target_group` in a signal's
evidence), else the labelled sample's `target_group`; its language is the item's `language` meta or
the sample's. Items with neither are counted under "unknown", which is never part of a gap.

The gap of a rate is max - min over the groups with at least `min_n` items in that rate's
denominator. `compare` flags a policy change whose gap widens by more than `GAP_BOUND`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.governance.errors import GovernanceError, NotFound
from tidebreak.model import NON_VIOLATION_CATEGORIES
from tidebreak.store.schema import AppealRow, ContentRow, DecisionRow

RESTRICTING = ("remove", "reduce", "label", "warn")
GAP_BOUND = 0.05  # five percentage points
MIN_N = 5
UNKNOWN = "unknown"
DIMENSIONS = ("target_group", "language")
RATES = ("enforcement_rate", "overturn_rate", "false_positive_rate")


@dataclass(frozen=True)
class ItemFacts:
    """One item as the report sees it."""

    content_id: str
    target_group: str | None
    language: str | None
    enforced: bool | None  # None: no automated decision
    benign: bool | None = None  # hand label: True benign, False violating, None unlabelled
    appeal: str | None = None  # reversed | maintained for a decided appeal of automation


def is_enforcement(action: str, categories: Iterable[str]) -> bool:
    """A decision's `categories` are the violations it found (an information label or a review
    finds none), so a restricting action with a category is enforcement."""
    return action in RESTRICTING and bool(set(categories) - NON_VIOLATION_CATEGORIES)


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 6) if n else None


def compute(items: Iterable[ItemFacts], *, min_n: int = MIN_N) -> dict[str, Any]:
    """The figures from item facts: pure, so the backtest and the tests use it too."""
    items = list(items)
    out: dict[str, Any] = {"items": len(items), "min_n": min_n}
    for dim in DIMENSIONS:
        groups: dict[str, dict[str, int]] = {}
        for it in items:
            g = getattr(it, dim) or UNKNOWN
            c = groups.setdefault(g, {"decided": 0, "enforced": 0, "appeals_decided": 0,
                                      "overturned": 0, "labelled_benign": 0,
                                      "false_positives": 0})
            if it.enforced is not None:
                c["decided"] += 1
                c["enforced"] += it.enforced
            if it.appeal in ("reversed", "maintained"):
                c["appeals_decided"] += 1
                c["overturned"] += it.appeal == "reversed"
            if it.benign and it.enforced is not None:
                c["labelled_benign"] += 1
                c["false_positives"] += bool(it.enforced)
        table = {}
        for g, c in sorted(groups.items()):
            table[g] = {**c, "enforcement_rate": _rate(c["enforced"], c["decided"]),
                        "overturn_rate": _rate(c["overturned"], c["appeals_decided"]),
                        "false_positive_rate": _rate(c["false_positives"], c["labelled_benign"])}
        denominators = {"enforcement_rate": "decided", "overturn_rate": "appeals_decided",
                        "false_positive_rate": "labelled_benign"}
        gaps: dict[str, Any] = {}
        for rate, denom in denominators.items():
            vals = {g: r[rate] for g, r in table.items()
                    if g != UNKNOWN and r[denom] >= min_n and r[rate] is not None}
            if len(vals) >= 2:
                hi, lo = max(vals, key=vals.__getitem__), min(vals, key=vals.__getitem__)
                gaps[rate] = {"gap": round(vals[hi] - vals[lo], 6), "highest": hi, "lowest": lo}
            else:
                gaps[rate] = {"gap": None, "reason": f"fewer than 2 groups with {min_n}+ items"}
        out[dim] = {"groups": table, "gaps": gaps}
    return out


def compare(before: dict[str, Any], after: dict[str, Any], *,
            bound: float = GAP_BOUND) -> list[dict[str, Any]]:
    """Flags for every rate and dimension whose gap widens by more than `bound`."""
    flags = []
    for dim in DIMENSIONS:
        for rate in RATES:
            b = before.get(dim, {}).get("gaps", {}).get(rate, {}).get("gap")
            a = after.get(dim, {}).get("gaps", {}).get(rate, {}).get("gap")
            if a is not None and a - (b or 0.0) > bound:
                flags.append({"dimension": dim, "rate": rate, "gap_before": b, "gap_after": a,
                              "bound": bound,
                              "highest": after[dim]["gaps"][rate]["highest"],
                              "lowest": after[dim]["gaps"][rate]["lowest"]})
    return flags


def load_labels(path: str | Path) -> dict[str, dict[str, Any]]:
    """Hand labels: JSONL lines {"id", "expected": [categories], optional "target_group",
    "language"}."""
    out: dict[str, dict[str, Any]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise GovernanceError(f"{path}:{n}: malformed JSON: {e.msg}") from None
                if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) \
                        or not isinstance(obj.get("expected"), list):
                    raise GovernanceError(f"{path}:{n}: a label needs 'id' and 'expected' (a list)")
                out[obj["id"]] = obj
    except OSError as e:
        raise GovernanceError(f"cannot read labels {path}: {e.strerror}") from None
    return out


def group_of(meta: dict[str, Any] | None, signals: Iterable[dict[str, Any]],
             label: dict[str, Any] | None) -> str | None:
    meta = meta or {}
    if isinstance(meta.get("target_group"), str):  # a reviewer named it
        return meta["target_group"]
    for s in signals:
        g = (s.get("evidence") or {}).get("target_group")
        if isinstance(g, str) and g:
            return g
    g = (label or {}).get("target_group")
    return g if isinstance(g, str) and g else None


def language_of(meta: dict[str, Any] | None, label: dict[str, Any] | None) -> str | None:
    for src in (meta or {}, label or {}):
        if isinstance(src.get("language"), str) and src["language"]:
            return src["language"]
    return None


def facts_from_store(session: Session, tenant: str, start: datetime, end: datetime,
                     labels: dict[str, dict[str, Any]] | None = None) -> list[ItemFacts]:
    """One ItemFacts per item automatically decided in [start, end); the standing automated
    decision is its latest one in the period."""
    latest: dict[str, DecisionRow] = {}
    for d in session.execute(select(DecisionRow).where(
            DecisionRow.tenant == tenant, DecisionRow.decided_by == "automation",
            DecisionRow.created_at >= start, DecisionRow.created_at < end)
            .order_by(DecisionRow.created_at)).scalars():
        latest[d.content_id] = d
    if not latest:
        return []
    ids = list(latest)
    metas: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        for c in session.execute(select(ContentRow.id, ContentRow.meta).where(
                ContentRow.tenant == tenant, ContentRow.id.in_(ids[i:i + 500]))).all():
            metas[c.id] = c.meta or {}
    appeals: dict[str, str] = {}
    for a in session.execute(select(AppealRow).where(
            AppealRow.tenant == tenant, AppealRow.first_decider == "automation",
            AppealRow.status.in_(("reversed", "maintained")), AppealRow.decided_at >= start,
            AppealRow.decided_at < end)).scalars():
        appeals[a.content_id] = a.status
    labels = labels or {}
    out = []
    for cid, d in latest.items():
        label = labels.get(cid)
        signals = (d.payload or {}).get("signals", [])
        out.append(ItemFacts(
            content_id=cid, target_group=group_of(metas.get(cid), signals, label),
            language=language_of(metas.get(cid), label),
            enforced=is_enforcement(d.action, d.categories or []),
            benign=(not label["expected"]) if label else None, appeal=appeals.get(cid)))
    return out


def report(engine: Engine, tenant: str, start: datetime, end: datetime, *,
           labels_path: str | Path | None = None, min_n: int = MIN_N) -> dict[str, Any]:
    if end <= start:
        raise GovernanceError("--to must be after --from")
    labels = load_labels(labels_path) if labels_path else None
    with Session(engine) as s:
        facts = facts_from_store(s, tenant, start, end, labels)
    return {"report": "tidebreak disparate-impact report", "tenant": tenant,
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "gap_bound": GAP_BOUND, **compute(facts, min_n=min_n),
            "definitions": __doc__}


def tag(engine: Engine, tenant: str, content_id: str, group: str, *, by: str,
        now: datetime) -> None:
    """A reviewer names the group an item targets (ledger `impact.target_group`)."""
    group = group.strip().lower()
    if not group or len(group) > 64:
        raise GovernanceError("target group: 1-64 characters")
    with Session(engine) as s, s.begin():
        row = s.get(ContentRow, (tenant, content_id))
        if row is None:
            raise NotFound(f"no content {content_id!r}")
        row.meta = {**(row.meta or {}), "target_group": group}
        ledger.append(s, tenant=tenant, kind="impact.target_group", subject=content_id,
                      actor=by, payload={"target_group": group}, at=now)
