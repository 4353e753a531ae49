"""Detectors in a process of their own (TIDEBREAK_DETECT_IN=process).

In one process, detection and recording share one interpreter lock: the model passes release
it, but tokenising, feature building and the detectors' Python run under it, as does all of
recording, so a stream on 2 cores uses about 1.35 of them. Here the detectors live in a child
process (spawned, so it shares nothing it should not): the parent sends each batch's items over
a pipe and gets the signals back, while it records the previous batch (`pipeline.overlapped`).

Each detector in the parent is a `RemoteDetector` with the real one's name and version, so a
decision names the same model versions; deferred evidence (`explain_later`) is forwarded too.
The child keeps the bank detector in step with the bank table itself (BankSync), and dies with
its parent.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidebreak.detect.base import EvidenceRequest
from tidebreak.model import Item, Signal


@dataclass(frozen=True)
class _Spec:
    names: tuple[str, ...]
    options: Mapping[str, Mapping[str, object]]
    database_url: str
    tenant: str


def _serve(conn: Any, spec: _Spec) -> None:
    """The child: build the detectors, then answer (detector index, method, payload) requests."""
    from tidebreak.runtime import build_detectors
    from tidebreak.store.db import open_store

    try:
        engine = open_store(spec.database_url)
        detectors, hooks = build_detectors(spec.names, engine, spec.tenant, options=spec.options)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", [(d.name, d.version, hasattr(d, "explain_later")) for d in detectors]))
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the parent is gone
            return
        if msg is None:
            return
        index, method, payload = msg
        try:
            if method == "detect":
                for hook in hooks:
                    hook()
                conn.send(("ok", detectors[index].detect(payload)))
            else:
                conn.send(("ok", detectors[index].explain_later(payload)))  # type: ignore[attr-defined]
        except Exception as e:  # noqa: BLE001
            conn.send(("error", f"{type(e).__name__}: {e}"))


class DetectorProcess:
    """The child process and the pipe to it; one request at a time."""

    def __init__(self, names: Sequence[str], options: Mapping[str, Mapping[str, object]],
                 database_url: str, tenant: str) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self.proc = ctx.Process(target=_serve, args=(child, _Spec(tuple(names), dict(options),
                                                                   database_url, tenant)),
                                name="tidebreak-detectors", daemon=True)
        self.proc.start()
        child.close()
        status, info = self._conn.recv()
        if status != "ready":
            self.close()
            raise RuntimeError(f"the detector process could not start: {info}")
        self.detectors = [RemoteDetector(self, i, name, version, explains)
                          for i, (name, version, explains) in enumerate(info)]

    def call(self, index: int, method: str, payload: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((index, method, payload))
                status, result = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                raise RuntimeError("the detector process died") from None
        if status != "ok":
            raise RuntimeError(f"detector failed in its process: {result}")
        return result

    def close(self) -> None:
        try:
            with self._lock:
                self._conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
        self._conn.close()


class RemoteDetector:
    """A detector running in the `DetectorProcess`, as the pipeline sees it."""

    def __init__(self, host: DetectorProcess, index: int, name: str, version: str,
                 explains: bool) -> None:
        self.host, self.index, self.name, self.version = host, index, name, version
        self.explains = explains

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        return self.host.call(self.index, "detect", list(items))  # type: ignore[no-any-return]

    def explain_later(self, requests: Sequence[EvidenceRequest]) -> list[list[dict[str, Any]]]:
        if not self.explains:
            raise NotImplementedError(f"detector {self.name!r} gives no deferred evidence")
        return self.host.call(self.index, "explain", list(requests))  # type: ignore[no-any-return]

