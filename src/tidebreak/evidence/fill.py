"""Compute deferred evidence in batches, under a time budget, with one ledger entry per batch.

A batch: load the decisions and the normalised text of their items, ask each detector that
deferred evidence (`tidebreak.detect.base.Explainer`) for all its spans in one call, then write
the rows and ONE `evidence.attached` ledger entry in one transaction (nothing changes stored
state without a ledger entry). A decision is filled whole or skipped whole:

- skipped (`skipped_version`) when the loaded detector is not the version that scored it
  (spans from another model would explain a score it never gave);
- skipped (`skipped_other`) when no loaded detector can explain it, or its item's text changed
  since (an edit; the evidence's text digest no longer matches) or is gone.

Skipped decisions stay pending; a caller that runs `fill` repeatedly may pass the same `skip`
set so they are looked at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger, metrics
from tidebreak.detect.base import (
    TEXT_DIGEST,
    EvidenceRequest,
    Explainer,
    spans_pending,
    text_digest,
)
from tidebreak.evidence.attach import attach_many
from tidebreak.evidence.rows import SpansRow, insert_missing
from tidebreak.evidence.selection import pending, unfilled
from tidebreak.store.schema import ContentRow, DecisionRow

log = logging.getLogger("tidebreak.evidence")

Clock = Callable[[], datetime]
LEDGER_KIND = "evidence.attached"
LEDGER_SUBJECT = "decision_evidence"


@dataclass
class FillResult:
    decisions: int = 0  # decisions whose evidence this call completed
    rows: int = 0  # evidence rows written
    batches: int = 0  # batches written (= ledger entries)
    skipped_version: int = 0  # decisions scored by another version of the detector
    skipped_other: int = 0  # no detector to explain them, or their text changed
    already: int = 0  # decisions another filler completed first
    more: bool = False  # stopped by the budget or limit while work was left
    seconds: float = 0.0
    skip: set[str] = field(default_factory=set, repr=False)  # ids skipped (kept pending)

    def add(self, other: "FillResult") -> None:
        for k in ("decisions", "rows", "batches", "skipped_version", "skipped_other", "already"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.skip |= other.skip

    def to_dict(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "rows": self.rows, "batches": self.batches,
                "skipped_version": self.skipped_version, "skipped_other": self.skipped_other,
                "already": self.already, "more": self.more, "seconds": round(self.seconds, 3)}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def explainers(detectors: Iterable[object]) -> dict[str, Explainer]:
    """The detectors that can compute deferred evidence, by name."""
    return {d.name: d for d in detectors if isinstance(d, Explainer)}  # type: ignore[attr-defined]


def _pending_pairs(payload: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(detector, category) -> (detector version, text digest) of every signal whose evidence is
    pending, wherever the decision lists it (signals, reasons, shadow hits)."""
    sigs = list(payload.get("signals") or [])
    for h in (*(payload.get("reasons") or []), *(payload.get("shadow") or [])):
        sigs.extend(h.get("signals") or [])
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for sig in sigs:
        ev = sig.get("evidence") or {}
        if spans_pending(ev):
            out[(sig["detector"], sig["category"])] = (str(sig.get("detector_version", "")),
                                                       ev.get(TEXT_DIGEST))
    return out


def _spans_digest(rows: Sequence[SpansRow]) -> str:
    body = [[r.decision_id, r.detector, r.category, r.spans]
            for r in sorted(rows, key=lambda x: x.key)]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _batch(engine: Engine, found: Mapping[str, Explainer], tenant: str,
           decision_ids: Sequence[str], clock: Clock | None) -> FillResult:
    """Fill these decisions (those still unfilled) in one batch."""
    res = FillResult()
    with Session(engine) as s:
        rows = s.execute(
            select(DecisionRow.id, DecisionRow.payload, ContentRow.norm_text)
            .join(ContentRow, (ContentRow.tenant == DecisionRow.tenant)
                  & (ContentRow.id == DecisionRow.content_id), isouter=True)
            .where(unfilled(tenant), DecisionRow.id.in_(list(decision_ids)))).all()
    plan: list[tuple[str, str, str, str, str]] = []  # decision, detector, category, version, text
    for decision_id, payload, norm_text in rows:
        pairs = _pending_pairs(payload or {})
        steps, why = [], None
        for (det, cat), (version, digest) in sorted(pairs.items()):
            ex = found.get(det)
            if ex is None or norm_text is None or (digest and digest != text_digest(norm_text)):
                why = why or "other"
            elif ex.version != version:
                why = "version"
            steps.append((decision_id, det, cat, version, norm_text or ""))
        if why is not None or not steps:
            res.skip.add(decision_id)
            if why == "version":
                res.skipped_version += 1
            else:
                res.skipped_other += 1
            continue
        plan.extend(steps)
    if not plan:
        return res
    computed: list[SpansRow] = []
    with metrics.stage("evidence"):
        for det in sorted({p[1] for p in plan}):
            mine = [p for p in plan if p[1] == det]
            spans = found[det].explain_later([EvidenceRequest(p[4], p[2]) for p in mine])
            computed.extend(SpansRow(p[0], p[1], p[2], list(sp), p[3])
                            for p, sp in zip(mine, spans))
    now = (clock or _utcnow)()
    with Session(engine) as s, s.begin():
        written = insert_missing(s, tenant, computed, now)
        if written:
            ids = sorted({r.decision_id for r in written})
            versions = {r.detector: r.detector_version for r in sorted(written, key=lambda x: x.key)}
            ledger.append(s, tenant=tenant, kind=LEDGER_KIND, subject=LEDGER_SUBJECT,
                          actor="automation",
                          payload={"decision_ids": ids, "detector_versions": versions,
                                   "rows": len(written), "spans_sha256": _spans_digest(written)},
                          at=now)
    done = {r.decision_id for r in written}
    res.decisions, res.rows, res.batches = len(done), len(written), 1 if written else 0
    res.already = len({p[0] for p in plan} - done)
    return res


