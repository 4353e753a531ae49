"""Which words drove a classifier's score: leave-one-word-out occlusion.

For a flagged text, each word (a run of non-space characters) is removed in turn and the text is
scored again; a word's weight is how far the category's probability falls without it. The words
with the largest drops, merged where adjacent, are the evidence a reviewer sees ("spans"), with
character offsets into the text the model read (the normalised text).

Occlusion needs one extra model pass per word, so it runs only for texts over a threshold and only
over the first `max_words` words (the model reads no further than its token limit anyway). All
variants of all texts go to the scorer in one call, which the per-text runner spreads over cores.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

WORD = re.compile(r"\S+")

# texts -> probabilities (n, n_categories)
Scorer = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    start: int
    end: int
    weight: float  # log-odds the category loses when these words are removed (max over words)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Request:
    text: str
    category: int  # column of the scorer's output
    base: float  # the text's own probability for that column


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _words(text: str, max_words: int) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD.finditer(text)][:max_words]


def explain(
    score: Scorer,
    requests: Sequence[Request],
    *,
    max_words: int = 40,
    top_k: int = 3,
    min_drop: float = 0.3,
) -> list[list[Span]]:
    """Spans per request, strongest first. Drops are measured in log-odds, not probability: near
    p = 0.99 the sigmoid is flat and every word would look unimportant. A text of one word, or
    whose words each move the log-odds by less than `min_drop`, gets no spans (its score rests on
    no single word)."""
    variants: list[str] = []
    owners: list[tuple[int, int, int]] = []  # (request index, start, end)
    for r_i, req in enumerate(requests):
        words = _words(req.text, max_words)
        if len(words) < 2:
            continue
        for s, e in words:
            variants.append((req.text[:s] + req.text[e:]).strip())
            owners.append((r_i, s, e))
    out: list[list[tuple[int, int, float]]] = [[] for _ in requests]
    if variants:
        probs = score(variants)
        for (r_i, s, e), row in zip(owners, probs):
            req = requests[r_i]
            drop = _logit(req.base) - _logit(float(row[req.category]))
            if drop >= min_drop:
                out[r_i].append((s, e, drop))
    return [_spans(req.text, found, top_k) for req, found in zip(requests, out)]


def _spans(text: str, found: list[tuple[int, int, float]], top_k: int) -> list[Span]:
    best = sorted(found, key=lambda f: -f[2])[:top_k]
    best.sort()
    merged: list[list[float]] = []
    for s, e, w in best:
        # adjacent strong words read better as one phrase ("should be" + "exterminated")
        if merged and text[int(merged[-1][1]) : s].isspace():
            merged[-1][1] = e
            merged[-1][2] = max(merged[-1][2], w)
        else:
            merged.append([s, e, w])
    spans = [Span(text[int(s) : int(e)], int(s), int(e), round(float(w), 4)) for s, e, w in merged]
    return sorted(spans, key=lambda sp: -sp.weight)
