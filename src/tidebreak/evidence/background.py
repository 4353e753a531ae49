"""Filling evidence in the server's spare time: never while it is answering requests.

`IdleFiller` counts requests in flight (an ASGI middleware tells it when one starts and ends);
when none has been in flight for `idle_s`, its thread runs `fill` for one short slice
(`slice_s`, small batches) per tenant, and stops between batches as soon as a request comes in.
A moderation request therefore waits at most for one small batch already running, and only when
it arrives during an idle spell.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from tidebreak.evidence.fill import fill

log = logging.getLogger("tidebreak.evidence")


class IdleFiller:
    def __init__(self, engine: Engine, pipeline_for: Callable[[str], Any],
                 tenants: Callable[[], Iterable[str]], *, idle_s: float = 0.5,
                 slice_s: float = 0.25, batch_size: int = 2, poll_s: float = 0.1,
                 rest_s: float = 2.0, max_rest_s: float = 60.0) -> None:
        self.engine, self.pipeline_for, self.tenants = engine, pipeline_for, tenants
        self.idle_s, self.slice_s, self.batch_size = idle_s, slice_s, batch_size
        self.poll_s, self.rest_s, self.max_rest_s = poll_s, rest_s, max_rest_s
        self._rest = rest_s  # grows while there is nothing to do; a request resets it
        self.filled = 0
        self._in_flight = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a request ended: stop resting
        self._thread: threading.Thread | None = None
        self._skip: dict[str, set[str]] = {}  # per tenant: decisions that cannot be explained

    # -- what the middleware reports ------------------------------------------------------------

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._last = time.monotonic()
            self._rest = self.rest_s  # a request may bring work: look again soon after it

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._last = time.monotonic()
        self._wake.set()

    def idle(self) -> bool:
        with self._lock:
            return self._in_flight == 0 and time.monotonic() - self._last >= self.idle_s

    # -- the work -------------------------------------------------------------------------------

    def run_once(self) -> int | None:
        """One slice per tenant if the server is idle: decisions filled, or None when busy."""
        if not self.idle():
            return None
        done = 0
        for tenant in list(self.tenants()):
            if not self.idle():
                break
            p = self.pipeline_for(tenant)
            res = fill(self.engine, p.detectors, tenant, budget_s=self.slice_s,
                       batch_size=self.batch_size, skip=self._skip.setdefault(tenant, set()),
                       keep_going=self.idle, clock=p.clock)
            done += res.decisions
        self.filled += done
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the database is away; try again later
                log.exception("background evidence filling failed")
                done = 0
            # busy: look again soon; work done: go on; nothing to do: rest, longer each time
            # (looking costs a query over the tenant's unfilled decisions)
            if done is None or done > 0:
                wait = self.poll_s
            else:
                with self._lock:
                    wait, self._rest = self._rest, min(self._rest * 2, self.max_rest_s)
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="tidebreak-evidence",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


class TrackRequests:
    """ASGI middleware: tells the filler when HTTP requests start and end."""

    def __init__(self, app: Any, filler: IdleFiller) -> None:
        self.app, self.filler = app, filler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        self.filler.request_started()
        try:
            await self.app(scope, receive, send)
        finally:
            self.filler.request_finished()
