"""NATS JetStream: the durable stream events travel through, and the producer that fills it.

One file-backed stream (`TIDEBREAK` by default) holds every message under `<subject>.>`:
`<subject>.events` for submitted events, `<subject>.backfill` for re-decisions of stored content.
Workers share one durable pull consumer ("workers") with explicit acks, so a message a worker
took but never acked (it was killed) is redelivered after `ack_wait`.

The producer never buffers: while the broker is unreachable, `publish` raises `BrokerUnavailable`
at once, and an event counts as accepted only once JetStream has acknowledged storing it. Each
message carries `Nats-Msg-Id` = tenant:event_id, so a resubmission inside the stream's duplicate
window is dropped by the broker itself (and any later one by the events table).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StorageType

from tidebreak import metrics
from tidebreak.config import Settings
from tidebreak.errors import Unavailable

T = TypeVar("T")
DURABLE = "workers"
DUPLICATE_WINDOW_S = 120.0
BROKER_ERRORS: tuple[type[BaseException], ...] = (nats.errors.Error, asyncio.TimeoutError,
                                                  OSError)


class BrokerUnavailable(Unavailable):
    """The broker did not take the message; one line fit for a 503 body or a CLI error."""


@dataclass(frozen=True)
class BrokerConfig:
    url: str
    stream: str = "TIDEBREAK"
    subject: str = "tidebreak"
    publish_timeout: float = 5.0
    ack_wait: float = 30.0
    max_deliver: int = 10
    retry_delay: float = 1.0  # first redelivery delay for an event that must wait; doubles

    @classmethod
    def from_settings(cls, settings: Settings) -> "BrokerConfig":
        if not settings.nats_url:
            raise ValueError("no broker configured: set TIDEBREAK_NATS_URL (e.g. nats://127.0.0.1:4222)")
        return cls(url=settings.nats_url, stream=settings.nats_stream,
                   subject=settings.nats_subject, publish_timeout=settings.publish_timeout,
                   ack_wait=settings.ack_wait, max_deliver=settings.max_deliver)

    @property
    def events_subject(self) -> str:
        return f"{self.subject}.events"

    @property
    def backfill_subject(self) -> str:
        return f"{self.subject}.backfill"


# -- messages -------------------------------------------------------------------------------------


def event_message(tenant: str, event: dict[str, Any], received_at: datetime) -> bytes:
    """A submitted event as validated at the boundary (the worker validates it again: the broker
    is a trust boundary too, anything may publish to it)."""
    return json.dumps({"v": 1, "kind": "event", "tenant": tenant, "event": event,
                       "received_at": received_at.isoformat()},
                      ensure_ascii=False, separators=(",", ":")).encode()


def rescan_message(tenant: str, content_id: str, event_id: str) -> bytes:
    return json.dumps({"v": 1, "kind": "rescan", "tenant": tenant, "content_id": content_id,
                       "event_id": event_id}, separators=(",", ":")).encode()


def msg_id(tenant: str, event_id: str) -> str:
    return f"{tenant}:{event_id}"


# -- connections ----------------------------------------------------------------------------------


async def connect(cfg: BrokerConfig, name: str, *, buffer: bool = False) -> NATS:
    """Connect (one attempt per server; raises BrokerUnavailable), reconnecting for ever after.
    buffer=False: publishing while disconnected fails at once instead of queueing in memory."""
    async def _quiet(_e: Exception) -> None:  # reconnects are reported by our own callers
        return None

    try:
        return await nats.connect(cfg.url, name=name, allow_reconnect=True,
                                  max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                  connect_timeout=2, error_cb=_quiet,
                                  **({} if buffer else {"pending_size": 0}))
    except BROKER_ERRORS as e:
        raise BrokerUnavailable(f"cannot reach the broker at {cfg.url}: "
                                f"{type(e).__name__} {e}".strip()) from None


async def ensure_stream(js: JetStreamContext, cfg: BrokerConfig) -> None:
    """Create the stream on first use (file storage: it survives a broker restart)."""
    try:
        await js.stream_info(cfg.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(name=cfg.stream, subjects=[f"{cfg.subject}.>"],
                            storage=StorageType.FILE, duplicate_window=DUPLICATE_WINDOW_S)


async def pull_subscription(js: JetStreamContext,
                            cfg: BrokerConfig) -> JetStreamContext.PullSubscription:
    await ensure_stream(js, cfg)
    return await js.pull_subscribe(
        f"{cfg.subject}.>", durable=DURABLE, stream=cfg.stream,
        config=ConsumerConfig(ack_wait=cfg.ack_wait, max_deliver=cfg.max_deliver,
                              max_ack_pending=10_000))


# -- the producer ---------------------------------------------------------------------------------


class Producer:
    """Publishes to JetStream from synchronous code (CLI, backfill) and from any event loop (the
    API): the NATS client lives on a private loop in a daemon thread. Connects lazily, so an API
    starts while the broker is down and answers 503 until it is back."""

    def __init__(self, cfg: BrokerConfig, name: str = "tidebreak-producer") -> None:
        self.cfg, self.name = cfg, name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="tidebreak-producer")
        self._thread.start()
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _context(self) -> JetStreamContext:
        async with self._lock:
            if self._nc is None or self._nc.is_closed:
                nc = await connect(self.cfg, self.name)
                js = nc.jetstream(timeout=self.cfg.publish_timeout)
                try:
                    await ensure_stream(js, self.cfg)
                except BROKER_ERRORS as e:
                    await nc.close()
                    raise BrokerUnavailable(f"broker has no usable stream {self.cfg.stream!r}: "
                                            f"{type(e).__name__}") from None
                self._nc, self._js = nc, js
        assert self._nc is not None and self._js is not None
        if not self._nc.is_connected:
            raise BrokerUnavailable(f"broker at {self.cfg.url} is unreachable (reconnecting); "
                                    "the event was not accepted, retry later")
        return self._js

    async def _publish(self, subject: str, data: bytes, mid: str) -> int:
        js = await self._context()
        try:
            ack = await js.publish(subject, data, timeout=self.cfg.publish_timeout,
                                   headers={"Nats-Msg-Id": mid})
        except BROKER_ERRORS as e:
            metrics.PUBLISHED.labels("unavailable").inc()
            raise BrokerUnavailable(f"broker did not confirm storing the event "
                                    f"({type(e).__name__}); it was not accepted, retry "
                                    "with the same event id") from None
        metrics.PUBLISHED.labels("ok").inc()
        return ack.seq

    async def _publish_many(self, subject: str, items: Sequence[tuple[str, bytes]]) -> int:
        # In flight together: one round trip for the chunk instead of one per message.
        seqs = await asyncio.gather(*(self._publish(subject, data, mid) for mid, data in items))
        return len(seqs)

    def publish(self, subject: str, data: bytes, mid: str) -> int:
        """Blocking; returns the stream sequence or raises BrokerUnavailable."""
        return self._submit(self._publish(subject, data, mid)).result(self.cfg.publish_timeout + 5)

    async def publish_async(self, subject: str, data: bytes, mid: str) -> int:
        return await asyncio.wrap_future(self._submit(self._publish(subject, data, mid)))

    def publish_many(self, subject: str, items: Iterable[tuple[str, bytes]]) -> int:
        """Publish (msg id, data) pairs; all confirmed when it returns, else BrokerUnavailable."""
        return self._submit(self._publish_many(subject, list(items))).result(
            self.cfg.publish_timeout + 30)

    async def _check(self) -> str | None:
        try:
            js = await self._context()
            await js.stream_info(self.cfg.stream)
        except BrokerUnavailable as e:
            return str(e)
        except BROKER_ERRORS as e:
            return f"broker stream {self.cfg.stream!r} not available: {type(e).__name__}"
        return None

    def problem(self) -> str | None:
        """None when the broker is reachable and the stream exists, else why not."""
        try:
            return self._submit(self._check()).result(self.cfg.publish_timeout + 5)
        except TimeoutError:
            return "broker check timed out"

    async def problem_async(self) -> str | None:
        return await asyncio.wrap_future(self._submit(self._check()))

    def close(self) -> None:
        async def _close() -> None:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        if self._loop.is_running():
            try:
                self._submit(_close()).result(5)
            except (TimeoutError, *BROKER_ERRORS):
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
