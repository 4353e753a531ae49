"""Retroactive matching: when new fact-checks arrive, re-decide stored content that repeats them.

A run (`factcheck_backfills` row) takes every stored fact-check no earlier run has covered
(`FactCheckRow.backfill_id` is null: newly imported or replaced) and claims them in the same
transaction, so two runs never split or repeat the same fact-checks. It then walks the tenant's
content created in the window [now - since, run start), in content-id order and in chunks:

1. each chunk is matched against the pipeline's factcheck detector index (every fact-check of
   the tenant, as the re-decision will see them), and an item goes on only when its best match
   is one of the run's fact-checks (at least `floor`) and its latest decision was made before
   that fact-check arrived (plus `SYNC_GRACE`): an item posted or decided later was already
   matched against it by the pipeline, and re-deciding it would send its author a second notice.
   Matching against the whole collection, not a small index of only the new fact-checks, matters:
   the re-ranker's features are relative to the other claims (margins, ranks), and a one-claim
   index scores even a verbatim repeat low. Without a factcheck detector in the pipeline a
   small index of the run's fact-checks is used;
2. the items whose best match reaches `floor` are re-decided through the normal pipeline path:
   a `content.rescan` event each (`Pipeline.process_batch`, the path the scale-out backfill
   uses), so detection runs with every detector (the factcheck detector now sees the new
   fact-checks through the store) and the policy labels, reduces, removes or sends to review,
   recorded like any decision (decision row, ledger, statement of reasons to the author);
3. people who shared an actioned post before its fact-check arrived get a notice: one ledger
   entry (kind "factcheck.notice") per post, listing them. "Shared" means: authors of stored
   posts whose `parent_id` is the post (reshares and quote posts; comments are replies, not
   shares) created before the fact-check was imported. The author is not listed: the
   decision's statement of reasons already notifies them;
4. the cursor moves to the chunk's last content id, with the counts, in one transaction.

Resuming: `run_backfill` continues the tenant's unfinished run from its cursor before starting
a new one. Event ids are `fcbackfill:<run>:<content id>`, so a chunk repeated after a crash is
answered from the events table, and notice entries are looked up before they are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.factcheck import store
from tidebreak.factcheck.index import ClaimIndex
from tidebreak.model import ActionType, Content, ContentKind, Event, EventType
from tidebreak.pipeline import Outcome, Pipeline
from tidebreak.store.schema import (
    ContentRow,
    DecisionRow,
    FactCheckBackfillRow,
    FactCheckRow,
    LedgerEntryRow,
)

SKIPPED_STATES = ("deleted", "removed")  # nothing more a fact-check could do to them
# The factcheck detector re-reads the store every few seconds (`sync_seconds`), so an item decided
# just after an import may not have seen it: such items are still re-decided.
SYNC_GRACE = timedelta(seconds=60)
ACTED = {ActionType.REMOVE, ActionType.REDUCE, ActionType.LABEL}
CATEGORIES = ("misinformation", "voting_misinformation")


@dataclass(frozen=True)
class BackfillReport:
    run_id: str | None
    claim_ids: tuple[str, ...]
    scanned: int
    matched: int
    actioned: int
    notices: int
    resumed: bool


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def start_run(engine: object, tenant: str, since_days: float, now: datetime) -> str | None:
    """Claim the tenant's new fact-checks for a run; None when there are none."""
    run_id = f"fcb-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s, s.begin():  # type: ignore[arg-type]
        ids = list(s.execute(select(FactCheckRow.claim_id).where(
            FactCheckRow.tenant == tenant, FactCheckRow.backfill_id.is_(None))).scalars())
        if not ids:
            return None
        s.execute(update(FactCheckRow).where(FactCheckRow.tenant == tenant,
                                             FactCheckRow.backfill_id.is_(None))
                  .values(backfill_id=run_id))
        s.add(FactCheckBackfillRow(id=run_id, tenant=tenant, claim_ids=sorted(ids),
                                   window_start=now - timedelta(days=since_days),
                                   status="running", cursor=None, scanned=0, matched=0,
                                   actioned=0, created_at=now, updated_at=now))
    return run_id


