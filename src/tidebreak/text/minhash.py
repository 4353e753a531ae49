"""MinHash signatures and an LSH index for near-duplicate text, vectorised with numpy.

Generic on purpose: it knows keys (normalised strings), shingles and ids, nothing about banks,
so coordinated-behaviour detection can reuse it for "same text from many accounts".

Determinism: every hash here is defined arithmetic on UTF-32 code points (uint64, wrapping), and
the permutation parameters come from a SplitMix64 stream of the seed, never from Python's
`hash()` (salted per process) or from numpy's random generators (whose streams may change
between releases). The same key gives the same signature on every machine and version, so
signatures may be stored.

How it works:
- Shingles are the key's overlapping k-character substrings (a key shorter than k is one
  shingle). Each is hashed to 64 bits: a polynomial over its code points, then a SplitMix64
  finaliser so that similar shingles get unrelated hashes.
- A signature holds, for each of `num_perm` hash functions h_i(x) = a_i * x + b_i (mod 2^64,
  a_i odd, so each is a bijection of the well-mixed shingle hashes), the top 32 bits of the
  minimum over the shingles. P(sig_a[i] == sig_b[i]) is the Jaccard similarity of the shingle
  sets, so the share of equal positions estimates it (std. error sqrt(J(1-J)/num_perm)).
- `LSHIndex` cuts signatures into `bands` bands of `rows` rows and buckets each band; two keys
  become candidates when any band is identical, which happens with probability
  1 - (1 - J^rows)^bands. `lsh_params` picks bands and rows for a threshold (see there).

Short keys carry too few shingles for similarity to mean anything ("vote today!" is "near" many
unrelated short posts): callers must check `near_duplicate_eligible` and match those exactly.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

import numpy as np

_MASK64 = (1 << 64) - 1
_POLY_BASE = np.uint64(0x100000001B3)  # FNV-1 64-bit prime, the polynomial base for k-grams
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_EMPTY_SLOT = np.uint32(0xFFFFFFFF)  # signature value for an empty key (no shingles)
_CHUNK = 8192  # shingle hashes per matrix in batch mode: 128 perms x 8192 x 8 B = 8 MiB

MIN_CHARS = 20
MIN_TOKENS = 5
# Scripts written without spaces: each character counts as a token for eligibility.
_UNSPACED_RE = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0002fa1f]"
)


# Normalised keys have no punctuation left except inside links, which they keep whole.
_LINK_TOKEN_RE = re.compile(r"\S*[./]\S*")


def near_duplicate_eligible(
    key: str, min_chars: int = MIN_CHARS, min_tokens: int = MIN_TOKENS
) -> bool:
    """Does `key` hold enough words, links aside, for near-duplicate matching? Keys that do not
    must be matched exactly: a link-only post differs from another only in the link's id."""
    if len(key) < min_chars:
        return False
    if "." in key or "/" in key:
        key = " ".join(_LINK_TOKEN_RE.sub(" ", key).split())
        if len(key) < min_chars:
            return False
    tokens = key.count(" ") + 1
    if tokens < min_tokens:
        tokens += len(_UNSPACED_RE.findall(key))
    return tokens >= min_tokens


def shingles(key: str, k: int) -> set[str]:
    """The set of k-character shingles of `key` (the whole key if shorter; empty if empty)."""
    if not key:
        return set()
    if len(key) <= k:
        return {key}
    return {key[i : i + k] for i in range(len(key) - k + 1)}


