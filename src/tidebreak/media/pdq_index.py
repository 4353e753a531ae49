"""Hamming range search over PDQ hashes: every banked hash within `max_distance` of a query.

Hashes are kept as an (n, 4) uint64 array; distance is `bitwise_count(a ^ b)` summed over the
four words (numpy's popcount). A brute-force pass over a million hashes for 8 dihedral variants
reads 256 MB: tens of milliseconds. So large banks add a multi-index (Norouzi et al.'s
multi-index hashing): the 256 bits are cut into 16 chunks of 16 bits, and by pigeonhole two
hashes at distance <= 31 agree to within 1 bit on at least one chunk (16 chunks each differing
by 2 or more would make 32). A query therefore looks up, per chunk, its own 16-bit value and its
16 one-bit neighbours (17 x 16 = 272 buckets), and only those candidates are verified exactly:
no match within the distance is ever missed (tests/test_pdq_index.py checks against brute force).

Buckets are CSR arrays (entry positions sorted by chunk value, plus 65 537 bucket starts per
chunk), built with a stable radix argsort of uint16. New entries go to a small tail that is
searched by brute force until it is worth rebuilding; removed entries are masked.

A million random hashes put ~15 entries in each bucket, so a query hash has ~4,200 candidates,
and fetching each candidate's 32 bytes from a 32 MB array is a cache miss: that, not arithmetic,
is the cost. So beside each chunk's sorted positions sits a 96-bit sketch of each entry's hash
(words 0^2 and the top half of 1^3), read sequentially with its bucket. XOR-folding never raises
a distance (popcount(fold(a ^ b)) <= popcount(a ^ b)), so a sketch further than 31 rules an
entry out without missing a match, and only ~0.03% of unrelated entries get through to the
full check. It costs 12 bytes per entry per chunk (192 MB at a million) for ~4x lower latency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np

from tidebreak.media.pdq import MATCH_DISTANCE, to_words

CHUNKS = 16
BUCKETS = 1 << 16
BRUTE_FORCE_BELOW = 20_000  # under this many hashes a plain pass is as fast as the index
_FLIP = np.array([0] + [1 << b for b in range(16)], dtype=np.uint32)  # a value and its neighbours


def _chunks(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 -> (n, 16) 16-bit chunk values (as uint32, ready for indexing)."""
    parts = [(words[:, w] >> np.uint64(48 - 16 * k)) & np.uint64(0xFFFF)
             for w in range(4) for k in range(4)]
    return np.stack(parts, axis=1).astype(np.uint32)


