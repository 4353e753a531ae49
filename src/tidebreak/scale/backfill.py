"""Backfill: re-decide stored content through the workers, after a new model, policy version or
fact-check import.

A run is a row in `backfill_runs`. Publishing walks the tenant's content in id order, in chunks;
after the broker has confirmed a whole chunk the run's cursor moves to its last id, so a crashed
run resumes after the last confirmed chunk. Each item becomes a `content.rescan` event with the
id `backfill:<run>:<content id>`: republishing part of a chunk after a crash is dropped by the
broker's duplicate window or, later, by the events table. Progress is the number of those event
ids the workers have decided.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tidebreak.pipeline import utcnow
from tidebreak.scale.broker import Producer, msg_id, rescan_message
from tidebreak.store.schema import BackfillRunRow, ContentRow, EventFailureRow, EventRow

SKIPPED_STATES = ("deleted",)  # nothing left to decide on


@dataclass(frozen=True)
class Progress:
    run_id: str
    status: str
    total: int
    published: int
    decided: int
    failed: int


def _candidates(tenant: str):  # type: ignore[no-untyped-def]
    return select(ContentRow.id).where(ContentRow.tenant == tenant,
                                       ContentRow.state.not_in(SKIPPED_STATES))


def start_run(engine: Engine, tenant: str, reason: str, now: datetime | None = None) -> str:
    now = now or utcnow()
    run_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s, s.begin():
        total = s.execute(select(func.count()).select_from(_candidates(tenant).subquery())).scalar_one()
        s.add(BackfillRunRow(id=run_id, tenant=tenant, reason=reason, status="publishing",
                             cursor=None, total=total, published=0, created_at=now, updated_at=now))
    return run_id


def event_id_for(run_id: str, content_id: str) -> str:
    return f"backfill:{run_id}:{content_id}"


def publish_run(engine: Engine, producer: Producer, run_id: str, *, chunk: int = 500,
                on_chunk: Callable[[int], None] = lambda n: None) -> int:
    """Publish the rest of a run (from its cursor); returns how many were published now.
    Raises BrokerUnavailable mid-way with the cursor at the last confirmed chunk."""
    with Session(engine) as s:
        run = s.get(BackfillRunRow, run_id)
        if run is None:
            raise KeyError(f"no backfill run {run_id!r}")
        tenant, cursor = run.tenant, run.cursor
    sent = 0
    while True:
        q = _candidates(tenant).order_by(ContentRow.id).limit(chunk)
        if cursor is not None:
            q = q.where(ContentRow.id > cursor)
        with Session(engine) as s:
            ids = s.execute(q).scalars().all()
        if not ids:
            break
        producer.publish_many(producer.cfg.backfill_subject,
                              [(msg_id(tenant, event_id_for(run_id, cid)),
                                rescan_message(tenant, cid, event_id_for(run_id, cid)))
                               for cid in ids])
        cursor = ids[-1]
        with Session(engine) as s, s.begin():
            run = s.get(BackfillRunRow, run_id)
            assert run is not None
            run.cursor, run.published, run.updated_at = cursor, run.published + len(ids), utcnow()
        sent += len(ids)
        on_chunk(len(ids))
    with Session(engine) as s, s.begin():
        run = s.get(BackfillRunRow, run_id)
        assert run is not None
        run.status, run.updated_at = "published", utcnow()
    return sent


def progress(engine: Engine, run_id: str) -> Progress:
    prefix = event_id_for(run_id, "")
    with Session(engine) as s:
        run = s.get(BackfillRunRow, run_id)
        if run is None:
            raise KeyError(f"no backfill run {run_id!r}")
        decided = s.execute(select(func.count()).select_from(EventRow).where(
            EventRow.tenant == run.tenant, EventRow.event_id.startswith(prefix, autoescape=True))
        ).scalar_one()
        failed = s.execute(select(func.count()).select_from(EventFailureRow).where(
            EventFailureRow.tenant == run.tenant,
            EventFailureRow.event_id.startswith(prefix, autoescape=True))).scalar_one()
    return Progress(run_id, run.status, run.total, run.published, decided, failed)


def latest_runs(engine: Engine, limit: int = 20) -> list[BackfillRunRow]:
    with Session(engine) as s:
        return list(s.execute(select(BackfillRunRow).order_by(BackfillRunRow.created_at.desc())
                              .limit(limit)).scalars().all())
