"""Delivering domain events to sinks: at least once, with exponential backoff, dead letters an
operator can list and replay, and no double sending between dispatchers that share a store.

Each dispatcher registers its sinks (name and event types) in `event_sinks`, so every later
emitting transaction queues a delivery row per sink; it then claims due rows one by one with a
conditional update that pushes the row's due time past the sink's timeout (so only one
dispatcher sends it, and a dispatcher that dies mid-send releases it when the claim expires).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tidebreak import metrics
from tidebreak.clock import Clock, utcnow
from tidebreak.events.outbox import to_event
from tidebreak.events.sinks import EventSink, Rejected
from tidebreak.store.db import read_only
from tidebreak.store.schema import DomainEventRow, EventDeliveryRow, EventSinkRow

log = logging.getLogger("tidebreak.events")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff: float = 2.0  # seconds before the 2nd attempt; doubles each time
    backoff_max: float = 900.0
    claim_s: float = 40.0  # how long a claimed row is hidden from other dispatchers

    def delay(self, attempts: int) -> float:
        """Backoff after `attempts` failures, with up to 10% jitter so retries of many rows
        after an outage spread out."""
        base = min(self.backoff * 2 ** (attempts - 1), self.backoff_max)
        return base * (1 + 0.1 * random.random())


def register_sinks(engine: Engine, sinks: Sequence[EventSink], *, now: datetime) -> None:
    """Subscribe `sinks` (by name) from now on; a changed filter is updated in place. Writes
    only when something changed (pipelines call this at start)."""
    wanted = {sink.name: None if sink.types is None else sorted(sink.types) for sink in sinks}
    if not wanted:
        return
    with Session(read_only(engine)) as s:
        have = {r.name: (r.types, r.active) for r in s.execute(
            select(EventSinkRow).where(EventSinkRow.name.in_(list(wanted)))).scalars()}
    if all(have.get(n) == (t, True) for n, t in wanted.items()):
        return
    with Session(engine) as s, s.begin():
        for sink in sinks:
            types = None if sink.types is None else sorted(sink.types)
            row = s.get(EventSinkRow, sink.name)
            if row is None:
                s.add(EventSinkRow(name=sink.name, types=types, active=True, registered_at=now))
            elif row.types != types or not row.active:
                row.types, row.active = types, True


class Dispatcher:
    def __init__(self, engine: Engine, sinks: Sequence[EventSink], *,
                 retry: RetryPolicy | None = None, clock: Clock = utcnow) -> None:
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"event sink names must be unique, got {names}")
        self.engine, self.retry, self.clock = engine, retry or RetryPolicy(), clock
        self.sinks = {s.name: s for s in sinks}
        register_sinks(engine, sinks, now=self.clock())

    def run_once(self, limit: int = 200) -> dict[str, int]:
        """Attempt every due delivery once (up to `limit`); returns counts by result."""
        now = self.clock()
        counts = {"delivered": 0, "retry": 0, "dead": 0}
        if not self.sinks:
            return counts
        with Session(self.engine) as s:
            due = s.execute(select(EventDeliveryRow.sink, EventDeliveryRow.event_id)
                            .where(EventDeliveryRow.sink.in_(list(self.sinks)),
                                   EventDeliveryRow.status == "pending",
                                   EventDeliveryRow.next_attempt_at <= now)
                            .order_by(EventDeliveryRow.event_id).limit(limit)).all()
        for sink, event_id in due:
            claimed = self._claim(sink, event_id, now)
            if claimed is not None:
                counts[self._deliver(self.sinks[sink], *claimed)] += 1
        return counts

    def _claim(self, sink: str, event_id: int,
               now: datetime) -> tuple[EventDeliveryRow, DomainEventRow] | None:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            took = s.execute(update(EventDeliveryRow)
                             .where(EventDeliveryRow.sink == sink,
                                    EventDeliveryRow.event_id == event_id,
                                    EventDeliveryRow.status == "pending",
                                    EventDeliveryRow.next_attempt_at <= now)
                             .values(next_attempt_at=now + timedelta(seconds=self.retry.claim_s))
                             ).rowcount
            if took != 1:
                return None
            return s.get(EventDeliveryRow, (sink, event_id)), s.get(DomainEventRow, event_id)  # type: ignore[return-value]

    def _deliver(self, sink: EventSink, d: EventDeliveryRow, ev: DomainEventRow) -> str:
        error: str | None = None
        refused = False
        try:
            sink.deliver(to_event(ev))
        except Rejected as e:
            error, refused = str(e) or type(e).__name__, True
        except Exception as e:  # noqa: BLE001 - any other failure is worth retrying
            error = (f"{type(e).__name__}: {e}")[:500]
        now = self.clock()
        attempts = d.attempts + 1
        if error is None:
            values: dict[str, object] = {"status": "delivered", "delivered_at": now,
                                         "attempts": attempts, "last_error": None}
            result = "delivered"
        elif refused or attempts >= self.retry.max_attempts:
            values = {"status": "dead", "attempts": attempts, "last_error": error}
            result = "dead"
        else:
            values = {"attempts": attempts, "last_error": error,
                      "next_attempt_at": now + timedelta(seconds=self.retry.delay(attempts))}
            result = "retry"
        with Session(self.engine) as s, s.begin():
            s.execute(update(EventDeliveryRow).where(EventDeliveryRow.sink == d.sink,
                                                     EventDeliveryRow.event_id == d.event_id)
                      .values(**values))
        metrics.WEBHOOKS.labels(result).inc()
        log.log(logging.WARNING if result == "dead" else logging.INFO, "event %s", result,
                extra={"sink": d.sink, "event_key": ev.key, "event_type": ev.type,
                       "attempts": attempts, "error": error})
        return result


class DispatchLoop:
    """Runs a dispatcher in a daemon thread (what `tidebreak serve` uses): a pass, then a short
    sleep when there was nothing to do."""

    def __init__(self, dispatcher: Dispatcher, idle_s: float = 0.5) -> None:
        self.dispatcher, self.idle_s = dispatcher, idle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tidebreak-events",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self.dispatcher.run_once()
            except Exception:  # noqa: BLE001 - the database may be down; keep serving
                log.exception("event dispatch failed")
                counts = {}
            if not any(counts.values()):
                self._stop.wait(self.idle_s)


def replay(engine: Engine, *, sink: str | None = None, keys: Sequence[str] = (),
           now: datetime | None = None) -> int:
    """Put dead-lettered deliveries (all, one sink's, or those of events with `keys`) back in
    line with fresh attempts."""
    q = update(EventDeliveryRow).where(EventDeliveryRow.status == "dead")
    if sink:
        q = q.where(EventDeliveryRow.sink == sink)
    if keys:
        ids = select(DomainEventRow.id).where(DomainEventRow.key.in_(list(keys)))
        q = q.where(EventDeliveryRow.event_id.in_(ids))
    with Session(engine) as s, s.begin():
        return s.execute(q.values(status="pending", attempts=0, last_error=None,
                                  next_attempt_at=now or utcnow())).rowcount


def replay_since(engine: Engine, sink: str, since: datetime, *, now: datetime | None = None,
                 types: frozenset[str] | None = None) -> int:
    """Queue, for a sink, every event since `since` it has no delivery for (a destination
    added late, or one that lost what it had received). Returns how many were queued."""
    with Session(engine) as s, s.begin():
        have = select(EventDeliveryRow.event_id).where(EventDeliveryRow.sink == sink)
        q = select(DomainEventRow.id, DomainEventRow.tenant).where(
            DomainEventRow.created_at >= since, DomainEventRow.id.not_in(have))
        if types is not None:
            q = q.where(DomainEventRow.type.in_(sorted(types)))
        rows = s.execute(q.order_by(DomainEventRow.id)).all()
        s.add_all([EventDeliveryRow(sink=sink, event_id=i, tenant=t, status="pending",
                                    attempts=0, next_attempt_at=now or utcnow())
                   for i, t in rows])
        return len(rows)


def list_deliveries(engine: Engine, status: str | None = "dead", *, sink: str | None = None,
                    limit: int = 100) -> list[tuple[EventDeliveryRow, DomainEventRow]]:
    q = (select(EventDeliveryRow, DomainEventRow)
         .join(DomainEventRow, DomainEventRow.id == EventDeliveryRow.event_id)
         .order_by(EventDeliveryRow.event_id).limit(limit))
    if status:
        q = q.where(EventDeliveryRow.status == status)
    if sink:
        q = q.where(EventDeliveryRow.sink == sink)
    with Session(engine) as s:
        return [(d, e) for d, e in s.execute(q).all()]