class PdqIndex:
    """Thread-safe: `add_many`/`remove` may run while `query` does."""

    def __init__(self, max_distance: int = MATCH_DISTANCE) -> None:
        if not 0 <= max_distance < 2 * CHUNKS:
            raise ValueError(f"the multi-index is exact for distances up to {2 * CHUNKS - 1}")
        self.max_distance = max_distance
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._words = np.empty((0, 4), dtype=np.uint64)
        self._alive = np.empty(0, dtype=bool)
        self._indexed = 0  # entries [0, _indexed) are in the buckets; the rest is the tail
        self._order: np.ndarray | None = None  # (16, indexed) uint32 positions by chunk value
        self._starts: np.ndarray | None = None  # (16, 65537) int64 bucket starts
        self._sk64: np.ndarray | None = None  # sketches in `_order`'s order (see module doc)
        self._sk32: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._pos)

    @property
    def nbytes(self) -> int:
        extra = 0 if self._order is None else (self._order.nbytes + self._starts.nbytes  # type: ignore[union-attr]
                                               + self._sk64.nbytes + self._sk32.nbytes)  # type: ignore[union-attr]
        return self._words.nbytes + self._alive.nbytes + extra

    def add_many(self, ids: Sequence[str], hexes: Sequence[str]) -> None:
        """Add (or replace) entries; hashes are 64-hex PDQ strings."""
        if len(ids) != len(hexes):
            raise ValueError("ids and hashes differ in length")
        words = to_words(list(hexes))
        with self._lock:
            for entry_id in ids:  # replacing: the old row is masked, the new one appended
                old = self._pos.pop(entry_id, None)
                if old is not None:
                    self._alive[old] = False
            start = len(self._ids)
            self._ids.extend(ids)
            self._words = np.concatenate([self._words, words]) if len(self._words) else words.copy()
            self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
            for k, entry_id in enumerate(ids):
                self._pos[entry_id] = start + k

    def remove(self, entry_id: str) -> bool:
        with self._lock:
            pos = self._pos.pop(entry_id, None)
            if pos is None:
                return False
            self._alive[pos] = False
            return True

    def build(self) -> None:
        """Index everything now (else done lazily when the tail grows)."""
        with self._lock:
            self._build_locked()

    def _build_locked(self) -> None:
        n = len(self._words)
        if n < BRUTE_FORCE_BELOW:
            self._order, self._starts, self._indexed = None, None, 0
            self._sk64 = self._sk32 = None
            return
        chunks = _chunks(self._words)
        s64, s32 = _sketch(self._words)
        sk64 = np.empty(CHUNKS * n, dtype=np.uint64)
        sk32 = np.empty(CHUNKS * n, dtype=np.uint32)
        # one flat array of positions, chunk after chunk; bucket starts are absolute offsets
        # into it, so a lookup is one gather (no 2-D fancy indexing on the hot path)
        order = np.empty(CHUNKS * n, dtype=np.uint32)
        starts = np.empty(CHUNKS * (BUCKETS + 1), dtype=np.int64)
        for j in range(CHUNKS):
            col = chunks[:, j].astype(np.uint16)
            order[j * n:(j + 1) * n] = np.argsort(col, kind="stable")
            sk64[j * n:(j + 1) * n] = s64[order[j * n:(j + 1) * n]]
            sk32[j * n:(j + 1) * n] = s32[order[j * n:(j + 1) * n]]
            s = starts[j * (BUCKETS + 1):(j + 1) * (BUCKETS + 1)]
            s[0] = j * n
            np.cumsum(np.bincount(col, minlength=BUCKETS), out=s[1:])
            s[1:] += j * n
        self._order, self._starts, self._indexed = order, starts, n
        self._sk64, self._sk32 = sk64, sk32

    def _maybe_rebuild_locked(self) -> None:
        n = len(self._words)
        tail = n - self._indexed
        if n >= BRUTE_FORCE_BELOW and tail > max(4096, n // 8):
            self._build_locked()

    def query(self, hexes: Sequence[str]) -> list[tuple[str, int]]:
        """Entries within `max_distance` of any of `hexes` (e.g. a hash's 8 dihedral variants),
        each with its smallest distance, nearest first (then entry id)."""
        if not hexes:
            return []
        q = to_words(list(hexes))
        with self._lock:
            self._maybe_rebuild_locked()
            best: dict[int, int] = {}
            if self._order is not None and self._starts is not None:
                self._query_index(q, best)
            lo = self._indexed
            if len(self._words) > lo:
                self._query_brute(q, lo, best)
            found = [(self._ids[p], d) for p, d in best.items() if self._alive[p]]
        return sorted(found, key=lambda t: (t[1], t[0]))

    def _query_brute(self, q: np.ndarray, lo: int, best: dict[int, int]) -> None:
        words = self._words[lo:]
        d = np.bitwise_count(words[None, :, :] ^ q[:, None, :]).sum(axis=2, dtype=np.int32)
        dmin = d.min(axis=0)
        for p in np.flatnonzero(dmin <= self.max_distance):
            _keep(best, lo + int(p), int(dmin[p]))

    def _query_index(self, q: np.ndarray, best: dict[int, int]) -> None:
        assert self._order is not None and self._starts is not None
        assert self._sk64 is not None and self._sk32 is not None
        m = len(q)
        # the 17 bucket keys per (query, chunk): its value and its 16 one-bit neighbours
        keys = (_chunks(q)[:, :, None] ^ _FLIP[None, None, :]).astype(np.int64)  # (m, 16, 17)
        keys += _CHUNK_BASE
        keys = keys.ravel()
        lo = self._starts[keys]
        lens = self._starts[keys + 1] - lo
        total = int(lens.sum())
        if total == 0:
            return
        ends = np.cumsum(lens)
        flat = np.repeat(lo - (ends - lens), lens) + np.arange(total)
        # candidates come in one contiguous block per query hash
        per_query = np.concatenate([[0], ends[CHUNKS * len(_FLIP) - 1::CHUNKS * len(_FLIP)]])
        # 1. the sketches, read along the buckets: rules out nearly every unrelated entry
        c64, c32 = self._sk64[flat], self._sk32[flat]
        q64, q32 = _sketch(q)
        for i in range(m):
            a, b = per_query[i], per_query[i + 1]
            if b > a:
                c64[a:b] ^= q64[i]
                c32[a:b] ^= q32[i]
        near = np.flatnonzero(np.bitwise_count(c64).astype(np.int16) + np.bitwise_count(c32)
                              <= self.max_distance)
        if not len(near):
            return
        # 2. the full 256-bit distance for the few left, against the hash that found them
        cand = self._order[flat[near]]
        qrow = np.searchsorted(per_query, near, side="right") - 1
        bc = np.bitwise_count(self._words[cand] ^ q[qrow])
        d = bc[:, 0].astype(np.int16) + bc[:, 1] + bc[:, 2] + bc[:, 3]
        ok = np.flatnonzero(d <= self.max_distance)
        for p, dist in zip(cand[ok].tolist(), d[ok].tolist()):
            _keep(best, p, dist)


def _sketch(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """96 of the hash's bits folded by XOR: a lower bound on the distance, 12 bytes."""
    return (words[:, 0] ^ words[:, 2],
            ((words[:, 1] ^ words[:, 3]) >> np.uint64(32)).astype(np.uint32))


_CHUNK_BASE = (np.arange(CHUNKS, dtype=np.int64) * (BUCKETS + 1))[None, :, None]


def _keep(best: dict[int, int], pos: int, dist: int) -> None:
    if dist < best.get(pos, 1 << 30):
        best[pos] = dist


def brute_force(words: np.ndarray, hexes: Iterable[str], max_distance: int) -> np.ndarray:
    """Reference search (tests, small banks): positions within `max_distance`."""
    q = to_words(list(hexes))
    d = np.bitwise_count(words[None, :, :] ^ q[:, None, :]).sum(axis=2).min(axis=0)
    return np.flatnonzero(d <= max_distance)
