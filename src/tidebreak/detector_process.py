"""Detectors in processes of their own (TIDEBREAK_DETECT_IN=process; `auto`, the default, for
`moderate` and `ingest` on files of 256 KiB or more).

In one process, detection and recording share one interpreter lock: the model passes release
it, but tokenising, feature building and the detectors' Python run under it, as does all of
recording, so a stream on 2 cores uses about 1.5 of them, and detection is the larger part.
Here the detectors live in child processes (spawned, so they share nothing they should not),
one per core by default, each running its models on one thread (several ONNX threads on a
small batch mostly spin): the parent sends each batch's items over a pipe to a free child and
gets the signals back, while it records earlier batches (`pipeline.overlapped` prepares as many
batches ahead as there are children).

Each detector in the parent is a `RemoteDetector` with the real one's name and version, so a
decision names the same model versions; deferred evidence (`explain_later`) is forwarded too.
The child keeps the bank detector in step with the bank table itself (BankSync), and dies with
its parent.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidebreak.child_process import SpawnedChild, requests
from tidebreak.detect.base import EvidenceRequest
from tidebreak.model import Item, Signal


@dataclass(frozen=True)
class _Spec:
    names: tuple[str, ...]
    options: Mapping[str, Mapping[str, object]]


def _serve(conn: Any, spec: _Spec, threads: int) -> None:
    """The child: load the detectors' models, wait for the store (database URL, tenant) the
    parent opens meanwhile, bind them to it, then answer (detector index, method, payload)
    requests."""
    import os

    os.environ["TIDEBREAK_ORT_THREADS"] = str(threads)
    from tidebreak.runtime import bind_detectors, create_detectors
    from tidebreak.store.db import make_engine

    try:
        detectors = create_detectors(spec.names, options=spec.options)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    store = next(requests(conn), None)
    if store is None:  # the parent is gone, or gave up before opening a store
        return
    try:
        database_url, tenant = store
        # the parent opened (and migrated) the store before sending it: connecting is enough
        hooks = bind_detectors(detectors, make_engine(database_url), tenant)
    except Exception as e:  # noqa: BLE001
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", [(d.name, d.version, hasattr(d, "explain_later")) for d in detectors]))
    for index, method, payload in requests(conn):
        try:
            if method == "detect":
                for hook in hooks:
                    hook()
                conn.send(("ok", detectors[index].detect(payload)))
            else:
                conn.send(("ok", detectors[index].explain_later(payload)))  # type: ignore[attr-defined]
        except Exception as e:  # noqa: BLE001
            conn.send(("error", f"{type(e).__name__}: {e}"))


class _Child(SpawnedChild):
    """One detector process and the pipe to it."""

    def __init__(self, spec: _Spec, threads: int) -> None:
        super().__init__(_serve, (spec, threads), name="tidebreak-detectors")

    def open(self, database_url: str, tenant: str) -> None:
        try:
            self.conn.send((database_url, tenant))
        except (OSError, BrokenPipeError):  # it died loading its models: ready() says how
            pass

    def ready(self) -> list[tuple[str, str, bool]]:
        return self.wait_ready("detector process")  # type: ignore[no-any-return]

    def call(self, index: int, method: str, payload: Any) -> Any:
        try:
            self.conn.send((index, method, payload))
            status, result = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise RuntimeError("the detector process died") from None
        if status != "ok":
            raise RuntimeError(f"detector failed in its process: {result}")
        return result


class DetectorProcess:
    """`children` processes hosting the same detectors; a request goes to a free one.

    The children start loading their models at once; `open` gives them the store (which the
    parent may open and migrate meanwhile) and waits until they are ready."""

    def __init__(self, names: Sequence[str], options: Mapping[str, Mapping[str, object]], *,
                 children: int = 1, threads: int = 1) -> None:
        spec = _Spec(tuple(names), dict(options))
        self._children = [_Child(spec, threads) for _ in range(max(1, children))]
        self._free: queue.Queue[_Child] = queue.Queue()
        self.size = len(self._children)
        self.detectors: list[RemoteDetector] = []

    def open(self, database_url: str, tenant: str) -> None:
        """Bind the children's detectors to the store and wait until they are ready."""
        if self.detectors:
            raise RuntimeError("the detector processes are open already")
        for c in self._children:
            c.open(database_url, tenant)
        try:
            infos = [c.ready() for c in self._children]
        except RuntimeError:
            self.close()
            raise
        for c in self._children:
            self._free.put(c)
        self.detectors = [RemoteDetector(self, i, name, version, explains)
                          for i, (name, version, explains) in enumerate(infos[0])]

    def call(self, index: int, method: str, payload: Any) -> Any:
        child = self._free.get()
        try:
            return child.call(index, method, payload)
        finally:
            self._free.put(child)

    def close(self) -> None:
        for c in self._children:
            c.close()


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

