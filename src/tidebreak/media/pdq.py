"""PDQ, the perceptual hash HMA and ThreatExchange share, computed by Meta's C++ (`pdqhash`).

Written as HMA writes it (python-threatexchange `pdq_hasher._pdq_from_numpy_array`): the 256
bits in the order `pdqhash.compute` returns them, most significant first, as 64 lower-case hex
digits. We hash the RGB conversion of the image, which is HMA's `force_rgb=True` path; for
RGB, greyscale and RGBA files that is bit-identical to HMA's default path (it stacks greyscale
into three channels and hashes RGBA's colour channels). For palette images HMA's default path
hashes the palette *indices*: RGB is the meaningful hash there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

MATCH_DISTANCE = 31  # PDQ's recommended match threshold (hashing/pdq/README, HMA)
MIN_QUALITY = 50  # below this a hash is too featureless to match on (HMA's QUALITY_THRESHOLD)
HEX_LEN = 64


@dataclass(frozen=True)
class PdqHash:
    pdq: str  # 64 hex
    quality: int
    dihedral: tuple[str, ...]  # 8 variants, the original first (pdqhash's order)


def bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1)[:256]).tobytes().hex()


def hash_image(img: Image.Image, *, dihedral: bool = True) -> PdqHash:
    arr = np.asarray(img.convert("RGB") if img.mode != "RGB" else img)
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(arr)
        hexes = tuple(bits_to_hex(v) for v in vectors)
        return PdqHash(hexes[0], int(quality), hexes)
    vector, quality = pdqhash.compute(arr)
    h = bits_to_hex(vector)
    return PdqHash(h, int(quality), (h,))


def is_pdq_hex(s: object) -> bool:
    return isinstance(s, str) and len(s) == HEX_LEN and all(c in "0123456789abcdef" for c in s)


def to_words(hexes: list[str] | tuple[str, ...]) -> np.ndarray:
    """64-hex hashes as an (n, 4) uint64 array (big-endian words, so bit order is kept)."""
    if not hexes:
        return np.empty((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def distance(a: str, b: str) -> int:
    return int(np.bitwise_count(to_words([a]) ^ to_words([b])).sum())


# A cropped copy loses its border; extending the copy's edges back out (edge pixels repeated)
# restores the original's layout closely enough for PDQ's low frequencies. Measured on our
# generated images (models/media/CARD.md): a 2% crop per side goes from ~40 bits away to ~7,
# 5% from ~86 to ~24, and no unrelated image came closer than 82 bits to a banked one.
PAD_FRACTIONS = (0.01, 0.025, 0.04, 0.06)
PAD_SIDE = 1024  # bounds the cost on very large images


def padded(img: Image.Image, fraction: float) -> Image.Image:
    a = np.asarray(img.convert("RGB") if img.mode != "RGB" else img)
    h, w = a.shape[:2]
    ph, pw = max(1, round(h * fraction)), max(1, round(w * fraction))
    return Image.fromarray(np.pad(a, ((ph, ph), (pw, pw), (0, 0)), mode="edge"))


def query_hashes(img: Image.Image) -> tuple[PdqHash, tuple[str, ...]]:
    """The image's hash and every hash to look up for it: 8 dihedral variants (rotated or
    mirrored copies), then the edge-extended ones (cropped copies)."""
    h = hash_image(img)
    small = img
    if max(img.size) > PAD_SIDE:  # PDQ reads a 64x64 reduction: the extra passes need no more
        small = img.copy()
        small.thumbnail((PAD_SIDE, PAD_SIDE), Image.BILINEAR)
    pads = tuple(hash_image(padded(small, f), dihedral=False).pdq for f in PAD_FRACTIONS)
    return h, h.dihedral + pads