def _fmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array: a bijection that spreads every bit."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def shingle_hashes(key: str, k: int) -> np.ndarray:
    """Sorted, unique 64-bit hashes of `shingles(key, k)` (uint64), computed without building
    the strings. Two keys' arrays give their exact shingle Jaccard via `jaccard`."""
    if not key:
        return np.empty(0, dtype=np.uint64)
    cps = np.frombuffer(key.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    width = min(k, len(cps))
    n = len(cps) - width + 1
    h = cps[:n].copy()
    for i in range(1, width):
        h *= _POLY_BASE
        h += cps[i : i + n]
    return np.unique(_fmix64(h))


def jaccard(hashes_a: np.ndarray, hashes_b: np.ndarray) -> float:
    """Exact Jaccard similarity of two `shingle_hashes` arrays (sorted, unique)."""
    if len(hashes_a) == 0 and len(hashes_b) == 0:
        return 1.0
    inter = len(np.intersect1d(hashes_a, hashes_b, assume_unique=True))
    return inter / (len(hashes_a) + len(hashes_b) - inter)


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity behind two signatures of the same hasher."""
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in length: {sig_a.shape} vs {sig_b.shape}")
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def _splitmix64(seed: int, count: int) -> list[int]:
    """`count` 64-bit values of the SplitMix64 stream from `seed` (pure Python: never changes)."""
    out: list[int] = []
    state = seed & _MASK64
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(z ^ (z >> 31))
    return out


class MinHasher:
    """Character-shingle MinHash: `signature(key)` is a uint32 array of length `num_perm`.

    Signatures are comparable only between hashers with equal (num_perm, k, seed)."""

    def __init__(self, num_perm: int = 128, k: int = 5, seed: int = 1) -> None:
        if num_perm < 1 or k < 1:
            raise ValueError("num_perm and k must be positive")
        self.num_perm = num_perm
        self.k = k
        self.seed = seed
        stream = _splitmix64(seed, 2 * num_perm)
        self._a = np.array([v | 1 for v in stream[:num_perm]], dtype=np.uint64)[:, None]
        self._b = np.array(stream[num_perm:], dtype=np.uint64)[:, None]

    def signature(self, key: str) -> np.ndarray:
        return self.signature_from_hashes(shingle_hashes(key, self.k))

    def signature_from_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Signature from `shingle_hashes` output (lets a caller hash a key once for both the
        signature and an exact Jaccard check)."""
        if len(hashes) == 0:
            return np.full(self.num_perm, _EMPTY_SLOT, dtype=np.uint32)
        m: np.ndarray = self._a * hashes[None, :]
        m += self._b
        mins: np.ndarray = m.min(axis=1)
        return (mins >> _S32).astype(np.uint32)

    def signatures(self, keys: Iterable[str]) -> np.ndarray:
        """Signatures of many keys as an (n, num_perm) uint32 array, in one vectorised pass per
        chunk of shingles rather than one numpy call per key."""
        return self.signatures_from_hashes([shingle_hashes(key, self.k) for key in keys])

    def signatures_from_hashes(self, hashed: Sequence[np.ndarray]) -> np.ndarray:
        """`signatures` from precomputed `shingle_hashes` arrays."""
        out = np.full((len(hashed), self.num_perm), _EMPTY_SLOT, dtype=np.uint32)
        start = 0
        while start < len(hashed):
            stop, size = start, 0
            while stop < len(hashed) and (stop == start or size + len(hashed[stop]) <= _CHUNK):
                size += len(hashed[stop])
                stop += 1
            rows = [i for i in range(start, stop) if len(hashed[i])]
            if rows:
                flat = np.concatenate([hashed[i] for i in rows])
                offsets = np.cumsum([0] + [len(hashed[i]) for i in rows[:-1]])
                m = self._a * flat[None, :]
                m += self._b
                mins = np.minimum.reduceat(m, offsets, axis=1)  # (num_perm, len(rows))
                out[rows] = (mins.T >> _S32).astype(np.uint32)
            start = stop
        return out


def lsh_params(threshold: float, num_perm: int, recall: float = 0.95) -> tuple[int, int]:
    """(bands, rows) for an LSH index over `num_perm`-long signatures.

    Candidates come before an exact check, so missing a true near-duplicate is the costly error:
    we require P(candidate | J = threshold) >= `recall` and, among the (bands, rows) that reach it
    with bands * rows <= num_perm, take the one with the least false-candidate mass
    (the integral of 1 - (1 - s^rows)^bands over s in [0, threshold)). If none reaches `recall`,
    the one with the highest recall at the threshold. E.g. threshold 0.5, 128 perms -> 23 x 3."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be in (0, 1)")
    grid = np.linspace(0.0, threshold, 201)
    best: tuple[float, int, int] | None = None
    fallback: tuple[float, int, int] = (-1.0, 1, 1)
    for rows in range(1, num_perm + 1):
        p_row = threshold**rows
        max_bands = num_perm // rows
        if p_row >= 1.0 or max_bands < 1:
            continue
        hit_at = 1.0 - (1.0 - p_row) ** max_bands
        if hit_at > fallback[0]:
            fallback = (hit_at, max_bands, rows)
        if hit_at < recall:
            continue
        bands = int(np.ceil(np.log(1.0 - recall) / np.log(1.0 - p_row)))
        bands = max(1, min(bands, max_bands))
        false_mass = float(np.trapezoid(1.0 - (1.0 - grid**rows) ** bands, grid))
        if best is None or false_mass < best[0]:
            best = (false_mass, bands, rows)
    chosen = best if best is not None else fallback
    return chosen[1], chosen[2]


IdT = TypeVar("IdT", bound=Hashable)


class LSHIndex(Generic[IdT]):
    """Banded LSH over MinHash signatures: `query(sig)` returns candidate ids, those sharing the
    most bands first. Candidates are not matches: verify them (Jaccard) before acting.

    Ids are any hashable values; adding an id again replaces its signature. Results are in a
    deterministic order (band count, then insertion order)."""

    def __init__(
        self,
        threshold: float = 0.5,
        num_perm: int = 128,
        *,
        bands: int | None = None,
        rows: int | None = None,
        recall: float = 0.95,
    ) -> None:
        if (bands is None) != (rows is None):
            raise ValueError("give both bands and rows, or neither")
        if bands is None or rows is None:
            bands, rows = lsh_params(threshold, num_perm, recall)
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {num_perm}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands = bands
        self.rows = rows
        self._tables: list[dict[int, dict[IdT, None]]] = [{} for _ in range(bands)]
        self._keys: dict[IdT, list[int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._keys

    def band_hashes(self, sigs: np.ndarray) -> np.ndarray:
        """(n, bands) uint64 bucket keys for an (n, num_perm) array of signatures."""
        sigs = np.atleast_2d(sigs)
        if sigs.shape[1] != self.num_perm:
            raise ValueError(f"signature length {sigs.shape[1]} != num_perm {self.num_perm}")
        cells = sigs[:, : self.bands * self.rows].reshape(len(sigs), self.bands, self.rows)
        cells = cells.astype(np.uint64)
        h = cells[:, :, 0].copy()
        for j in range(1, self.rows):
            h *= _POLY_BASE
            h += cells[:, :, j]
        return _fmix64(h)

    def add(self, id_: IdT, sig: np.ndarray) -> None:
        self.add_many([id_], np.atleast_2d(sig))

    def add_many(self, ids: Sequence[IdT], sigs: np.ndarray) -> None:
        """Add many ids at once (band hashes computed in one vectorised pass)."""
        if len(ids) != len(sigs):
            raise ValueError("ids and signatures differ in number")
        for id_, keys in zip(ids, self.band_hashes(sigs).tolist(), strict=True):
            if id_ in self._keys:
                self.remove(id_)
            self._keys[id_] = keys
            for table, key in zip(self._tables, keys, strict=True):
                table.setdefault(key, {})[id_] = None

    def remove(self, id_: IdT) -> bool:
        """Forget `id_`; returns whether it was there."""
        keys = self._keys.pop(id_, None)
        if keys is None:
            return False
        for table, key in zip(self._tables, keys, strict=True):
            bucket = table[key]
            del bucket[id_]
            if not bucket:
                del table[key]
        return True

    def query(self, sig: np.ndarray) -> list[IdT]:
        counts: dict[IdT, int] = {}
        for table, key in zip(self._tables, self.band_hashes(sig)[0].tolist(), strict=True):
            bucket = table.get(key)
            if bucket:
                for id_ in bucket:
                    counts[id_] = counts.get(id_, 0) + 1
        return sorted(counts, key=counts.__getitem__, reverse=True)