def unfinished_run(engine: object, tenant: str) -> str | None:
    with Session(engine) as s:  # type: ignore[arg-type]
        return s.execute(select(FactCheckBackfillRow.id).where(
            FactCheckBackfillRow.tenant == tenant, FactCheckBackfillRow.status == "running")
            .order_by(FactCheckBackfillRow.created_at).limit(1)).scalar_one_or_none()


def _content(row: ContentRow) -> Content:
    return Content(id=row.id, kind=ContentKind(row.kind), text=row.text, author=row.author_id,
                   group=row.group_id, created_at=row.created_at, parent_id=row.parent_id,
                   urls=tuple(row.urls or ()), meta=row.meta or {})


def _sharers(s: Session, tenant: str, row: ContentRow, before: datetime) -> list[str]:
    authors = s.execute(select(ContentRow.author_id, ContentRow.created_at).where(
        ContentRow.tenant == tenant, ContentRow.parent_id == row.id,
        ContentRow.kind == ContentKind.POST.value)).all()
    return sorted({a for a, t in authors
                   if a and a != row.author_id and t is not None and _aware(t) < before})


def _notify(engine: object, tenant: str, run_id: str, outcome: Outcome, imported: dict[str, datetime],
            now: datetime) -> bool:
    """One ledger notice per actioned post listing who shared it before its fact-check."""
    d = outcome.decision
    if not ({a.type for a in d.enforcement} & ACTED) or not (set(d.categories) & set(CATEGORIES)):
        return False
    subject = f"fcnotice:{run_id}:{d.content_id}"
    with Session(engine) as s, s.begin():  # type: ignore[arg-type]
        if s.execute(select(LedgerEntryRow.seq).where(LedgerEntryRow.kind == "factcheck.notice",
                                                      LedgerEntryRow.subject == subject)).first():
            return False  # written before a crash; the chunk is being repeated
        row = s.get(ContentRow, (tenant, d.content_id))
        sig = next((x for x in d.signals if x.category in CATEGORIES
                    and x.evidence.get("claim_id") in imported), None)
        if row is None or sig is None:
            return False
        claim_id = str(sig.evidence["claim_id"])
        recipients = _sharers(s, tenant, row, imported[claim_id])
        if not recipients:
            return False
        ledger.append(s, tenant=tenant, kind="factcheck.notice", subject=subject,
                      actor="automation", at=now, payload={
                          "run_id": run_id, "content_id": d.content_id, "decision_id": d.id,
                          "action": d.action.value, "claim_id": claim_id,
                          "fact_check_url": sig.evidence.get("fact_check_url"),
                          "publisher": sig.evidence.get("publisher"),
                          "rating": sig.evidence.get("rating"), "recipients": recipients})
    return True


