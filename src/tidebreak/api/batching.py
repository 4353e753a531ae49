"""Micro-batching for the decision routes: concurrent requests share model passes and one
transaction, and no model pass or database write runs on the event loop.

A request's event joins the tenant's queue and waits for its result. While a batch is being
recorded, the requests that arrive meanwhile gather; when the queue was idle, the first request
waits `wait_s` (a few milliseconds) for others to join. Each batch is prepared (duplicates
dropped, detectors run) in one thread while the batch before it is recorded in another, exactly
as `tidebreak.pipeline.overlapped` runs a file, so a batch decides as its events would one at a
time. Idempotency holds as in the pipeline: a repeated event returns its first decision, also
when both copies arrive in the same batch or in consecutive ones.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

from tidebreak import metrics
from tidebreak.model import Event
from tidebreak.pipeline import Outcome, Pipeline, PipelineError, Prepared

Result = Outcome | PipelineError


@dataclass
class _LoopState:
    """What one event loop's requests share (tests may run several loops, one after another)."""

    queue: list[tuple[Event, asyncio.Future[Result]]] = field(default_factory=list)
    running: bool = False
    arrived: asyncio.Event | None = None  # set by each request while the drain runs


class MicroBatcher:
    def __init__(self, pipeline: Pipeline, *, max_batch: int = 64, wait_s: float = 0.003) -> None:
        self.pipeline = pipeline
        self.max_batch = max_batch
        self.wait_s = wait_s
        # a batch records while the next ones are prepared (as many as the pipeline prepares
        # ahead: one, or one per detector process)
        self._prepare = ThreadPoolExecutor(max(1, pipeline.prepare_ahead),
                                           thread_name_prefix="tidebreak-api-prepare")
        self._record = ThreadPoolExecutor(1, thread_name_prefix="tidebreak-api-record")
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary())

    async def submit(self, event: Event) -> Result:
        loop = asyncio.get_running_loop()
        state = self._loops.setdefault(loop, _LoopState())
        fut: asyncio.Future[Result] = loop.create_future()
        state.queue.append((event, fut))
        if state.arrived is not None:
            state.arrived.set()
        if not state.running:
            state.running = True
            loop.create_task(self._drain(state))
        return await fut

    def close(self) -> None:
        self._prepare.shutdown(wait=False)
        self._record.shutdown(wait=False)

    async def _drain(self, state: _LoopState) -> None:
        """Keep every stage busy: up to `depth` batches preparing at once (one per detector
        process) while the oldest prepared batch records; batches record in the order they were
        taken. A free preparing slot takes its share of the queue at once (not only when the
        batch before it is recorded), so with a few dozen requests in flight no detector
        process waits while another holds all of them."""
        loop = asyncio.get_running_loop()
        depth = max(1, self.pipeline.prepare_ahead)
        preparing: deque[tuple[list[tuple[Event, asyncio.Future[Result]]], list[Event],
                               asyncio.Future[Prepared]]] = deque()
        recording: asyncio.Task[None] | None = None
        recording_events: Sequence[Event] = ()
        state.arrived = asyncio.Event()
        try:
            while state.queue or preparing or recording is not None:
                if state.queue and len(preparing) < depth:
                    if recording is None and not preparing:
                        await asyncio.sleep(self.wait_s)  # let requests arriving together join
                    free = depth - len(preparing)
                    # the queue shared among the free slots (the last one takes the rest)
                    take = min(self.max_batch, -(-len(state.queue) // free))
                    batch = state.queue[:take]
                    del state.queue[:take]
                    events = [ev for ev, _ in batch]
                    ahead = [*recording_events, *(e for _, evs, _ in preparing for e in evs)]
                    preparing.append((batch, events, loop.run_in_executor(
                        self._prepare, self.pipeline.prepare, events, ahead)))
                    continue
                if recording is None and preparing and preparing[0][2].done():
                    batch, events, fut = preparing.popleft()
                    try:
                        prepared = fut.result()
                    except Exception as exc:  # noqa: BLE001 - the batch's callers get the error
                        _fail(batch, exc)
                        continue
                    metrics.API_BATCH_SIZE.observe(len(batch))
                    recording = loop.create_task(self._record_batch(batch, prepared))
                    recording_events = events
                    continue
                if recording is not None and recording.done():
                    recording, recording_events = None, ()
                    continue
                # wait for whatever happens first: a batch prepared or recorded, or a request
                # arriving while a preparing slot is free (not for a batch prepared already and
                # waiting for the recorder: waiting on a done future returns at once, and the
                # loop would spin until the recorder is free)
                waits: list[asyncio.Future[Any]] = [f for _, _, f in preparing if not f.done()]
                if recording is not None:
                    waits.append(recording)
                arrival: asyncio.Task[bool] | None = None
                if len(preparing) < depth:
                    state.arrived.clear()
                    arrival = loop.create_task(state.arrived.wait())
                    waits.append(arrival)
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if arrival is not None and not arrival.done():
                    arrival.cancel()
        finally:
            state.running = False
            state.arrived = None
            if state.queue:  # arrived after the last look (cannot happen on one loop; be safe)
                state.running = True
                loop.create_task(self._drain(state))

    async def _record_batch(self, batch: list[tuple[Event, asyncio.Future[Result]]],
                            prepared: Prepared) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._record, self.pipeline.record, prepared)
        except Exception as exc:  # noqa: BLE001 - the batch's callers get the error
            _fail(batch, exc)
            return
        for (_, fut), res in zip(batch, results):
            if not fut.done():
                fut.set_result(res)


def _fail(batch: list[tuple[Event, asyncio.Future[Result]]], exc: BaseException) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)
