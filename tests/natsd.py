"""A private NATS JetStream server for tests: its own port and store directory, never the
machine's shared one on 4222. `stop()` and `start()` again keep the store (a broker outage)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    def __init__(self, store: Path, port: int | None = None) -> None:
        self.store, self.port = store, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NatsServer":
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", str(self.store)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def nats_available() -> str | None:
    return None if Path(NATS_SERVER).exists() else f"nats-server not found at {NATS_SERVER}"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    reason = nats_available()
    if reason:
        pytest.skip(reason)
    server = NatsServer(tmp_path / "jetstream").start()
    yield server
    server.stop()


# -- a worker running in this process, for tests that drive the broker by hand ------------------

import asyncio  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import contextmanager  # noqa: E402


@contextmanager
def running_worker(worker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Run `worker` (tidebreak.scale.worker.Worker) on its own loop in a thread until the block
    ends; it then finishes its batch and drains, as on SIGTERM."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(worker.run(stop))
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(e)

    t = threading.Thread(target=main, daemon=True)
    t.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(30)
        if failure:
            raise failure[0]


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
