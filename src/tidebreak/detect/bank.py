"""Known-content banks: match posts against text already actioned (removed hate, debunked claims).

Hasher-Matcher-Actioner for text. Reviewers' removals become `BankEntry`s (the store loads them
at start and calls `add()` for new ones; this module holds no database code), and every incoming
post is matched two ways:

- exact: the SHA-256 of the normalised key (`key_hash`, which the store persists). Normalisation
  already undoes case, spacing, punctuation, homoglyphs, invisible characters, leetspeak and
  spaced-out letters, so most evasive copies land here.
- near: MinHash/LSH over character 5-shingles of the key finds candidates, then the exact
  Jaccard similarity of the shingle sets decides. Character shingles, not words: on a short
  post, editing three words breaks most word shingles but only the character shingles that
  straddle those words.

The default threshold, Jaccard >= 0.5, sits mid-way between the two populations seen on ~30-word
posts (tests/test_bank.py): copies with 2-3 words edited, added or removed score 0.69-0.93,
while different posts on the same topic (a correction quoting the claim, a reminder about how
to vote) score 0.17-0.21 and unrelated posts below 0.15. Matching 6,000 real Gab posts against
10,000 others, the near matches at 0.5 were reposts and templates ("thanks for the follow").
Shorter posts tolerate fewer edits (each edited word costs about word length + 4 shingles).
Keys too short for similarity to mean anything (`near_duplicate_eligible`: under 20 characters
or 5 words, links aside) are matched exactly or not at all, on both the entry and the post side.

The LSH index is banded for the same threshold (23 bands x 3 rows: 95% recall at J = 0.5, 99.6%
at 0.6) and every candidate is verified by exact Jaccard of the shingle-hash sets: LSH can
(rarely, near the threshold) miss a match, never invent one.

Each matched entry gives one signal, with the entry's category (default "known_violating") and
the similarity as its score (1.0 for exact): policies decide what a match in each bank means.

Images (HMA parity): an entry with a `pdq` hash matches an item's image when the Hamming
distance between the entry's hash and any of the image's variants (its 8 dihedral variants,
and edge-extended versions that undo small crops) is at most 31,
both hashes having quality >= 50 (tidebreak.media.pdq). The score is 1 - distance/256 (0.88 at
31, so the same bank rules that remove text copies remove image copies); the evidence names the
entry, the distance and which image of the item matched. The search is tidebreak.media.pdq_index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tidebreak.media.pdq import MATCH_DISTANCE, MIN_QUALITY
from tidebreak.media.pdq_index import PdqIndex
from tidebreak.model import CATEGORIES, Item, NormalisedText, Signal
from tidebreak.text.minhash import (
    LSHIndex,
    MinHasher,
    jaccard,
    near_duplicate_eligible,
    shingle_hashes,
)
from tidebreak.text.normalise import NORMALISE_VERSION, normalise

_IMPL_VERSION = "1"
DEFAULT_THRESHOLD = 0.5
SHINGLE_K = 5
NUM_PERM = 128
SEED = 1

MatchKind = Literal["exact", "near", "pdq"]
# Banked categories whose near copies may be refutations (BankDetector._refutations_capped), and
# the score such a copy is capped at (under the bank detector's own floor of 0.5).
LIE_CATEGORIES = frozenset({"misinformation", "voting_misinformation"})
REFUTE_CAP = 0.3


def key_hash(norm: NormalisedText | str) -> str:
    """Hex SHA-256 of a normalised key: the exact-match fingerprint stored with each entry.
    Only comparable between keys from the same NORMALISE_VERSION."""
    key = norm if isinstance(norm, str) else norm.key
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class BankEntry:
    """One banked text. Keyword-only: its many string fields are too easy to swap by position."""

    entry_id: str
    bank: str  # e.g. "hate", "removed", "debunked"
    key: str  # the normalised key (`normalise(text).key`), not the raw text
    added_by: str  # reviewer or process that banked it, for the audit trail
    category: str = "known_violating"
    source_content_id: str | None = None
    note: str | None = None
    pdq: str | None = None  # an image entry: its PDQ hash (64 hex); `key` is then ""
    pdq_quality: int | None = None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r} for bank entry {self.entry_id}")

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        entry_id: str,
        bank: str,
        added_by: str,
        category: str = "known_violating",
        source_content_id: str | None = None,
        note: str | None = None,
    ) -> BankEntry:
        """Bank a raw text (normalised here, as incoming posts are)."""
        return cls(
            entry_id=entry_id,
            bank=bank,
            key=normalise(text).key,
            added_by=added_by,
            category=category,
            source_content_id=source_content_id,
            note=note,
        )


@dataclass(frozen=True, slots=True)
class BankMatch:
    entry: BankEntry
    match: MatchKind
    similarity: float
    distance: int | None = None  # PDQ matches: Hamming distance
    media_index: int | None = None  # PDQ matches: which image of the item

    def to_signal(self, detector_version: str) -> Signal:
        if self.match == "pdq":
            return Signal(
                detector="bank", category="known_violating", score=self.similarity,
                evidence={"bank": self.entry.bank, "banked_category": self.entry.category,
                          "entry_id": self.entry.entry_id, "match": "pdq",
                          "distance": self.distance, "similarity": round(self.similarity, 4),
                          "media_index": self.media_index,
                          "source_content_id": self.entry.source_content_id},
                detector_version=detector_version)
        return Signal(
            detector="bank",
            # The detector knows one thing: this is a copy of banked content. What the original
            # was (hate, a debunked claim) travels in the evidence, so policies treat a bank
            # similarity as a similarity, never as a classifier's probability of that category.
            category="known_violating",
            score=self.similarity,
            evidence={
                "bank": self.entry.bank,
                "banked_category": self.entry.category,
                "entry_id": self.entry.entry_id,
                "match": self.match,
                "similarity": round(self.similarity, 4),
                "source_content_id": self.entry.source_content_id,
            },
            detector_version=detector_version,
        )


class _Index:
    """The matchable state of a bank, replaced as a whole by `BankDetector.load`."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.entries: dict[str, BankEntry] = {}
        self.by_hash: dict[str, dict[str, None]] = {}  # key hash -> entry ids (ordered set)
        self.shingles: dict[str, np.ndarray] = {}  # near-match eligible entries only
        self.lsh: LSHIndex[str] = LSHIndex(threshold, num_perm)
        self.pdq = PdqIndex(MATCH_DISTANCE)

    def remove(self, entry_id: str) -> bool:
        entry = self.entries.pop(entry_id, None)
        if entry is None:
            return False
        if entry.pdq:
            self.pdq.remove(entry_id)
            return True
        h = key_hash(entry.key)
        ids = self.by_hash[h]
        del ids[entry_id]
        if not ids:
            del self.by_hash[h]
        if self.shingles.pop(entry_id, None) is not None:
            self.lsh.remove(entry_id)
        return True


