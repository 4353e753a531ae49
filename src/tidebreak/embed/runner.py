"""Run a BERT-style ONNX graph over tokenised texts on the CPU, rows back in input order.

Two ways, chosen by the graph itself (ONNX metadata `tidebreak.run`, written at export):

- `per_text` (int8 graphs with dynamic activation quantisation, `training/export_encoder.py`):
  each text runs alone, so its activations are quantised on its own range and its result never
  depends on what else was scored with it. One single-threaded session per core, texts dealt out
  longest first; no padding is ever computed. On 2 cores this is ~2x the batched fp32 speed.
- otherwise (fp32 or weight-only graphs): length-sorted batches, each padded to its own longest
  text, on one session with all cores.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tidebreak.embed.int8 import session_source

RUN_KEY = "tidebreak.run"
PER_TEXT = "per_text"


def cpu_session(model_path: str | Path, threads: int):  # type: ignore[no-untyped-def]
    """An onnxruntime CPU session set up the way every tidebreak model runs: intra-op threads
    only, sequential execution, all graph optimisations, quiet logs, and int8 products summed
    exactly on every CPU (`tidebreak.embed.int8`)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(session_source(model_path), sess_options=so,
                                providers=["CPUExecutionProvider"])


class GraphRunner:
    """Feeds `input_ids` / `attention_mask` / `token_type_ids` to a graph; `run(encodings)`
    returns its first output, one row per encoding (a `tokenizers.Encoding`)."""

    def __init__(self, model_path: str | Path, threads: int, pad_id: int = 0) -> None:
        self.threads = max(1, int(threads))
        self.pad_id = pad_id
        first = cpu_session(model_path, 1)
        meta = first.get_modelmeta().custom_metadata_map or {}
        self.per_text = meta.get(RUN_KEY) == PER_TEXT
        self._inputs = {i.name for i in first.get_inputs()}
        if self.per_text:
            self._sessions = [first] + [cpu_session(model_path, 1) for _ in range(self.threads - 1)]
            self._pool: ThreadPoolExecutor | None = (
                ThreadPoolExecutor(self.threads, thread_name_prefix="tidebreak-ort")
                if self.threads > 1 else None
            )
        else:
            self._sessions = [cpu_session(model_path, self.threads)] if self.threads > 1 else [first]
            self._pool = None
        self._lock = threading.Lock()  # one run() at a time owns the per-core sessions

    @property
    def mode(self) -> str:
        return PER_TEXT if self.per_text else "batched"

    def _feed(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> dict[str, Any]:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {k: v for k, v in feed.items() if k in self._inputs}

    def run(self, encs: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        n = len(encs)
        if n == 0:
            raise ValueError("run() needs at least one encoding")
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=n)
        if self.per_text:
            return self._run_per_text(encs, lengths)
        return self._run_batched(encs, lengths, max(1, int(batch_size)))

    def _run_per_text(self, encs: Sequence[Any], lengths: np.ndarray) -> np.ndarray:
        order = np.argsort(-lengths, kind="stable").tolist()
        k = len(self._sessions)
        # Each session takes the next text, longest first, when it is free (not a fixed share):
        # on a busy machine one core is often taken by other work, and a fixed half would leave
        # the batch waiting on it. A text's result does not depend on which session runs it.
        queue = iter(order)
        rows: list[np.ndarray | None] = [None] * len(encs)

        def work(part: int) -> None:
            sess = self._sessions[part]
            for j in queue:  # next() on a shared iterator: each text is taken exactly once
                e = encs[j]
                ids = np.asarray([e.ids], dtype=np.int64)
                if ids.shape[1] == 0:
                    ids = np.asarray([[self.pad_id]], dtype=np.int64)
                    mask = np.zeros_like(ids)
                else:
                    mask = np.ones_like(ids)
                types = np.zeros_like(ids)
                rows[j] = sess.run(None, self._feed(ids, mask, types))[0][0]

        with self._lock:
            if self._pool is None or len(encs) < 2:
                for part in range(k):
                    work(part)
            else:
                for f in [self._pool.submit(work, p) for p in range(k)]:
                    f.result()
        return np.stack(rows).astype(np.float32, copy=False)  # type: ignore[arg-type]

    def _run_batched(self, encs: Sequence[Any], lengths: np.ndarray, batch_size: int) -> np.ndarray:
        out: np.ndarray | None = None
        order = np.argsort(lengths, kind="stable")
        sess = self._sessions[0]
        for start in range(0, len(encs), batch_size):
            idx = order[start : start + batch_size]
            width = max(1, int(lengths[idx].max()))
            ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                e = encs[j]
                m = len(e.ids)
                ids[row, :m] = e.ids
                mask[row, :m] = e.attention_mask
                types[row, :m] = e.type_ids
            z = sess.run(None, self._feed(ids, mask, types))[0]
            if out is None:
                out = np.empty((len(encs),) + z.shape[1:], dtype=np.float32)
            out[idx] = z
        assert out is not None
        return out
