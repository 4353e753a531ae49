"""Recording in a process of its own (TIDEBREAK_RECORD_IN=process; `auto`, the default, for
`tidebreak serve` on 2 or more CPUs).

An API server decides a batch in two halves: `Pipeline.prepare` (duplicates, the subject, the
detectors) and `Pipeline.record` (policy, enforcement, the rows of one transaction). In one
process both halves share one interpreter lock, and with 32 clients it is about 80% busy:
the detectors' Python, HTTP, and recording (a third of a request's CPU) queue behind each
other. Here `record` runs in a spawned child holding a pipeline without detectors per tenant,
built from the same settings and store (so the same policy, enforcers and adjusters): the
parent sends each prepared batch with its tenant over a pipe and gets its results back, with
the stage timings the child measured (replayed into this process's /metrics). One child serves
every tenant of the store (about 2 of a request's 8 core-ms on 2 cores are recording).

The child records with the code any pipeline records with, in one transaction per batch, so
exactly-once and the ledger hold as they do in-process. A decision names the model versions
the parent's detectors had when they ran (`Prepared.model_versions`). If the child dies (it is
killed, or runs out of memory), the batch it held fails as a 503 (its transaction did not
commit, or committed and a retry returns that decision) and the next batch starts a new child.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass
from typing import Any

from tidebreak import metrics
from tidebreak.config import Settings
from tidebreak.child_process import SpawnedChild, requests
from tidebreak.errors import Unavailable
from tidebreak.pipeline import Outcome, PipelineError, Prepared


class RecorderUnavailable(Unavailable):
    """The recorder process died or could not start; the batch was not answered."""


@dataclass(frozen=True)
class _Spec:
    settings: Settings
    database_url: str


def _serve(conn: Any, spec: _Spec) -> None:
    """The child: record each (tenant, prepared batch) it is sent, with a pipeline without
    detectors per tenant, built when the tenant's first batch arrives."""
    import dataclasses

    from tidebreak.pipeline import Pipeline
    from tidebreak.runtime import build_pipeline
    from tidebreak.store.db import make_engine

    settings = dataclasses.replace(spec.settings, record_in="thread")
    try:
        # the parent opened (and migrated) the store before starting us: connecting is enough
        engine = make_engine(spec.database_url)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", None))
    pipelines: dict[str, Pipeline] = {}
    for tenant, prepared in requests(conn):
        try:
            if tenant not in pipelines:
                pipelines[tenant] = build_pipeline(engine, settings, tenant=tenant,
                                                   detector_names=[])
                # what is loaded now lives as long as the process: keep it out of the
                # collector's full passes (as the API process does)
                gc.freeze()
            with metrics.relayed() as samples:
                results = pipelines[tenant].record(prepared)
            conn.send(("ok", results, samples))
        except Exception as e:  # noqa: BLE001 - the batch's callers get it
            conn.send(("error", _portable(e), []))


def _portable(e: Exception) -> Exception:
    """`e` if it survives a pipe, else a RuntimeError naming it (a driver's error may hold a
    connection or a statement that cannot be pickled)."""
    import pickle

    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001
        return RuntimeError(f"recording failed: {type(e).__name__}: {e}")


class _Child(SpawnedChild):
    def __init__(self, spec: _Spec) -> None:
        super().__init__(_serve, (spec,), name="tidebreak-recorder")
        try:
            self.wait_ready("recorder process", RecorderUnavailable)
        except RecorderUnavailable:
            self.close()
            raise

    def record(self, tenant: str, prepared: Prepared) -> list[Outcome | PipelineError]:
        try:
            self.conn.send((tenant, prepared))
            reply = self.conn.recv()
        except (EOFError, OSError):
            raise RecorderUnavailable("the recorder process died while recording a batch; "
                                      "retry it (an event it recorded returns its decision)"
                                      ) from None
        status, result, samples = reply
        metrics.replay(samples)
        if status != "ok":
            raise result
        return result  # type: ignore[no-any-return]


class RecorderProcess:
    """Records prepared batches in a child process (a `tidebreak.pipeline.Recorder`), one
    batch at a time, for every tenant of one store (`shared`: one process, not one per
    tenant); a dead child is replaced at the next batch."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self._spec = _Spec(settings, database_url)
        self._lock = threading.Lock()  # one batch in the pipe at a time, in order
        self._child: _Child | None = _Child(self._spec)

    @classmethod
    def shared(cls, settings: Settings, database_url: str) -> RecorderProcess:
        """The recorder process of this store and these settings, started on first use."""
        key = (database_url, repr(settings))
        with _starting:
            if key not in _shared:
                _shared[key] = cls(settings, database_url)
            return _shared[key]

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.proc.pid if child is not None else None

    def record(self, tenant: str, prepared: Prepared) -> list[Outcome | PipelineError]:
        with self._lock:
            if self._child is None:
                self._child = _Child(self._spec)
            try:
                return self._child.record(tenant, prepared)
            except RecorderUnavailable:
                self._child.close()
                self._child = None
                raise

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.close()
                self._child = None


_shared: dict[tuple[str, str], RecorderProcess] = {}
_starting = threading.Lock()
