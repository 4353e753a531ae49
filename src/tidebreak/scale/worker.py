"""The worker: pull events from JetStream, run them through the one pipeline, ack after commit.

Order of work per fetched batch: validate each message at the boundary (`parse_event`, as the
API does), run the tenant's events through `Pipeline.process_batch` in a thread (it is
synchronous and commits each event's decision in its own transaction), then ack. A worker killed
anywhere before the ack leaves its messages un-acked; JetStream redelivers them after ack_wait
and the events table turns the second run into a duplicate that returns the first decision.
After each committed batch the worker spends `evidence_budget` seconds (0.25) computing deferred
evidence (tidebreak.evidence.fill: spans for what reviewers will open), most urgent first.

What is not acked on purpose:
- an edit, delete or report whose content.create has not been decided yet (another worker may
  hold it): nak with a delay, up to max_deliver deliveries, then recorded as failed;
- any batch the database refused (it is down): nak with a delay, retried later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tidebreak import metrics
from tidebreak.evidence.fill import fill
from tidebreak.events.dispatch import Dispatcher
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.model import Content, ContentKind, Event, EventType
from tidebreak.pipeline import OutOfOrder, Outcome, Pipeline, PipelineError, UnknownContent
from tidebreak.scale.broker import (
    BROKER_ERRORS,
    BrokerConfig,
    BrokerUnavailable,
    connect,
    pull_subscription,
)
from tidebreak.store.schema import ContentRow, EventFailureRow

log = logging.getLogger("tidebreak.worker")
RETRYABLE = (OutOfOrder, UnknownContent)  # the create may still be on its way


@dataclass
class Job:
    msg: Msg
    tenant: str
    body: dict[str, Any]
    event_id: str


class Worker:
    def __init__(self, engine: Engine, cfg: BrokerConfig, pipeline_for: Callable[[str], Pipeline],
                 *, batch: int = 64, max_text_bytes: int = 65536,
                 dispatcher: Dispatcher | None = None, name: str | None = None,
                 evidence_budget: float = 0.25,
                 coordination_sweep_s: float | None = None,
                 coordination_sweep_since: str | None = None) -> None:
        self.engine, self.cfg, self.pipeline_for = engine, cfg, pipeline_for
        self.batch, self.max_text_bytes, self.dispatcher = batch, max_text_bytes, dispatcher
        # seconds of deferred evidence (tidebreak.evidence) filled after each committed batch
        self.evidence_budget = evidence_budget
        self._evidence_skip: dict[str, set[str]] = {}
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        # the scheduled coordination sweep (tidebreak.coordination.sweep); from the
        # environment unless given: TIDEBREAK_COORDINATION_SWEEP_S, 0 = off
        from tidebreak.config import Settings

        settings = Settings.from_env()
        self.coordination_sweep_s = (settings.coordination_sweep_s if coordination_sweep_s is None
                                     else coordination_sweep_s)
        self.coordination_sweep_since = (coordination_sweep_since
                                         or settings.coordination_sweep_since)
        self._sweep_tenants: set[str] = {settings.tenant}
        self.handled = 0

    # -- the loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        nc = await self._connect(stop)
        if nc is None:
            return
        sub = await pull_subscription(nc.jetstream(), self.cfg)
        log.info("worker started", extra={"worker": self.name, "stream": self.cfg.stream})
        side = [asyncio.create_task(self._watch_lag(sub, stop))]
        if self.coordination_sweep_s > 0:
            side.append(asyncio.create_task(self._sweep_coordination(stop)))
        if self.dispatcher is not None:
            side.append(asyncio.create_task(self._deliver_events(stop)))
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=1.0)
                except nats.errors.TimeoutError:
                    continue  # nothing to do
                except BROKER_ERRORS as e:
                    log.warning("broker fetch failed; retrying",
                                extra={"worker": self.name, "error": f"{type(e).__name__}: {e}"})
                    await asyncio.sleep(1.0)
                    continue
                t0 = time.perf_counter()
                await self.handle(msgs)
                metrics.WORKER_BATCH_SECONDS.observe(time.perf_counter() - t0)
        finally:
            for t in side:
                t.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            try:
                # Push out the acks already written, then leave. (drain() would also wait out
                # the open pull request, up to its 30 s timeout.)
                await nc.flush(timeout=5)
            except BROKER_ERRORS:
                pass
            await nc.close()
            log.info("worker stopped", extra={"worker": self.name, "handled": self.handled})

    async def _connect(self, stop: asyncio.Event):  # type: ignore[no-untyped-def]
        delay = 0.5
        while not stop.is_set():
            try:
                return await connect(self.cfg, f"tidebreak-worker-{self.name}", buffer=True)
            except BrokerUnavailable as e:
                log.warning("broker unreachable; retrying", extra={"worker": self.name,
                                                                  "error": str(e)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        return None

    async def _watch_lag(self, sub: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                info = await sub.consumer_info()
                metrics.QUEUE_LAG.set(info.num_pending or 0)
                metrics.QUEUE_UNACKED.set(info.num_ack_pending or 0)
            except BROKER_ERRORS:
                pass
            await asyncio.sleep(5.0)

    async def _deliver_events(self, stop: asyncio.Event) -> None:
        assert self.dispatcher is not None
        while not stop.is_set():
            try:
                sent = await asyncio.to_thread(self.dispatcher.run_once)
            except Exception:  # noqa: BLE001 - the database may be down; keep the worker alive
                log.exception("event dispatch failed", extra={"worker": self.name})
                sent = {}
            if not any(sent.values()):
                await asyncio.sleep(1.0)

    async def _sweep_coordination(self, stop: asyncio.Event) -> None:
        """Every coordination_sweep_s: sweep each tenant this worker has served for coordinated
        groups (review cases only; tidebreak.coordination.sweep). One worker at a time does it
        (a lock in the database), the others skip that round."""
        from tidebreak.coordination.sweep import parse_since, sweep_once

        since_s = parse_since(self.coordination_sweep_since)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.coordination_sweep_s)
                return
            except asyncio.TimeoutError:
                pass
            for tenant in sorted(self._sweep_tenants):
                try:
                    report = await asyncio.to_thread(sweep_once, self.engine, tenant, since_s)
                except Exception:  # noqa: BLE001 - the database may be down; keep working
                    log.exception("coordination sweep failed", extra={"worker": self.name})
                    continue
                if report is not None:
                    log.info("coordination sweep", extra={"worker": self.name,
                                                          "tenant": tenant,
                                                          **report.to_dict()})

    # -- one batch ------------------------------------------------------------------------------

    async def handle(self, msgs: list[Msg]) -> None:
        jobs: list[Job] = []
        for m in msgs:
            job = self._decode(m)
            if job is None:
                metrics.WORKER_MESSAGES.labels("poison").inc()
                await m.term()  # never redelivered: it can never become valid
            else:
                jobs.append(job)
        for tenant in dict.fromkeys(j.tenant for j in jobs):
            self._sweep_tenants.add(tenant)
            group = [j for j in jobs if j.tenant == tenant]
            try:
                results = await asyncio.to_thread(self._process, tenant, group)
            except Exception:  # noqa: BLE001 - e.g. the database is down: retry the batch later
                log.exception("batch failed; will be redelivered",
                              extra={"worker": self.name, "tenant": tenant, "size": len(group)})
                for j in group:
                    await j.msg.nak(delay=5.0)
                metrics.WORKER_MESSAGES.labels("retried").inc(len(group))
                continue
            for j, res in zip(group, results):
                await self._settle(j, res)
            if self.evidence_budget > 0:
                await asyncio.to_thread(self._fill_evidence, tenant)

    def _fill_evidence(self, tenant: str) -> None:
        """After a committed (and acked) batch: a little of the tenant's pending evidence, most
        urgent first, so what reviewers open already has its spans."""
        try:
            p = self.pipeline_for(tenant)
            fill(self.engine, p.detectors, tenant, budget_s=self.evidence_budget, batch_size=4,
                 skip=self._evidence_skip.setdefault(tenant, set()), clock=p.clock)
        except Exception:  # noqa: BLE001 - evidence can wait; never fail the worker for it
            log.exception("evidence filling failed", extra={"worker": self.name,
                                                           "tenant": tenant})

    def _decode(self, m: Msg) -> Job | None:
        try:
            body = json.loads(m.data)
            tenant = body["tenant"]
            if body.get("kind") == "rescan":
                event_id = str(body["event_id"])
            else:
                obj = body["event"]
                event_id = str(obj.get("event_id") or obj.get("id"))
            if not isinstance(tenant, str) or not tenant:
                raise ValueError("no tenant")
            return Job(m, tenant, body, event_id)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            log.error("undecodable message dropped", extra={"worker": self.name,
                                                           "error": str(e)[:200]})
            return None

    def _process(self, tenant: str, jobs: list[Job]) -> list[Outcome | PipelineError]:
        """In a thread: build events (boundary checks included) and run the pipeline."""
        events: list[Event] = []
        slots: list[int] = []
        results: list[Outcome | PipelineError] = [PipelineError("not processed")] * len(jobs)
        for i, j in enumerate(jobs):
            try:
                events.append(self._event(tenant, j))
                slots.append(i)
            except InvalidInput as e:
                err = PipelineError(str(e))
                err.status = e.status
                results[i] = err
            except PipelineError as e:
                results[i] = e
        for i, res in zip(slots, self.pipeline_for(tenant).process_batch(events)):
            results[i] = res
        return results

    def _event(self, tenant: str, j: Job) -> Event:
        if j.body.get("kind") == "rescan":
            return self._rescan_event(tenant, str(j.body["content_id"]), j.event_id)
        received = j.body.get("received_at")
        now = datetime.fromisoformat(received) if isinstance(received, str) else None
        return parse_event(j.body["event"], max_text_bytes=self.max_text_bytes, now=now)

    def _rescan_event(self, tenant: str, content_id: str, event_id: str) -> Event:
        with Session(self.engine) as s:
            row = s.get(ContentRow, (tenant, content_id))
        if row is None:
            raise UnknownContent(f"rescan of unknown content {content_id!r}")
        content = Content(id=row.id, kind=ContentKind(row.kind), text=row.text,
                          author=row.author_id, group=row.group_id, created_at=row.created_at,
                          parent_id=row.parent_id, urls=tuple(row.urls or ()), meta=row.meta or {})
        return Event(event_id=event_id, type=EventType.RESCAN, content=content,
                     received_at=datetime.now(timezone.utc))

    async def _settle(self, j: Job, res: Outcome | PipelineError) -> None:
        self.handled += 1
        if isinstance(res, Outcome):
            await j.msg.ack()
            metrics.WORKER_MESSAGES.labels("duplicate" if res.duplicate else "decided").inc()
            return
        delivered = j.msg.metadata.num_delivered
        if isinstance(res, RETRYABLE) and delivered < self.cfg.max_deliver:
            await j.msg.nak(delay=min(self.cfg.retry_delay * 2.0 ** (delivered - 1), 30.0))
            metrics.WORKER_MESSAGES.labels("retried").inc()
            return
        await asyncio.to_thread(self._record_failure, j, res, delivered)
        await j.msg.ack()
        metrics.WORKER_MESSAGES.labels("failed").inc()
        log.warning("event failed", extra={"worker": self.name, "tenant": j.tenant,
                                           "event_id": j.event_id, "reason": str(res)})

    def _record_failure(self, j: Job, err: PipelineError, delivered: int) -> None:
        content_id = str(j.body.get("content_id") or (j.body.get("event") or {}).get("id") or "")
        values = {"tenant": j.tenant, "event_id": j.event_id[:256], "content_id": content_id[:256],
                  "status": int(getattr(err, "status", 409)), "reason": str(err)[:2000],
                  "deliveries": delivered, "failed_at": datetime.now(timezone.utc)}
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(EventFailureRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "event_id"],
            set_={k: stmt.excluded[k] for k in ("status", "reason", "deliveries", "failed_at")})
        with Session(self.engine) as s, s.begin():
            s.execute(stmt)


def run_worker(worker: Worker) -> None:
    """Run until SIGTERM or SIGINT; the batch in hand is finished and acked before exiting."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)

    asyncio.run(main())