def continue_run(engine: object, pipeline: Pipeline, run_id: str, *, chunk: int = 200,
                 floor: float = 0.35, now: Callable[[], datetime] | None = None,
                 on_chunk: Callable[[int], None] = lambda n: None) -> BackfillReport:
    """Process the rest of a run from its cursor (see the module docstring)."""
    clock = now or pipeline.clock
    with Session(engine) as s:  # type: ignore[arg-type]
        run = s.get(FactCheckBackfillRow, run_id)
        if run is None:
            raise KeyError(f"no fact-check backfill run {run_id!r}")
        tenant, cursor, claim_ids = run.tenant, run.cursor, list(run.claim_ids)
        start, end = _aware(run.window_start), _aware(run.created_at)
        resumed = cursor is not None
        imported = {cid: _aware(t) for cid, t in s.execute(
            select(FactCheckRow.claim_id, FactCheckRow.imported_at).where(
                FactCheckRow.tenant == tenant, FactCheckRow.claim_id.in_(claim_ids))).all()}
        fcs = store.load_factchecks(s, tenant, claim_ids)
    det = next((d for d in pipeline.detectors if d.name == "factcheck"), None)
    if det is not None and hasattr(det, "refresh"):
        det.refresh(force=True)  # the pipeline must see the new fact-checks when it re-decides
    index: ClaimIndex | None = getattr(det, "index", None)
    if index is not None and not set(claim_ids) <= {fc.claim_id for fc in index.factchecks}:
        index = None  # a detector that does not read this store
    if index is None and fcs:
        index = ClaimIndex(fcs, encoder=getattr(getattr(det, "index", None), "encoder", None))
    new = set(claim_ids)
    ours = f"fcbackfill:{run_id}:"
    scanned = matched = actioned = notices = 0
    while index is not None and fcs:
        q = (select(ContentRow, DecisionRow.created_at, DecisionRow.event_id)
             .outerjoin(DecisionRow, DecisionRow.id == ContentRow.last_decision_id)
             .where(ContentRow.tenant == tenant, ContentRow.state.not_in(SKIPPED_STATES),
                    ContentRow.created_at >= start, ContentRow.created_at < end)
             .order_by(ContentRow.id).limit(chunk))
        if cursor is not None:
            q = q.where(ContentRow.id > cursor)
        with Session(engine) as s:  # type: ignore[arg-type]
            found = s.execute(q).all()
        if not found:
            break
        rows = [r for r, _, _ in found]
        results = index.search([r.norm_text or r.text for r in rows], k=1,
                               urls=[tuple(r.urls or ()) for r in rows],
                               dates=[r.created_at for r in rows], min_score=floor)
        hits = []
        for (r, decided_at, event_id), ms in zip(found, results):
            if not ms or ms[0].claim_id not in new or ms[0].score < floor:
                continue
            # Decided after the fact-check arrived: the pipeline already matched it (a repeat of
            # this run's own chunk after a crash still goes on, answered from the events table).
            if (decided_at is not None and not (event_id or "").startswith(ours)
                    and _aware(decided_at) >= imported[ms[0].claim_id] + SYNC_GRACE):
                continue
            hits.append(r)
        t = clock()
        events = [Event(event_id=f"fcbackfill:{run_id}:{r.id}", type=EventType.RESCAN,
                        content=_content(r), received_at=t) for r in hits]
        n_acted = 0
        for res in pipeline.process_batch(events) if events else []:
            if isinstance(res, Outcome):
                if {a.type for a in res.decision.enforcement} & ACTED:
                    n_acted += 1
                notices += _notify(engine, tenant, run_id, res, imported, t)
        cursor = rows[-1].id
        scanned, matched, actioned = scanned + len(rows), matched + len(hits), actioned + n_acted
        with Session(engine) as s, s.begin():  # type: ignore[arg-type]
            run = s.get(FactCheckBackfillRow, run_id)
            assert run is not None
            run.cursor, run.updated_at = cursor, clock()
            run.scanned += len(rows)
            run.matched += len(hits)
            run.actioned += n_acted
        on_chunk(len(rows))
    with Session(engine) as s, s.begin():  # type: ignore[arg-type]
        run = s.get(FactCheckBackfillRow, run_id)
        assert run is not None
        run.status, run.updated_at = "done", clock()
        ledger.append(s, tenant=tenant, kind="factcheck.backfill", subject=run_id,
                      actor="automation", at=clock(), payload={
                          "run_id": run_id, "claim_ids": claim_ids,
                          "window_start": start.isoformat(), "scanned": run.scanned,
                          "matched": run.matched, "actioned": run.actioned})
    return BackfillReport(run_id, tuple(claim_ids), scanned, matched, actioned, notices, resumed)


def run_backfill(engine: object, pipeline: Pipeline, *, since_days: float = 30.0,
                 chunk: int = 200, floor: float = 0.35) -> list[BackfillReport]:
    """Finish an interrupted run if there is one, then match the new fact-checks (if any)."""
    reports = []
    pending = unfinished_run(engine, pipeline.tenant)
    if pending is not None:
        reports.append(continue_run(engine, pipeline, pending, chunk=chunk, floor=floor))
    run_id = start_run(engine, pipeline.tenant, since_days, pipeline.clock())
    if run_id is not None:
        reports.append(continue_run(engine, pipeline, run_id, chunk=chunk, floor=floor))
    return reports