class BankDetector:
    """In-memory index of bank entries; `detect` implements the Detector protocol.

    Thread-safe: reviewers' removals may `add` while workers `detect`, and `load` swaps in a
    whole new set of entries at once (a matcher never sees a half-loaded bank)."""

    name = "bank"

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        entries: Iterable[BankEntry] = (),
        num_perm: int = NUM_PERM,
        shingle_k: int = SHINGLE_K,
        seed: int = SEED,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        self.threshold = threshold
        # Everything that changes what matches is in the version, so decisions can be traced.
        self.version = (
            f"{_IMPL_VERSION}+norm{NORMALISE_VERSION}+k{shingle_k}p{num_perm}s{seed}t{threshold:g}"
            f"+pdq{MATCH_DISTANCE}"
        )
        self._k = shingle_k
        self._num_perm = num_perm
        self._hasher = MinHasher(num_perm=num_perm, k=shingle_k, seed=seed)
        self._lock = threading.Lock()
        self._index = self._new_index()
        self.add_many(entries)

    def _new_index(self) -> _Index:
        # LSH banded for the verification threshold: 95% recall at exactly the threshold,
        # more above it; the exact Jaccard check then drops the false candidates.
        return _Index(self.threshold, self._num_perm)

    def __len__(self) -> int:
        return len(self._index.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._index.entries

    def get(self, entry_id: str) -> BankEntry | None:
        return self._index.entries.get(entry_id)

    def add(self, entry: BankEntry) -> None:
        """Bank one entry; an entry with the same id is replaced."""
        self.add_many([entry])

    def add_many(self, entries: Iterable[BankEntry]) -> None:
        """Bank many entries (signatures computed in one vectorised pass)."""
        prepared = self._prepare(entries)
        with self._lock:
            self._insert(self._index, *prepared)

    def load(self, entries: Iterable[BankEntry]) -> None:
        """Replace every entry with `entries`, atomically (for reloading from the store)."""
        index = self._new_index()
        self._insert(index, *self._prepare(entries))
        with self._lock:
            self._index = index

    def clear(self) -> None:
        with self._lock:
            self._index = self._new_index()

    def remove(self, entry_id: str) -> bool:
        """Unbank an entry (e.g. a removal overturned on appeal); returns whether it was there."""
        with self._lock:
            return self._index.remove(entry_id)

    def _prepare(
        self, entries: Iterable[BankEntry]
    ) -> tuple[list[BankEntry], list[BankEntry], list[np.ndarray], np.ndarray | None]:
        """Hash outside the lock: (all entries, near-eligible ones, their shingles, signatures)."""
        batch = list(entries)
        for entry in batch:
            if not entry.key.strip() and not entry.pdq:
                raise ValueError(f"bank entry {entry.entry_id} has an empty key")
        near = [e for e in batch if not e.pdq and near_duplicate_eligible(e.key)]
        hashes = [shingle_hashes(e.key, self._k) for e in near]
        sigs = self._hasher.signatures_from_hashes(hashes) if near else None
        return batch, near, hashes, sigs

    @staticmethod
    def _insert(
        index: _Index,
        batch: list[BankEntry],
        near: list[BankEntry],
        hashes: list[np.ndarray],
        sigs: np.ndarray | None,
    ) -> None:
        images: list[BankEntry] = []
        for entry in batch:
            index.remove(entry.entry_id)
            index.entries[entry.entry_id] = entry
            if entry.pdq:
                images.append(entry)
                continue
            index.by_hash.setdefault(key_hash(entry.key), {})[entry.entry_id] = None
        if images:
            index.pdq.add_many([e.entry_id for e in images], [e.pdq or "" for e in images])
        if sigs is not None:
            index.lsh.add_many([e.entry_id for e in near], sigs)
            for entry, h in zip(near, hashes, strict=True):
                index.shingles[entry.entry_id] = h

    def match(self, norm: NormalisedText) -> list[BankMatch]:
        """Entries this text copies, best first (similarity, then entry id)."""
        key = norm.key
        if not key:
            return []
        exact_hash = key_hash(key)
        hashes = sig = None
        if near_duplicate_eligible(key):
            hashes = shingle_hashes(key, self._k)
            sig = self._hasher.signature_from_hashes(hashes)
        found: dict[str, BankMatch] = {}
        with self._lock:
            index = self._index
            for entry_id in index.by_hash.get(exact_hash, ()):
                found[entry_id] = BankMatch(index.entries[entry_id], "exact", 1.0)
            if sig is not None and hashes is not None and len(index.lsh):
                for entry_id in index.lsh.query(sig):
                    if entry_id in found:
                        continue
                    similarity = jaccard(hashes, index.shingles[entry_id])
                    if similarity >= self.threshold:
                        found[entry_id] = BankMatch(index.entries[entry_id], "near", similarity)
        return sorted(found.values(), key=lambda m: (-m.similarity, m.entry.entry_id))

    def match_images(self, images: Sequence[Mapping[str, object]]) -> list[BankMatch]:
        """Banked images that these (an item's image summaries: `pdq`, `quality`, `variants`)
        copy, nearest first; one match per entry (its nearest image)."""
        found: dict[str, BankMatch] = {}
        with self._lock:
            index = self._index
            if not len(index.pdq):
                return []
            for i, img in enumerate(images):
                if int(img.get("quality") or 0) < MIN_QUALITY:  # type: ignore[call-overload]
                    continue
                variants = [str(h) for h in (img.get("variants") or [img.get("pdq")]) if h]  # type: ignore[union-attr]
                for entry_id, dist in index.pdq.query(variants):
                    entry = index.entries.get(entry_id)
                    if entry is None or (entry.pdq_quality or MIN_QUALITY) < MIN_QUALITY:
                        continue
                    if entry_id not in found or dist < (found[entry_id].distance or 0):
                        found[entry_id] = BankMatch(entry, "pdq", 1.0 - dist / 256, dist, i)
        return sorted(found.values(), key=lambda m: (m.distance or 0, m.entry.entry_id))

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        out = []
        for item in items:
            sigs = [m.to_signal(self.version) for m in self.match(item.norm)]
            if item.content.media or (item.content.meta and item.content.meta.get("media")):
                from tidebreak.media.prepare import summaries

                sigs.extend(m.to_signal(self.version)
                            for m in self.match_images(summaries(item.content)))
            if any(s.evidence["match"] == "near" and s.evidence["banked_category"] in LIE_CATEGORIES
                   for s in sigs):
                sigs = self._refutations_capped(item.norm.text, sigs)
            out.append(sigs)
        return out

    def _refutations_capped(self, text: str, sigs: list[Signal]) -> list[Signal]:
        """A post that quotes a banked lie in order to refute it ("That 'Democrats vote Wednesday'
        post is FALSE") is a near copy of it, not a re-share: where the election-claims model's
        stance head reads it as refuting, its near matches to banked lies are capped at
        `REFUTE_CAP`, under every bar of the default policy; so are its near matches to banked voting
        lies where it states the accurate rule on their point instead (stance "corrects",
        `tidebreak.detect.voting.corrects`). An exact copy is never a refutation."""
        from tidebreak.detect.voting import answer_stance, default_model_dir, get_claims_model

        if not (default_model_dir() / "gate.npz").is_file():
            return sigs
        stance = get_claims_model().stance([text])[0]

        def answer(s: Signal) -> str | None:
            if s.evidence["match"] != "near" or s.evidence["banked_category"] not in LIE_CATEGORIES:
                return None
            return answer_stance(stance, about_voting=(
                s.evidence["banked_category"] == "voting_misinformation"))

        out = []
        for s in sigs:
            verdict = answer(s)
            out.append(s if verdict is None else dataclasses.replace(
                s, score=min(s.score, REFUTE_CAP),
                evidence={**s.evidence, "stance": verdict, "stance_probabilities": stance}))
        return out

