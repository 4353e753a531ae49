"""Voting-procedure misinformation that matches no fact-check yet ("voting").

Claims about when, where, how or who may vote: wrong dates ("Democrats vote Wednesday"), methods
that do not exist ("vote by text"), closed or moved polling places, invented eligibility rules
("non-citizens get ballots automatically", "unpaid tickets bar you"), ballot-spoiling tricks and
intimidation at the polls. The fact-check detector catches the known wordings; this one catches
new wordings of the same few falsehoods.

Two stages:

1. Keyword gate (`GATE`): the text must mention voting procedure at all (vote, ballot, poll,
   election, precinct, registration, absentee, mail-in, caucus, ...). A text that does not
   scores nothing, without touching the encoder. The gate is there because the head was trained
   on ~190 sentences that are nearly all about elections: on text about anything else its
   output is an extrapolation, and a false "voting lie" on a cooking post would be removed at
   0.88. Cost: a voting lie worded with none of those words is missed (recall, not precision).
2. A logistic-regression head (`models/voting/head.npz`, fitted by `training/train_voting.py`
   on our own labelled sentences) over the frozen, shared MiniLM embeddings (`tidebreak.embed`);
   numpy only at run time. The score is its probability.

It emits one "voting_misinformation" signal per gated item whose score is at least `floor`
(0.2), which the default policy reviews from 0.40 and removes from 0.88 (`voting-review`,
`voting-remove`). Evidence: `gate` (the keyword that opened it), `model` (the head's version),
`match`="classifier" so reviewers can tell it from a fact-check match (no fact-check URL).

Counter-speech ("No, you can't vote by text, it's a scam") reads much like the lie it refutes;
as in the fact-check detector, a refutation cue (`detect.factcheck.REFUTATION_CUES`) caps the
score at `refute_cap` (0.6: review at most, never removal) and adds evidence
{"stance": "refutes", "refutation_cue": ...}.
Precision and recall on our test split: models/voting/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tidebreak.detect.base import register
from tidebreak.detect.factcheck import refutation_cue
from tidebreak.embed.encoder import models_root
from tidebreak.model import Item, Signal

CATEGORY = "voting_misinformation"

GATE = re.compile(
    r"\b(vot(e|es|ed|er|ers|ing)|ballots?|polls?|polling|elections?|electoral|precincts?|"
    r"caucus\w*|absentee|mail[- ]in|drop ?box(es)?|(re-?)?regist(er|ered|ration)|"
    r"primar(y|ies)|runoff|turnout)\b",
    re.IGNORECASE,
)


def default_model_dir() -> Path:
    return models_root() / "voting"


def gate(text: str) -> str | None:
    """The first voting keyword in text, else None (see the module docstring)."""
    m = GATE.search(text)
    return m.group(0).lower() if m else None


class VotingHead:
    """sigmoid(x . w + b) over L2-normalised MiniLM embeddings."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        d = Path(model_dir) if model_dir is not None else default_model_dir()
        with np.load(d / "head.npz") as z:
            self.w = z["w"].astype(np.float32)
            self.b = float(z["b"])
        self.meta: dict[str, Any] = json.loads((d / "metadata.json").read_text())
        self.version = str(self.meta.get("version", "0"))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        z = X.astype(np.float32) @ self.w + self.b
        return 1.0 / (1.0 + np.exp(-np.clip(z.astype(np.float64), -40.0, 40.0)))


@register("voting")
class VotingDetector:
    name = "voting"

    def __init__(self, model_dir: str | Path | None = None, *, encoder: Any = None,
                 floor: float = 0.2, refute_cap: float = 0.6) -> None:
        self.head = VotingHead(model_dir)
        self._encoder = encoder
        self.floor = float(floor)
        self.refute_cap = float(refute_cap)
        self.version = f"voting-{self.head.version}"

    @property
    def encoder(self) -> Any:
        if self._encoder is None:  # loaded on first use: gated-out batches never need it
            from tidebreak.embed import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    def scores(self, texts: Sequence[str]) -> list[tuple[float, str | None]]:
        """(probability, gate keyword) per text; 0.0 and None where the gate is closed."""
        keys = [gate(t) for t in texts]
        out: list[tuple[float, str | None]] = [(0.0, k) for k in keys]
        open_ = [i for i, k in enumerate(keys) if k is not None]
        if open_:
            probs = self.head(self.encoder.encode([texts[i] for i in open_]))
            for i, p in zip(open_, probs):
                out[i] = (float(p), keys[i])
        return out

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        res: list[list[Signal]] = []
        for it, (p, key) in zip(items, self.scores([it.content.text for it in items])):
            if key is None or p < self.floor:
                res.append([])
                continue
            evidence: dict[str, Any] = {"gate": key, "model": self.version, "match": "classifier"}
            cue = refutation_cue(it.content.text, "")
            if cue is not None:
                evidence.update(stance="refutes", refutation_cue=cue)
                p = min(p, self.refute_cap)
            res.append([Signal(self.name, CATEGORY, p, evidence, self.version)])
        return res
