"""Transparency report (Meta CSER metrics, Santa Clara "Numbers", DSA Art. 15/24), computed from
the statements of reasons, decisions, events and review tasks of one period [from, to).

Every figure's definition travels with the report (`definitions`), so an auditor can recompute
it from the database. Appeals plug in through `APPEAL_SOURCES`: until an appeals module registers
one, appealed counts are 0 and `appeals.available` is false, while restorations are still counted
from human decisions that lifted an automated removal.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.store.schema import (
    ContentRow,
    DecisionRow,
    EventRow,
    ReviewTaskRow,
    StatementRow,
)

RESTRICTING = ("remove", "reduce", "label", "warn")
Z95 = 1.959963984540054
PREVALENCE_MIN_HITS = 10  # below this, report the upper bound only (rare harms)

DEFINITIONS = {
    "content_actioned": "Distinct content items with at least one statement of reasons (remove, "
                        "reduce, label, warn, ad not approved) applied in the period; an item "
                        "counts once per breakdown value.",
    "accounts_restricted": "Distinct accounts with an account restriction statement in the period.",
    "groups_restricted": "Distinct groups with a group restriction statement in the period.",
    "proactive_rate": "Share of actioned items whose first restriction in the period came before "
                      "any user report on them (Meta's Q4 2022 definition).",
    "appealed": "Distinct items appealed in the period (from the registered appeal sources).",
    "restored": "Human decisions in the period that lifted a removal in force; 'after_appeal' "
                "when the item had been appealed before, else 'without_appeal'.",
    "automated_overturned": "Human decisions in the period whose item's standing decision was an "
                            "automated restriction and whose action differs from it.",
    "reviewer_times": "Seconds from a review task's creation to its closing, for tasks closed "
                      "in the period.",
    "prevalence": "Share of views that were views of violating content (content removed, as "
                  "finally decided), estimated from a seeded sample of views drawn in "
                  "proportion to each item's views among items created in the period; 95% "
                  "Wilson interval; upper bound only under 10 violating draws.",
}


@dataclass(frozen=True)
class AppealRecord:
    content_id: str
    decision_id: str
    appealed_at: datetime
    automated: bool  # was the appealed decision automated?
    outcome: str | None = None  # upheld | reversed | None while pending


AppealSource = Callable[[Session, str, datetime, datetime], list[AppealRecord]]
# An appeals module appends a function returning the appeals of [from, to) for a tenant.
APPEAL_SOURCES: list[AppealSource] = []


# Further report sections, by key: each returns its figures for [from, to) of a tenant. Other parts
# of the system add theirs here (e.g. governance: public-interest exceptions); the definitions
# of their figures go into DEFINITIONS under the same key.
ReportSection = Callable[[Session, str, datetime, datetime], dict[str, Any]]
REPORT_SECTIONS: dict[str, ReportSection] = {}


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def pseudonym(tenant: str, reviewer: str) -> str:
    """Reviewer names are personal data: the public report keys them by a stable pseudonym."""
    return "R-" + hashlib.sha256(f"{tenant}\0{reviewer}".encode()).hexdigest()[:8]


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 (or n) the bound is exactly 0 (or 1); rounding must not suggest otherwise.
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def sample_prevalence(views: list[tuple[str, int, bool]], *, seed: int,
                      sample_size: int) -> dict[str, Any]:
    """`views`: (content_id, views, violating). Draw `sample_size` views with replacement, each
    item with probability views / total views, and estimate the violating share."""
    import numpy as np

    total = sum(v for _, v, _ in views)
    if total == 0 or sample_size <= 0:
        return {"available": False, "reason": "no content views recorded for the period"}
    weights = np.array([v for _, v, _ in views], dtype=float) / total
    draws = np.random.default_rng(seed).choice(len(views), size=sample_size, p=weights)
    violating = np.array([bad for _, _, bad in views], dtype=bool)
    k = int(violating[draws].sum())
    lo, hi = wilson(k, sample_size)
    census = sum(v for _, v, bad in views if bad) / total
    out: dict[str, Any] = {
        "available": True, "seed": seed, "sample_size": sample_size, "violating_draws": k,
        "items": len(views), "total_views": total,
        "census_share": census,  # labels come from decisions here, so the census is known too
    }
    if k < PREVALENCE_MIN_HITS:
        out.update(estimate=None, upper_bound=hi, ci95=None,
                   per_10k_views={"upper_bound": round(hi * 10_000, 2)})
    else:
        out.update(estimate=k / sample_size, upper_bound=None, ci95=[lo, hi],
                   per_10k_views={"low": round(lo * 10_000, 2), "high": round(hi * 10_000, 2)})
    return out


def _standing(history: list[DecisionRow]) -> DecisionRow | None:
    """The decision in force after `history` (oldest first): a human decision replaces it;
    an automated removal stays until a human lifts it; other automated restrictions replace it."""
    standing: DecisionRow | None = None
    for d in history:
        human = d.decided_by != "automation"
        if human:
            standing = d
        elif standing is not None and standing.action == "remove":
            continue
        elif d.action in RESTRICTING and d.categories:  # an information label restricts nothing
            standing = d
    return standing


def _distinct(pairs: list[tuple[str, str]]) -> dict[str, int]:
    seen: dict[str, set[str]] = defaultdict(set)
    for key, item in pairs:
        seen[key].add(item)
    return {k: len(v) for k, v in sorted(seen.items())}


def _times(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"tasks": 0, "mean_s": None, "median_s": None, "p90_s": None}
    s = sorted(seconds)
    p90 = s[min(len(s) - 1, math.ceil(0.9 * len(s)) - 1)]  # nearest-rank
    return {"tasks": len(s), "mean_s": round(statistics.fmean(s), 3),
            "median_s": round(statistics.median(s), 3), "p90_s": round(p90, 3)}


def build_report(session: Session, tenant: str, start: datetime, end: datetime, *,
                 seed: int = 0, sample_size: int = 1000) -> dict[str, Any]:
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise ValueError("--to must be after --from")
    stmts = list(session.execute(
        select(StatementRow).where(StatementRow.tenant == tenant,
                                   StatementRow.created_at >= start, StatementRow.created_at < end)
        .order_by(StatementRow.created_at, StatementRow.puid)).scalars())
    content_stmts = [s for s in stmts if s.subject_type == "content"]
    content_ids = {s.subject_id for s in content_stmts}
    kinds = {c.id: c.kind for c in session.execute(
        select(ContentRow).where(ContentRow.tenant == tenant,
                                 ContentRow.id.in_(content_ids))).scalars()} if content_ids else {}
    actioned = {
        "total": len(content_ids),
        "by_category": _distinct([(s.category, s.subject_id) for s in content_stmts]),
        "by_action": _distinct([(s.action, s.subject_id) for s in content_stmts]),
        "by_surface": _distinct([(kinds.get(s.subject_id, "unknown"), s.subject_id)
                                 for s in content_stmts]),
        "by_detection_source": _distinct([(s.notice.get("detection_source", "unknown"),
                                           s.subject_id) for s in content_stmts]),
        "by_automated_decision": _distinct([(s.statement["automated_decision"], s.subject_id)
                                            for s in content_stmts]),
    }

    def subjects(kind: str) -> dict[str, Any]:
        rows = [s for s in stmts if s.subject_type == kind]
        return {"total": len({s.subject_id for s in rows}),
                "by_restriction": _distinct([(s.action, s.subject_id) for s in rows]),
                "by_category": _distinct([(s.category, s.subject_id) for s in rows])}

    # Proactive: the first restriction in the period came before any report on the item.
    first: dict[str, datetime] = {}
    first_cat: dict[str, str] = {}
    for s in content_stmts:
        if s.subject_id not in first:
            first[s.subject_id], first_cat[s.subject_id] = _aware(s.created_at), s.category
    reports: dict[str, datetime] = {}
    if content_ids:
        for cid, at in session.execute(
                select(EventRow.content_id, EventRow.received_at)
                .where(EventRow.tenant == tenant, EventRow.type == "report",
                       EventRow.content_id.in_(content_ids))):
            at = _aware(at)
            reports[cid] = min(at, reports.get(cid, at))
    proactive = {cid for cid, at in first.items() if cid not in reports or reports[cid] > at}
    by_cat_total = Counter(first_cat.values())
    by_cat_pro = Counter(first_cat[c] for c in proactive)
    proactive_fig = {
        "proactive": len(proactive), "actioned": len(first),
        "rate": (len(proactive) / len(first)) if first else None,
        "by_category": {c: {"proactive": by_cat_pro[c], "actioned": n, "rate": by_cat_pro[c] / n}
                        for c, n in sorted(by_cat_total.items())},
    }

    # Appeals (pluggable), restorations and overturned automated decisions.
    appeals = [a for src in APPEAL_SOURCES for a in src(session, tenant, start, end)]
    appealed_at: dict[str, datetime] = {}
    for a in appeals:
        appealed_at[a.content_id] = min(_aware(a.appealed_at),
                                        appealed_at.get(a.content_id, _aware(a.appealed_at)))
    human = list(session.execute(
        select(DecisionRow).where(DecisionRow.tenant == tenant, DecisionRow.created_at >= start,
                                  DecisionRow.created_at < end,
                                  DecisionRow.decided_by != "automation")
        .order_by(DecisionRow.created_at, DecisionRow.id)).scalars())
    touched = {d.content_id for d in human}
    history: dict[str, list[DecisionRow]] = defaultdict(list)
    if touched:
        for d in session.execute(
                select(DecisionRow).where(DecisionRow.tenant == tenant,
                                          DecisionRow.content_id.in_(touched),
                                          DecisionRow.created_at < end)
                .order_by(DecisionRow.created_at, DecisionRow.id)).scalars():
            history[d.content_id].append(d)
    restored_after, restored_without = 0, 0
    overturned: Counter[str] = Counter()
    reviewed_automated = 0
    for d in human:
        before = [h for h in history[d.content_id]
                  if (_aware(h.created_at), h.id) < (_aware(d.created_at), d.id)]
        standing = _standing(before)
        if standing is not None and standing.action == "remove" and d.action != "remove":
            ap = appealed_at.get(d.content_id)
            if ap is not None and ap <= _aware(d.created_at):
                restored_after += 1
            else:
                restored_without += 1
        if standing is not None and standing.decided_by == "automation":
            reviewed_automated += 1
            if d.action != standing.action:
                overturned[standing.action] += 1
    appeals_fig = {
        "available": bool(APPEAL_SOURCES),
        "appealed": len({a.content_id for a in appeals}),
        "appealed_automated": len({a.content_id for a in appeals if a.automated}),
        "outcomes": dict(sorted(Counter(a.outcome or "pending" for a in appeals).items())),
        "restored": {"total": restored_after + restored_without, "after_appeal": restored_after,
                     "without_appeal": restored_without},
    }
    overturn_fig = {
        "overturned": sum(overturned.values()),
        "reviewed": reviewed_automated,
        "rate": (sum(overturned.values()) / reviewed_automated) if reviewed_automated else None,
        "by_original_action": dict(sorted(overturned.items())),
    }

    # Reviewers: volumes (pseudonymous) and task handling times.
    volumes = Counter(pseudonym(tenant, d.decided_by.split(":", 1)[-1]) for d in human)
    tasks = list(session.execute(
        select(ReviewTaskRow).where(ReviewTaskRow.tenant == tenant,
                                    ReviewTaskRow.closed_at.is_not(None),
                                    ReviewTaskRow.closed_at >= start,
                                    ReviewTaskRow.closed_at < end)).scalars())
    secs = [(t, (_aware(t.closed_at) - _aware(t.created_at)).total_seconds()) for t in tasks]
    by_queue: dict[str, list[float]] = defaultdict(list)
    by_reviewer: dict[str, list[float]] = defaultdict(list)
    for t, s in secs:
        by_queue[t.queue].append(s)
        if t.claimed_by:
            by_reviewer[pseudonym(tenant, t.claimed_by)].append(s)
    reviewers_fig = {
        "decisions": len(human),
        "by_reviewer": dict(sorted(volumes.items())),
        "by_action": dict(sorted(Counter(d.action for d in human).items())),
        "handling_time": _times([s for _, s in secs]),
        "handling_time_by_queue": {q: _times(v) for q, v in sorted(by_queue.items())},
        "handling_time_by_reviewer": {r: _times(v) for r, v in sorted(by_reviewer.items())},
    }

    # Prevalence from a seeded, view-weighted sample.
    viewed = [(c.id, int(c.views or 0), c.state == "removed") for c in session.execute(
        select(ContentRow).where(ContentRow.tenant == tenant, ContentRow.created_at >= start,
                                 ContentRow.created_at < end, ContentRow.views > 0)
        .order_by(ContentRow.id)).scalars()]
    prevalence = sample_prevalence(viewed, seed=seed, sample_size=sample_size)

    return {
        "report": "tidebreak transparency report",
        "tenant": tenant,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "licence": "CC-BY-4.0",
        "statements_of_reasons": len(stmts),
        "content_actioned": actioned,
        "accounts_restricted": subjects("account"),
        "groups_restricted": subjects("group"),
        "proactive_rate": proactive_fig,
        "appeals": appeals_fig,
        "automated_overturned": overturn_fig,
        "reviewers": reviewers_fig,
        "prevalence": prevalence,
        **{key: section(session, tenant, start, end) for key, section in REPORT_SECTIONS.items()},
        "definitions": DEFINITIONS,
    }


# -- outputs -------------------------------------------------------------------------------------


def _flatten(prefix: str, obj: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(obj, list):
        rows.append((prefix, ";".join(str(x) for x in obj)))
    else:
        rows.append((prefix, "" if obj is None else str(obj)))


def to_csv(report: dict[str, Any]) -> str:
    """One row per figure: `metric` is the dotted path in the JSON, `value` its value."""
    rows: list[tuple[str, str]] = []
    _flatten("", {k: v for k, v in report.items() if k != "definitions"}, rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "value"])
    w.writerows(rows)
    return buf.getvalue()
