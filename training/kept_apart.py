"""Posts no training row may nearly repeat: the held-out election-season set, the
election dev sets (dev_v2 to dev_v9 and dev_v12) and the harm model's election probe.

A row whose word set overlaps one of their posts by more than 60% (Jaccard) is dropped before
training (`training/train_voting.py` and the scripts that use its loaders); only the count is
printed, never the texts. `tests/test_training_data.py` checks the filter on the real files.

dev_v1 to dev_v7 have been read and are training posts since voting-v1.7, dev_v8 since
voting-v1.8, with dev_v10 and dev_v11, which were written as training posts and never listed
here (`claims_rows.load_dev_sets`, which filters them against the sets here other than
themselves). dev_v2 to dev_v8 stay listed so the written sets are filtered exactly as they were when the
installed models were trained.

dev_v19 and dev_v20 (since voting-v1.10's run) and dev_v25 to dev_v28 (written after it was
trained, 2026-12-07) are the fresh sets the next claims model is chosen on, unread. Listing the
last four after v1.10 was trained means a rebuild of v1.10 leaves out the few rows that nearly
repeat their posts (the written claims: 86 dropped, against 77 when v1.10 was trained).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEPT_APART = (ROOT / "bench" / "data" / "election_season_v1.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v2.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v3.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v4.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v5.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v6.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v7.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v8.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v9.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v12.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v19.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v20.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v25.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v26.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v27.jsonl",
              ROOT / "training" / "data" / "election_dev" / "dev_v28.jsonl",
              ROOT / "training" / "data" / "probe_election.jsonl")
_WORD = re.compile(r"\w+")


def word_set(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


class KeptApart:
    """The word sets of the posts in `paths`, indexed by word, to test a text against."""

    def __init__(self, paths: Sequence[Path] = KEPT_APART, limit: float = 0.6) -> None:
        self.limit = limit
        self.sets: list[frozenset[str]] = []
        for path in paths:
            if path.is_file():
                self.sets += [word_set(json.loads(x)["text"])
                              for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        self.by_word: dict[str, list[int]] = {}
        for i, ws in enumerate(self.sets):
            for w in ws:
                self.by_word.setdefault(w, []).append(i)

    def too_close(self, text: str) -> bool:
        ws = word_set(text)
        near = {i for w in ws for i in self.by_word.get(w, ())}
        return any(len(ws & self.sets[i]) / len(ws | self.sets[i]) > self.limit for i in near)


_default: KeptApart | None = None


def drop_near_repeats(rows: list[dict], what: str, apart: KeptApart | None = None) -> list[dict]:
    """`rows` (dicts with a "text") without those that nearly repeat a post kept apart (of
    `apart`; by default every set in KEPT_APART)."""
    global _default
    if apart is None:
        if _default is None:
            _default = KeptApart()
        apart = _default
    kept = [r for r in rows if not apart.too_close(r["text"])]
    if len(kept) < len(rows):
        print(f"{what}: dropped {len(rows) - len(kept)} rows that nearly repeat a post kept apart")
    return kept
