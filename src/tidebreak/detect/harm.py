"""Harm classifier: hate, violence, harassment.

Model: `models/harm/` (see its README.md model card). Two formats, told apart by
`metadata.json`'s `format`:

- `onnx-finetuned` (harm-v0.2, built by `training/finetune_harm.py`): MiniLM fine-tuned end to end,
  encoder + 3-logit head in ONE ONNX graph (`harm.int8.onnx`, weight-only int8, so a text's score
  does not depend on its batch-mates) with its own `tokenizer.json` (the first `model.max_length` tokens of metadata.json);
- v0 (built by `training/train_harm.py`): the frozen shared encoder `models/minilm` plus one small
  numpy head per category (`head.npz`).

Either way each logit goes through Platt calibration `p = sigmoid(a * logit + b)` fitted on the
dev split, so scores are probabilities, and `thresholds.json` holds each category's operating
threshold (F1-best on dev); policies may use their own cut-offs on the scores.

Every item gets one signal per category, low scores included, so policies and backtests see the
whole distribution. Evidence: `threshold`, `over_threshold`, `truncated` (the text was longer
than the model's token limit and only its start was read), `language`. Empty or whitespace-only
text scores 0 everywhere without touching the model.

Spans (`explain`): the words that drove each over-threshold score (leave-one-word-out
occlusion, `tidebreak.detect.occlusion`), one extra model pass per word. `"inline"` (the
constructor's default) puts them in the signal's evidence (`spans`, `spans_of`) at once;
`"deferred"` (what `runtime.build_pipeline` uses) marks the evidence `spans_pending: true` with
the text's digest and computes them later, for what a person will look at, through
`explain_later` (`tidebreak.evidence`); False computes none.

Language (`tidebreak.text.language`): the model covers the languages in its metadata's
`languages` (["en"] when absent). An item reliably identified as another language is NOT scored
as if it were English: instead of the harm signals it gets ONE signal of category
`language_not_covered` (score: the identifier's confidence; evidence `language`,
`language_confidence`, `not_covered`: true), which the policy routes (the default policy: human
review). Short, undetermined or mostly non-letter text counts as covered and is scored.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tidebreak import metrics
from tidebreak.detect.base import (SPANS_PENDING, TEXT_DIGEST, EvidenceRequest,
                                   text_digest, warm_up_item)
from tidebreak.embed.encoder import Encoder, _cpu_count, get_encoder, models_root
from tidebreak.embed.runner import GraphRunner
from tidebreak.model import Item, Signal
from tidebreak.text.language import (DEFAULT_COVERED, UNDETERMINED_GUESS, LanguageGuess,
                                     detect_language)

CATEGORIES = ("hate", "violence", "harassment")
NOT_COVERED = "language_not_covered"  # signal category of text in a language the model lacks
EXPLAIN_MODES = ("inline", "deferred")


def explain_mode(value: bool | str | None) -> str | None:
    """"inline", "deferred" or None (no spans) from a constructor argument or setting."""
    if value is True:
        return "inline"
    if value is False or value is None:
        return None
    v = str(value).strip().lower()
    if v in EXPLAIN_MODES:
        return v
    if v in ("off", "none", "false", "0", ""):
        return None
    raise ValueError(f"harm explain mode must be inline, deferred or off, got {value!r}")


def default_model_dir() -> Path:
    return models_root() / "harm"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class _Head:
    __slots__ = ("layers", "a", "b")

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], a: float, b: float) -> None:
        self.layers, self.a, self.b = layers, a, b

    def __call__(self, X: np.ndarray) -> np.ndarray:
        h = X
        last = len(self.layers) - 1
        for i, (W, b) in enumerate(self.layers):
            h = h @ W + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return _sigmoid(self.a * h[:, 0].astype(np.float64) + self.b)


class _LogitModel:
    """The fine-tuned graph: tokenise, run (`GraphRunner`: per text or in length-sorted batches,
    as the graph asks), `logits` [n, n_categories] in input order."""

    def __init__(self, model_path: Path, tokenizer_path: Path, max_length: int) -> None:
        import os

        from tokenizers import Tokenizer

        for p in (model_path, tokenizer_path):
            if not p.is_file():
                raise FileNotFoundError(f"harm model artefact missing: {p}")
        self.max_length = max_length
        self.max_chars = max(4096, max_length * 48)
        tok = Tokenizer.from_file(str(tokenizer_path))
        tok.no_padding()
        tok.enable_truncation(max_length=max_length)
        self._tok = tok
        self._pad_id = tok.token_to_id("[PAD]") or 0
        env = os.environ.get("TIDEBREAK_ORT_THREADS")
        self.threads = max(1, int(env) if env else _cpu_count())
        self._runner = GraphRunner(model_path, self.threads, self._pad_id)

    def _prepare(self, text: str) -> tuple[str, bool]:
        if len(text) <= self.max_chars:
            return text, False
        squeezed = " ".join(text.split())
        if len(squeezed) <= self.max_chars:
            return squeezed, False
        return squeezed[: self.max_chars], True

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        n = len(texts)
        prepared, clipped = zip(*(self._prepare(t) for t in texts))
        encs = self._tok.encode_batch(list(prepared), add_special_tokens=True)
        truncated = np.fromiter(
            (c or bool(e.overflowing) for c, e in zip(clipped, encs)), dtype=bool, count=n
        )
        out = self._runner.run(encs, batch_size)
        return out, truncated


class HarmClassifier:
    """`detect(items)` for the pipeline; `score`/`classify` for plain texts."""

    name = "harm"

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        encoder: Encoder | None = None,
        thresholds: Mapping[str, float] | None = None,
        batch_size: int = 64,
        language_gate: bool = True,
        explain: bool | str = True,
        explain_max_words: int | None = None,
    ) -> None:
        # explain: occlusion spans for over-threshold scores (one extra pass per word): "inline"
        # (or True) in `detect`, "deferred" later through `explain_later`, False none; over the
        # first `explain_max_words` words: by default as many as the model reads (about 0.6
        # words per token: 40 for 64 tokens, 80 for 128).
        self.explain_mode = explain_mode(explain)
        self.explain = self.explain_mode is not None
        self._explain_max_words = explain_max_words
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        meta_path = self.model_dir / "metadata.json"
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"harm model missing: {meta_path} (set TIDEBREAK_MODELS_DIR or run "
                "training/train_harm.py)"
            )
        self.metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.version: str = str(self.metadata.get("version", "0"))
        self.categories: tuple[str, ...] = tuple(self.metadata.get("categories", CATEGORIES))
        thr = json.loads((self.model_dir / "thresholds.json").read_text(encoding="utf-8"))
        if thresholds:
            thr.update({k: float(v) for k, v in thresholds.items()})
        self.thresholds: dict[str, float] = {c: float(thr[c]) for c in self.categories}
        self.normalise_text: bool = bool(self.metadata.get("normalised_training_text", False))
        self.batch_size = batch_size
        # Languages the model was trained on; `language_gate=False` scores every text regardless.
        self.languages: tuple[str, ...] = tuple(self.metadata.get("languages") or DEFAULT_COVERED)
        self.language_gate = language_gate
        self._logit_model: _LogitModel | None = None
        if self.metadata.get("format") == "onnx-finetuned":
            m = self.metadata["model"]
            self._logit_model = _LogitModel(
                self.model_dir / str(m["file"]),
                self.model_dir / str(m.get("tokenizer", "tokenizer.json")),
                int(m.get("max_length", 64)),
            )
            self._platt = np.array(
                [self.metadata["platt"][c] for c in self.categories], dtype=np.float64
            )
            self.encoder = None
            return
        z = np.load(self.model_dir / "head.npz")
        self._heads: dict[str, _Head] = {}
        for c in self.categories:
            n = int(self.metadata["heads"][c]["n_layers"])
            layers = [
                (z[f"{c}__W{i}"].astype(np.float32), z[f"{c}__b{i}"].astype(np.float32))
                for i in range(n)
            ]
            a, b = (float(v) for v in z[f"{c}__platt"])
            self._heads[c] = _Head(layers, a, b)
        enc_meta = self.metadata.get("encoder", {})
        max_length = int(enc_meta.get("max_length", 128))
        if encoder is None:
            enc_dir = models_root() / str(enc_meta.get("dir", "minilm"))
            encoder = get_encoder(enc_dir, max_length=max_length)
        self.encoder = encoder

    @property
    def threads(self) -> int:
        """onnxruntime intra-op threads of whichever model is loaded."""
        if self._logit_model is not None:
            return self._logit_model.threads
        return int(getattr(self.encoder, "threads", 1))

    @property
    def explain_max_words(self) -> int:
        if self._explain_max_words is not None:
            return self._explain_max_words
        return max(40, self.max_length * 5 // 8)

    @property
    def max_length(self) -> int:
        """Tokens read per text (longer text is truncated and flagged)."""
        if self._logit_model is not None:
            return self._logit_model.max_length
        return int(getattr(self.encoder, "max_length", 128))

    # -- scoring ----------------------------------------------------------------------------

    def languages_of(self, texts: Sequence[str]) -> tuple[list[LanguageGuess], list[bool]]:
        """Each text's language guess, and whether the model must NOT score it (not covered)."""
        if not self.language_gate:
            return [UNDETERMINED_GUESS] * len(texts), [False] * len(texts)
        guesses = [detect_language(t, self.languages) for t in texts]
        return guesses, [not g.covered(self.languages) for g in guesses]

    def score(self, texts: Sequence[str],
              skip: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities (n, len(categories)) and the truncated flags (n,), for texts
        already in classifier form (`NormalisedText.text`). Texts whose `skip` is true (language
        not covered) score 0 without touching the model."""
        n = len(texts)
        probs = np.zeros((n, len(self.categories)), dtype=np.float64)
        truncated = np.zeros(n, dtype=bool)
        live = [i for i, t in enumerate(texts)
                if t and not t.isspace() and not (skip is not None and skip[i])]
        if not live:
            return probs, truncated
        if self._logit_model is not None:
            z, trunc = self._logit_model.logits([texts[i] for i in live], self.batch_size)
            probs[live] = _sigmoid(self._platt[:, 0] * z.astype(np.float64) + self._platt[:, 1])
            truncated[live] = trunc
            return probs, truncated
        enc = self.encoder.encode_with_info([texts[i] for i in live], batch_size=self.batch_size)
        for j, c in enumerate(self.categories):
            probs[live, j] = self._heads[c](enc.vectors)
        truncated[live] = enc.truncated
        return probs, truncated

    def _prepare(self, text: str) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self.normalise_text and text:
            from tidebreak.text.normalise import normalise

            return normalise(text).text
        return text

    def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """`{"scores": {category: p}, "labels": [categories over threshold], "language": code,
        "not_covered": false, "truncated": bool}` per raw text. Text in a language the model does not cover is not
        scored: `"not_covered": true` and `language_confidence`, no labels, and every score 0.0
        (the keys stay for callers that read them)."""
        prepared = [self._prepare(t) for t in texts]
        guesses, skip = self.languages_of(prepared)
        probs, truncated = self.score(prepared, skip)
        out = []
        for row, g, away, trunc in zip(probs, guesses, skip, truncated):
            scores = {c: round(float(p), 6) for c, p in zip(self.categories, row)}
            if away:
                out.append({"scores": scores, "labels": [], "language": g.code,
                            "language_confidence": round(g.confidence, 4), "not_covered": True})
                continue
            labels = [c for c in self.categories if scores[c] >= self.thresholds[c]]
            # truncated: only the start of the text was read (the model's token limit)
            out.append({"scores": scores, "labels": labels, "language": g.code,
                        "not_covered": False, "truncated": bool(trunc)})
        return out

    def _not_covered(self, g: LanguageGuess) -> Signal:
        """The one signal of an item the model must not score: its language is not covered."""
        return Signal(detector=self.name, category=NOT_COVERED, score=float(g.confidence),
                      evidence={"language": g.code, "language_confidence": round(g.confidence, 4),
                                "not_covered": True, "covered_languages": list(self.languages)},
                      detector_version=self.version)

    # -- Detector interface -----------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the language identifier and run the model once (both wait for the first post)."""
        self.detect([warm_up_item("warming up the harm model before serving")])

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        texts = [it.norm.text for it in items]
        guesses, skip = self.languages_of(texts)
        probs, truncated = self.score(texts, skip)
        spans: dict[tuple[int, int], list[dict]] = {}
        deferred: set[tuple[int, int]] = set()
        if self.explain_mode == "inline":
            with metrics.stage("evidence"):
                spans = self._spans(texts, probs)
        elif self.explain_mode == "deferred":
            deferred = set(self._explainable(texts, probs))
        result: list[list[Signal]] = []
        for i, (row, trunc) in enumerate(zip(probs, truncated)):
            if skip[i]:  # not scored as if it were English: one routing signal instead
                result.append([self._not_covered(guesses[i])])
                continue
            sigs = []
            for j, (c, p) in enumerate(zip(self.categories, row)):
                thr = self.thresholds[c]
                evidence: dict[str, Any] = {
                    "threshold": thr,
                    "over_threshold": bool(p >= thr),
                    "truncated": bool(trunc),
                    "language": guesses[i].code,
                }
                if (i, j) in spans:
                    evidence["spans"] = spans[(i, j)]
                    evidence["spans_of"] = "normalised text"
                elif (i, j) in deferred:
                    evidence[SPANS_PENDING] = True
                    evidence[TEXT_DIGEST] = text_digest(texts[i])
                sigs.append(
                    Signal(
                        detector=self.name,
                        category=c,
                        score=float(p),
                        evidence=evidence,
                        detector_version=self.version,
                    )
                )
            result.append(sigs)
        return result

    def _spans(self, texts: Sequence[str], probs: np.ndarray) -> dict[tuple[int, int], list[dict]]:
        """Evidence for reviewers: the words that drove each over-threshold score (occlusion),
        keyed by (text index, category index)."""
        from tidebreak.detect.occlusion import Request, explain

        wanted = self._explainable(texts, probs)
        if not wanted:
            return {}
        requests = [Request(texts[i], j, float(probs[i, j])) for i, j in wanted]
        found = explain(lambda ts: self.score(ts)[0], requests, max_words=self.explain_max_words)
        return {key: [sp.as_dict() for sp in f] for key, f in zip(wanted, found)}

    def _explainable(self, texts: Sequence[str], probs: np.ndarray) -> list[tuple[int, int]]:
        """(text index, category index) of every over-threshold score of a non-blank text."""
        return [(i, j) for i, row in enumerate(probs) for j, c in enumerate(self.categories)
                if row[j] >= self.thresholds[c] and texts[i] and not texts[i].isspace()]

    # -- Explainer interface (tidebreak.detect.base) ------------------------------------------

    def explain_later(self, requests: Sequence[EvidenceRequest | tuple[str, str]]
                      ) -> list[list[dict[str, Any]]]:
        """Spans for (normalised text, category) pairs, all in one batched occlusion call: the
        spans `detect` gives inline for the same text (each text is scored again for its own
        probability, which a text's batch-mates do not change). Unknown categories and blank
        texts get none."""
        from tidebreak.detect.occlusion import Request, explain

        if not requests:
            return []
        column = {c: j for j, c in enumerate(self.categories)}
        live = [k for k, (text, cat) in enumerate(requests)
                if cat in column and isinstance(text, str) and text and not text.isspace()]
        out: list[list[dict[str, Any]]] = [[] for _ in requests]
        if not live:
            return out
        texts = list(dict.fromkeys(requests[k][0] for k in live))
        probs, _ = self.score(texts)
        row_of = {t: r for r, t in enumerate(texts)}
        occl = [Request(requests[k][0], column[requests[k][1]],
                        float(probs[row_of[requests[k][0]], column[requests[k][1]]]))
                for k in live]
        found = explain(lambda ts: self.score(ts)[0], occl, max_words=self.explain_max_words)
        for k, spans in zip(live, found):
            out[k] = [sp.as_dict() for sp in spans]
        return out


_DEFAULT: HarmClassifier | None = None
_LOCK = threading.Lock()


def get_classifier() -> HarmClassifier:
    """The process-wide classifier over the bundled model."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = HarmClassifier()
    return _DEFAULT


def classify(texts: Sequence[str]) -> list[dict[str, Any]]:
    """Score raw texts with the default classifier (what `tidebreak classify` prints)."""
    return get_classifier().classify(texts)
