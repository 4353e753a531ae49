"""The voting-claims sets written for tidebreak (training/data/voting_claims/written_*.jsonl) and
their seeded split, shared by the claims model (train_voting.py) and the harm model
(train_harm.py), so a post is in the same split for both and neither trains on the other's
evaluation rows. No torch: the harm model's data loader imports it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kept_apart import drop_near_repeats

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "training" / "data" / "voting_claims"
SEED = 20261206


def hsplit(key: str, cuts: tuple[int, int]) -> str:
    h = int(hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < cuts[0] else "dev" if h < cuts[1] else "test"


def load_claims(last: str | None = None) -> list[dict]:
    """Every written set, or those up to and including `last` (a file stem, in name order: a
    model trained before a set was written names the last set it read, so a rerun reads the
    same ones)."""
    rows = []
    for path in sorted(CLAIMS.glob("written_*.jsonl")):
        if last is not None and path.stem > last:
            continue
        for line in path.open(encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                # a triplet (a lie, the true statement on the same point, a refutation) stays in
                # one split, so no split holds a near-twin of another's post
                key = r["text"] if r.get("triplet") is None else f"{path.stem}:{r['triplet']}"
                rows.append({"text": r["text"].strip(), "label": r["label"], "lang": r["lang"],
                             "source": path.stem, "split": hsplit(key, (70, 85))})
    return drop_near_repeats(rows, "claims")
