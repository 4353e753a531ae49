"""The voting-claims sets written for tidebreak (training/data/voting_claims/written_*.jsonl) and
their seeded split, shared by the claims model (train_voting.py) and the harm model
(train_harm.py), so a post is in the same split for both and neither trains on the other's
evaluation rows. No torch: the harm model's data loader imports it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kept_apart import KEPT_APART, KeptApart, drop_near_repeats

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "training" / "data" / "voting_claims"
DEV_DIR = ROOT / "training" / "data" / "election_dev"
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


# The election dev sets' labels as claim types: a benign civic post's subtype says whether it
# gives procedural information (when, where, how or who may vote) or is civic talk.
DEV_LABEL = {"voting_lie": "false_procedure", "counter_message": "counter_message",
             "election_threat": "election_threat"}
DEV_PROCEDURE = frozenset({
    "registration", "polling_hours", "early_voting", "mail_ballot", "id_rules",
    "provisional_ballot", "drop_box", "drop_box_news", "drop_box_relocation", "accessibility",
    "accessibility_help", "procedure_tip", "logistics", "local_logistics",
    "international_procedure", "mail_ballot_deadline", "mail_ballot_tip", "polling_place_change",
    "deadline_reminder", "ballot_curing", "same_day_registration"})


def dev_label(row: dict) -> str:
    """The claim type of an election dev set's post (`label`, and `subtype` for benign ones)."""
    if row["label"] == "benign_civic":
        return "accurate_procedure" if row.get("subtype") in DEV_PROCEDURE else "civic"
    return DEV_LABEL[row["label"]]


def load_dev_sets(stems: tuple[str, ...]) -> list[dict]:
    """The election dev sets named by `stems` (training/data/election_dev) as claims rows, all
    in the train split: each was written by another hand in the held-out set's format, so they
    add writers' styles the written sets lack. Filtered against the posts still kept apart (the
    held-out set, the dev sets not named, the election probe), not against themselves."""
    if not stems:
        return []
    from tidebreak.text.language import detect_language

    rows = []
    for stem in stems:
        for line in (DEV_DIR / f"{stem}.jsonl").open(encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                # a few posts are in Spanish; the written sets mark theirs as "es"
                guess = detect_language(r["text"])
                lang = "es" if guess.reliable and guess.code == "es" else "en"
                rows.append({"text": r["text"].strip(), "label": dev_label(r), "lang": lang,
                             "source": stem, "split": "train"})
    apart = KeptApart([p for p in KEPT_APART if p.stem not in stems])
    return drop_near_repeats(rows, "election dev sets", apart)
