"""Static token embeddings distilled from the shared MiniLM encoder: the fact-check gate's cheap
first stage.

`models/factcheck/static.npz` holds one vector per WordPiece of `models/minilm/tokenizer.json`:
each piece encoded alone ("[CLS] piece [SEP]") by the int8 MiniLM graph (`tidebreak.embed`),
the 384-d outputs centred and reduced by PCA, each row multiplied by a Zipf/SIF weight (pieces
early in the vocabulary, i.e. frequent ones, count less: w = sif / (sif + p(rank)), as model2vec
distils), stored as int8 with one float scale per row. `training/build_factcheck_gate.py`
rebuilds it deterministically and writes `static.json` (how it was built, and the gate's
thresholds chosen on CLEF 2020 train+dev).

The gate (`tidebreak.factcheck.index.ClaimIndex.gate_scores`) uses these vectors twice: the
best static cosine of a post to any claim, and the fusion model's probability when static
cosines stand in for the transformer's.

A text's static vector: the sum of its pieces' rows (special tokens and `[UNK]` have zero
rows), L2-normalised; a text with no pieces gets the zero vector (cosine 0 with everything).
Texts are tokenised with the encoder's own tokenizer, without its 128-token truncation (the
same character clip as the encoder for very long inputs). One sparse (texts x vocabulary)
product per batch: ~10-20 microseconds per post, against ~3 ms for the transformer.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import sparse

STATIC_FILE = "static.npz"
META_FILE = "static.json"
MAX_CHARS = 6144  # as the encoder's clip at its default max_length (128 * 48)


def default_static_dir() -> Path:
    from tidebreak.embed import models_root

    return models_root() / "factcheck"


@dataclass(frozen=True, slots=True)
class GateThresholds:
    """The gate opens the transformer for a post when its best static cosine to any claim (or
    headline) is >= `cosine`, or the fusion model, given static cosines in place of the
    transformer's, gives one of its candidates a probability >= `probability`, or (when set)
    its best BM25 score over the claims, divided by the collection's largest idf, is >= `bm25`.
    """

    cosine: float
    probability: float = 2.0  # > 1: off
    bm25: float | None = None  # None: BM25 alone does not open the gate
    # the match probability the thresholds keep: a caller that ignores matches under a lower
    # score does not get the gate
    floor: float = 0.35

    @classmethod
    def from_json(cls, d: Mapping[str, Any], floor: float = 0.35) -> "GateThresholds":
        b = d.get("bm25")
        p = d.get("probability")
        return cls(float(d["cosine"]), 2.0 if p is None else float(p),
                   None if b is None else float(b), float(floor))


class StaticEmbedder:
    """Sum-of-pieces sentence vectors from the distilled static table."""

    def __init__(self, directory: str | Path | None = None) -> None:
        from tokenizers import Tokenizer

        from tidebreak.embed.encoder import TOKENIZER_FILE, default_model_dir

        d = Path(directory) if directory is not None else default_static_dir()
        path = d / STATIC_FILE
        meta_path = d / META_FILE
        if not path.is_file() or not meta_path.is_file():
            raise FileNotFoundError(
                f"static embeddings missing: {path} (run training/build_factcheck_gate.py)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        z = np.load(path)
        q = z["q"].astype(np.float32)
        scale = z["scale"].astype(np.float32)
        self.table = np.ascontiguousarray(q * scale[:, np.newaxis])  # (vocab, dim) float32
        self.dim = int(self.table.shape[1])
        self.sha256 = str(self.meta.get("sha256", ""))
        gate = self.meta["gate"]
        self.thresholds = GateThresholds.from_json(gate["thresholds"], gate.get("floor", 0.35))
        tok_dir = self.meta.get("tokenizer_dir")
        tok_path = (default_model_dir() if not tok_dir else Path(tok_dir)) / TOKENIZER_FILE
        tok = Tokenizer.from_file(str(tok_path))
        tok.no_padding()
        tok.no_truncation()
        if tok.get_vocab_size() != self.table.shape[0]:
            raise ValueError(f"{path}: {self.table.shape[0]} rows for a vocabulary of "
                             f"{tok.get_vocab_size()}; rebuild it")
        self._tok = tok

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised (zero rows for texts without pieces)."""
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        prepared = [(t or "")[:MAX_CHARS] for t in texts]
        # ids only (no offsets: the fast variant); each `.ids` builds a list, so read it once
        pieces = [e.ids for e in self._tok.encode_batch_fast(prepared, add_special_tokens=False)]
        lens = np.fromiter(map(len, pieces), np.int64, count=n)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=indptr[1:])
        ids = np.fromiter(itertools.chain.from_iterable(pieces), np.int64, count=int(indptr[-1]))
        M = sparse.csr_matrix((np.ones(len(ids), np.float32), ids, indptr),
                              shape=(n, self.table.shape[0]))
        V = np.asarray(M @ self.table, dtype=np.float32)
        norm = np.linalg.norm(V, axis=1, keepdims=True)
        np.divide(V, norm, out=V, where=norm > 0)
        V[norm[:, 0] == 0] = 0.0
        return V


_CACHE: dict[str, StaticEmbedder] = {}
_LOCK = threading.Lock()


def get_static(directory: str | Path | None = None) -> StaticEmbedder:
    """A cached, process-wide static embedder (one per directory)."""
    d = Path(directory) if directory is not None else default_static_dir()
    key = str(d.resolve())
    emb = _CACHE.get(key)
    if emb is None:
        with _LOCK:
            emb = _CACHE.get(key)
            if emb is None:
                emb = StaticEmbedder(d)
                _CACHE[key] = emb
    return emb
