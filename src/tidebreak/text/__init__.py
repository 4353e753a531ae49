"""Text handling shared by every detector: validation at the boundary, normalisation that undoes
evasion tricks, MinHash machinery for near-duplicate matching, and language identification
(`tidebreak.text.language`, imported on its own: it loads a model on first use)."""

from tidebreak.text.minhash import (
    LSHIndex,
    MinHasher,
    jaccard,
    jaccard_estimate,
    lsh_params,
    near_duplicate_eligible,
    shingle_hashes,
    shingles,
)
from tidebreak.text.normalise import NORMALISE_VERSION, normalise
from tidebreak.text.validate import TextRejected, check_text, decode_utf8

__all__ = [
    "NORMALISE_VERSION",
    "LSHIndex",
    "MinHasher",
    "TextRejected",
    "check_text",
    "decode_utf8",
    "jaccard",
    "jaccard_estimate",
    "lsh_params",
    "near_duplicate_eligible",
    "normalise",
    "shingle_hashes",
    "shingles",
]