def fill(engine: Engine, detectors: Iterable[object], tenant: str, *, budget_s: float,
         batch_size: int = 16, limit: int | None = None, skip: set[str] | None = None,
         keep_going: Callable[[], bool] | None = None, clock: Clock | None = None) -> FillResult:
    """Compute pending evidence for what people will look at (`pending`), most urgent first,
    `batch_size` decisions per batch, until `budget_s` seconds are spent (checked between
    batches: the first batch always runs), `limit` decisions are done, `keep_going()` says stop
    (the server: a request came in), or nothing is left. `skip`: decision ids to pass over;
    the ones this call skips are added to it."""
    t0 = time.monotonic()
    deadline = t0 + budget_s
    found = explainers(detectors)
    skip = skip if skip is not None else set()
    total = FillResult(skip=skip)
    if budget_s <= 0 or batch_size <= 0:
        return total
    first = True
    while True:
        room = batch_size if limit is None else min(batch_size, limit - total.decisions)
        if room <= 0:
            total.more = True
            break
        if not first and (time.monotonic() >= deadline or (keep_going and not keep_going())):
            total.more = True
            break
        first = False
        with Session(engine) as s:
            todo = pending(s, tenant, room, exclude=skip)
        if not todo:
            break
        res = _batch(engine, found, tenant, [p.decision_id for p in todo], clock)
        skip |= res.skip
        total.add(res)
        total.skip = skip
    if total.more:  # say whether anything is actually left
        with Session(engine) as s:
            total.more = bool(pending(s, tenant, 1, exclude=skip))
    total.seconds = time.monotonic() - t0
    return total


def ensure(engine: Engine, detectors: Iterable[object], tenant: str,
           decision_id: str | Iterable[str], *, clock: Clock | None = None) -> FillResult:
    """Fill one decision's pending evidence now (or several decisions', in one batch): the
    on-demand path, when a person opens something no filler has reached. Does nothing (and
    writes no ledger entry) for a decision whose evidence is complete."""
    ids = [decision_id] if isinstance(decision_id, str) else list(dict.fromkeys(decision_id))
    t0 = time.monotonic()
    res = _batch(engine, explainers(detectors), tenant, ids, clock) if ids else FillResult()
    res.seconds = time.monotonic() - t0
    return res


def ensure_content(engine: Engine, detectors: Iterable[object], tenant: str, content_id: str,
                   *, clock: Clock | None = None) -> FillResult:
    """`ensure` for every decision on one item whose evidence is pending (a review task page
    shows the signals of all of them)."""
    with Session(engine) as s:
        ids = list(s.execute(select(DecisionRow.id).where(
            unfilled(tenant), DecisionRow.content_id == content_id)).scalars())
    return ensure(engine, detectors, tenant, ids, clock=clock) if ids else FillResult()


def present(engine: Engine, detectors: Iterable[object], tenant: str,
            decisions: Sequence[Mapping[str, Any]], *,
            clock: Clock | None = None) -> list[dict[str, Any]]:
    """Decisions (stored payloads) as a person should see them: pending evidence computed now
    (`ensure`) and merged in (`attach_many`). A failure to compute leaves the evidence
    "pending" (logged): the decision itself is still shown."""
    wanted = [d["decision_id"] for d in decisions if d.get("evidence") == "pending"]
    if wanted:
        try:
            ensure(engine, detectors, tenant, wanted, clock=clock)
        except Exception:  # noqa: BLE001 - evidence is secondary to showing the decision
            log.exception("computing pending evidence failed",
                          extra={"tenant": tenant, "decisions": wanted[:20]})
    with Session(engine) as s:
        return attach_many(s, tenant, decisions)
