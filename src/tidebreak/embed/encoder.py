"""ONNX sentence encoder: tokenizers + onnxruntime, no torch.

The graph (built by `training/export_encoder.py`) takes `input_ids`, `attention_mask` and
`token_type_ids` of shape [batch, seq] and returns mean-pooled, L2-normalised embeddings
[batch, 384]. This module only tokenises, batches and runs it:

- `tidebreak.embed.runner.GraphRunner` runs the graph: one text at a time on one session per
  core for dynamically quantised graphs (a text's embedding never depends on its batch-mates),
  else length-sorted batches each padded to its own longest text; results in input order;
- text longer than `max_length` tokens (default 128, counting [CLS] and [SEP]) is truncated and
  reported as such by `encode_with_info`;
- very large inputs are clipped by characters before tokenising (after collapsing whitespace,
  which does not change BERT's tokens), so a 1 MB post costs no more than a long one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tidebreak.embed.runner import GraphRunner, cpu_session  # noqa: F401  (re-exported)

DIM = 384
MODEL_SUBDIR = "minilm"
MODEL_FILE = "encoder.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MAX_SUPPORTED_LENGTH = 512  # BERT position embeddings


def models_root() -> Path:
    """Where trained artefacts live: `$TIDEBREAK_MODELS_DIR`, else the checkout's `models/`
    (src/tidebreak/../../models), else a `models/` directory bundled inside the package."""
    env = os.environ.get("TIDEBREAK_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    pkg = Path(__file__).resolve().parents[1]  # .../tidebreak
    for cand in (pkg.parents[1] / "models", pkg / "models"):
        if cand.is_dir():
            return cand
    return pkg.parents[1] / "models"


def default_model_dir() -> Path:
    return models_root() / MODEL_SUBDIR


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Encoding:
    """Embeddings plus what happened to each text on the way in."""

    vectors: np.ndarray  # (n, DIM) float32, L2-normalised
    truncated: np.ndarray  # (n,) bool: the text was longer than max_length tokens
    n_tokens: np.ndarray  # (n,) int: tokens actually fed to the model (incl. [CLS]/[SEP])


class Encoder:
    """Embed texts with the bundled ONNX MiniLM.

    `threads` defaults to `$TIDEBREAK_ORT_THREADS` or the CPUs this process may use. Instances are
    safe to share between threads (onnxruntime sessions and tokenizers are thread-safe for
    inference).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        max_length: int = 128,
        threads: int | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        if not 2 < max_length <= MAX_SUPPORTED_LENGTH:
            raise ValueError(f"max_length must be in 3..{MAX_SUPPORTED_LENGTH}, got {max_length}")
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        model_path = self.model_dir / MODEL_FILE
        tok_path = self.model_dir / TOKENIZER_FILE
        for p in (model_path, tok_path):
            if not p.is_file():
                raise FileNotFoundError(
                    f"encoder artefact missing: {p} (set TIDEBREAK_MODELS_DIR or run "
                    "training/export_encoder.py)"
                )
        self.max_length = max_length
        # Characters kept before tokenising: far more than max_length tokens can ever need
        # (WordPiece tokens are rarely longer than ~10 characters).
        self.max_chars = max(4096, max_length * 48)

        tok = Tokenizer.from_file(str(tok_path))
        tok.no_padding()
        tok.enable_truncation(max_length=max_length)
        self._tok = tok
        self._pad_id = tok.token_to_id("[PAD]") or 0

        if threads is None:
            env = os.environ.get("TIDEBREAK_ORT_THREADS")
            threads = int(env) if env else _cpu_count()
        self.threads = max(1, threads)
        self._runner = GraphRunner(model_path, self.threads, self._pad_id)
        self.dim = DIM

    # -- public API -------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(n, 384) float32, L2-normalised; row i belongs to texts[i]."""
        return self.encode_with_info(texts, batch_size=batch_size).vectors

    def encode_with_info(self, texts: Sequence[str], batch_size: int = 64) -> Encoding:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single str")
        n = len(texts)
        if n == 0:
            return Encoding(
                np.zeros((0, DIM), np.float32), np.zeros(0, bool), np.zeros(0, np.int64)
            )
        batch_size = max(1, int(batch_size))
        prepared, clipped = zip(*(self._prepare(t) for t in texts))
        if self._runner.per_text:
            # A text's embedding does not depend on its batch-mates here, so repeats (reposts,
            # copy-paste campaigns, empty texts) are tokenised and run once.
            first: dict[str, int] = {}
            where = np.fromiter((first.setdefault(p, len(first)) for p in prepared),
                                dtype=np.int64, count=n)
            if len(first) < n:
                info = self._encode_prepared(list(first), [False] * len(first), batch_size)
                return Encoding(info.vectors[where], np.asarray(clipped, bool) | info.truncated[where],
                                info.n_tokens[where])
        return self._encode_prepared(list(prepared), list(clipped), batch_size)

    def _encode_prepared(self, prepared: list[str], clipped: list[bool],
                         batch_size: int) -> Encoding:
        n = len(prepared)
        encs = self._tok.encode_batch(prepared, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=n)
        truncated = np.fromiter(
            (c or bool(e.overflowing) for c, e in zip(clipped, encs)), dtype=bool, count=n
        )
        out = self._runner.run(encs, batch_size)
        return Encoding(out, truncated, lengths)

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity matrix (len(a), len(b))."""
        return self.encode(a) @ self.encode(b).T

    # -- internals --------------------------------------------------------------------------

    def _prepare(self, text: str) -> tuple[str, bool]:
        if text is None:
            return "", False
        if not isinstance(text, str):
            text = str(text)
        if len(text) <= self.max_chars:
            return text, False
        squeezed = " ".join(text.split())
        if len(squeezed) <= self.max_chars:
            return squeezed, False
        return squeezed[: self.max_chars], True


_DEFAULT: dict[tuple[str, int], Encoder] = {}
_LOCK = threading.Lock()


def get_encoder(model_dir: str | Path | None = None, *, max_length: int = 128) -> Encoder:
    """A cached, process-wide encoder (one per model directory and max_length)."""
    path = Path(model_dir) if model_dir is not None else default_model_dir()
    key = (str(path.resolve()), max_length)
    enc = _DEFAULT.get(key)
    if enc is None:
        with _LOCK:
            enc = _DEFAULT.get(key)
            if enc is None:
                enc = Encoder(path, max_length=max_length)
                _DEFAULT[key] = enc
    return enc
