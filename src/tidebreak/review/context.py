"""What a reviewer sees beside an item: its decisions and signals, the author's and group's
history, similar banked items and fact-checks, reports, appeals and the item's ledger trail."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from tidebreak.detect.bank import BankDetector
from tidebreak.enforce.strikes import active_strikes
from tidebreak.evidence import attach_many, ensure_content
from tidebreak.review.appeals import appeal_dict
from tidebreak.review.errors import NotFound, ReviewError
from tidebreak.enforce.review_priority import GRAPHIC_CATEGORIES, aware
from tidebreak.review.reports import reports_on
from tidebreak.detect import bank_store
from tidebreak.store.decisions import history
from tidebreak.store.schema import (
    AppealRow,
    ContentRow,
    GroupRow,
    LedgerEntryRow,
    ReviewTaskRow,
)
from tidebreak.text import normalise

log = logging.getLogger("tidebreak.review")
HOSTILE_SCORE = 0.5  # any harm score this high blurs the item until the reviewer clicks
SEARCH_FIELDS = ("content", "author", "group")

_banks: dict[tuple[str, object], BankDetector] = {}


def _bank_index(s: Session, tenant: str) -> BankDetector:
    """A bank index per tenant, rebuilt only when the banks change."""
    version = bank_store.bank_version(s, tenant)
    det = _banks.get((tenant, version))
    if det is None:
        det = BankDetector()
        det.load(bank_store.load_entries(s, tenant))
        for k in [k for k in _banks if k[0] == tenant]:
            del _banks[k]
        _banks[(tenant, version)] = det
    return det


def task_dict(t: ReviewTaskRow) -> dict[str, Any]:
    return {"task_id": t.id, "content_id": t.content_id, "queue": t.queue, "kind": t.kind,
            "status": t.status, "priority": t.priority, "severity": t.severity,
            "reach": round(t.reach, 3), "confidence_gap": round(t.confidence_gap, 3),
            "report_count": t.report_count, "trusted": t.trusted, "graphic": t.graphic,
            "reason": t.reason, "claimed_by": t.claimed_by,
            "lease_expires": _iso(t.lease_expires), "due_at": _iso(t.due_at),
            "created_at": _iso(t.created_at), "verdict": t.verdict, "clause": t.clause,
            "outcome_decision_id": t.outcome_decision_id}


def _iso(dt: Any) -> str | None:
    return aware(dt).isoformat() if dt is not None else None  # type: ignore[union-attr]


def content_state(row: ContentRow) -> dict[str, Any]:
    return {"state": row.state, "reach": row.reach, "labels": row.labels or [],
            "warning": row.warning, "version": row.version}


def _author(s: Session, tenant: str, author: str | None, now: Any) -> dict[str, Any] | None:
    if not author:
        return None
    states = dict(s.execute(select(ContentRow.state, func.count()).where(
        ContentRow.tenant == tenant, ContentRow.author_id == author)
        .group_by(ContentRow.state)).all())
    recent = s.execute(select(ContentRow.id, ContentRow.state, ContentRow.created_at).where(
        ContentRow.tenant == tenant, ContentRow.author_id == author)
        .order_by(ContentRow.created_at.desc()).limit(10)).all()
    return {"id": author, "content_by_state": states,
            "active_strikes": dict(active_strikes(s, tenant, author, now)),
            "recent": [{"content_id": i, "state": st} for i, st, _ in recent]}


def _group(s: Session, tenant: str, group: str | None) -> dict[str, Any] | None:
    if not group:
        return None
    g = s.get(GroupRow, (tenant, group))
    states = dict(s.execute(select(ContentRow.state, func.count()).where(
        ContentRow.tenant == tenant, ContentRow.group_id == group)
        .group_by(ContentRow.state)).all())
    return {"id": group, "stage": g.stage if g else None, "health": g.health if g else None,
            "content_by_state": states}


def ensure_task_evidence(engine: Engine, detectors: Iterable[object], tenant: str,
                         task_id: int, *, clock: Callable[[], datetime] | None = None) -> None:
    """Compute now any evidence still pending on the task's item (all of its decisions), so the
    task page shows its spans. A failure is logged and leaves the evidence pending."""
    with Session(engine) as s:
        task = s.get(ReviewTaskRow, task_id)
        content_id = task.content_id if task is not None and task.tenant == tenant else None
    if content_id is None:
        return
    try:
        ensure_content(engine, detectors, tenant, content_id, clock=clock)
    except Exception:  # noqa: BLE001 - evidence is secondary to showing the task
        log.exception("computing pending evidence failed",
                      extra={"tenant": tenant, "task_id": task_id})


def task_context(s: Session, tenant: str, task_id: int, now: Any) -> dict[str, Any]:
    task = s.get(ReviewTaskRow, task_id)
    if task is None or task.tenant != tenant:
        raise NotFound(f"no task {task_id}")
    row = s.get(ContentRow, (tenant, task.content_id))
    if row is None:
        raise NotFound(f"no content {task.content_id!r}")
    # deferred evidence (occlusion spans) stored beside each decision, merged in; callers run
    # `ensure_task_evidence` first so a person never sees it pending
    decisions = attach_many(s, tenant, history(s, tenant, row.id))
    signals = [sig for d in decisions for sig in d["signals"]]
    harm = max((sig["score"] for sig in signals if sig["category"] in GRAPHIC_CATEGORIES
                or sig["category"] == "harassment"), default=0.0)
    similar = [{"entry_id": m.entry.entry_id, "bank": m.entry.bank, "category": m.entry.category,
                "match": m.match, "similarity": round(m.similarity, 3),
                "source_content_id": m.entry.source_content_id}
               for m in _bank_index(s, tenant).match(normalise(row.text))
               if m.entry.source_content_id != row.id][:10]
    factchecks = [sig["evidence"] for sig in signals if sig["detector"] == "factcheck"][:10]
    trail = s.execute(select(LedgerEntryRow).where(
        LedgerEntryRow.tenant == tenant, LedgerEntryRow.subject == row.id)
        .order_by(LedgerEntryRow.seq.desc()).limit(20)).scalars().all()
    appeals = s.execute(select(AppealRow).where(AppealRow.tenant == tenant,
                                                AppealRow.content_id == row.id)
                        .order_by(AppealRow.id)).scalars().all()
    return {
        "task": task_dict(task),
        "content": {"id": row.id, "kind": row.kind, "text": row.text, "author": row.author_id,
                    "group": row.group_id, "created_at": _iso(row.created_at),
                    "views": row.views, "shares": row.shares, "reports": row.reports,
                    **content_state(row)},
        "hostile": task.graphic or harm >= HOSTILE_SCORE or any(
            sig["category"] == "known_violating" for sig in signals),
        "decisions": decisions,
        "signals": sorted(signals, key=lambda x: -x["score"]),
        "author": _author(s, tenant, row.author_id, now),
        "group": _group(s, tenant, row.group_id),
        "similar": similar,
        "factchecks": factchecks,
        "reports": reports_on(s, tenant, row.id),
        "appeals": [appeal_dict(a) for a in appeals],
        "ledger": [{"seq": e.seq, "kind": e.kind, "actor": e.actor, "at": e.created_at}
                   for e in trail],
    }


def search(s: Session, tenant: str, q: Any, field: Any = "content",
           limit: int = 50) -> list[dict[str, Any]]:
    if not isinstance(q, str) or not q.strip() or len(q) > 256:
        raise ReviewError("search needs a query 'q' of 1-256 characters")
    if field not in SEARCH_FIELDS:
        raise ReviewError(f"search field must be one of {', '.join(SEARCH_FIELDS)}")
    query = select(ContentRow).where(ContentRow.tenant == tenant)
    if field == "author":
        query = query.where(ContentRow.author_id == q.strip())
    elif field == "group":
        query = query.where(ContentRow.group_id == q.strip())
    else:
        # Search the normalised text too, so evasions ("v e r m i n") are found.
        needle = "%" + q.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(or_(func.lower(ContentRow.text).like(needle, escape="\\"),
                                func.lower(ContentRow.norm_text).like(needle, escape="\\")))
    rows = s.execute(query.order_by(ContentRow.updated_at.desc(), ContentRow.id)
                     .limit(limit)).scalars().all()
    open_tasks = dict(s.execute(select(ReviewTaskRow.content_id, ReviewTaskRow.id).where(
        ReviewTaskRow.tenant == tenant, ReviewTaskRow.content_id.in_([r.id for r in rows]),
        ReviewTaskRow.status.in_(("open", "claimed")))).all()) if rows else {}
    return [{"content_id": r.id, "author": r.author_id, "group": r.group_id,
             "text": r.text[:200], "open_task": open_tasks.get(r.id), **content_state(r)}
            for r in rows]
