"""MinHash and LSH: deterministic signatures, honest similarity estimates, and an index that finds
near-duplicates and not unrelated texts."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from tidebreak.text import (
    LSHIndex,
    MinHasher,
    jaccard,
    jaccard_estimate,
    lsh_params,
    near_duplicate_eligible,
    normalise,
    shingle_hashes,
    shingles,
)

POST = ("breaking you can now vote by text message on election day just text your candidates "
        "name to 55555 and your vote will be counted share this with everyone before tuesday")
EDITED = POST.replace("breaking", "urgent").replace("tuesday", "the weekend")
UNRELATED = ("the weather on election day is supposed to be sunny so lines at polling places "
             "might be long bring water and a chair if you can")


_VOCAB_RNG = random.Random(0)
_VOCAB = ["".join(_VOCAB_RNG.choice("abcdefghijklmnopqrstuvwxyz")
                  for _ in range(_VOCAB_RNG.randint(2, 8))) for _ in range(500)]


def _random_text(rng: random.Random, words: int = 30) -> str:
    return " ".join(rng.choice(_VOCAB) for _ in range(words))


def test_shingles_are_overlapping_character_ngrams() -> None:
    assert shingles("vote now", 5) == {"vote ", "ote n", "te no", "e now"}
    assert shingles("vote", 5) == {"vote"}  # shorter than k: the whole key
    assert shingles("", 5) == set()


def test_shingle_hashes_give_the_exact_jaccard_of_the_shingle_sets() -> None:
    a, b = shingles(POST, 5), shingles(EDITED, 5)
    ha, hb = shingle_hashes(POST, 5), shingle_hashes(EDITED, 5)
    assert len(ha) == len(a) and len(hb) == len(b)
    assert jaccard(ha, hb) == pytest.approx(len(a & b) / len(a | b))
    assert jaccard(ha, ha) == 1.0
    assert jaccard(shingle_hashes("", 5), shingle_hashes("", 5)) == 1.0


def test_signatures_are_fixed_numbers_not_process_dependent() -> None:
    # Golden values: signatures may be stored, so they must never change across processes,
    # machines or library versions. If this fails, stored signatures are invalid.
    sig = MinHasher(num_perm=128, k=5, seed=1).signature("hello world")
    assert sig.dtype == np.uint32 and sig.shape == (128,)
    assert sig[:4].tolist() == [702509213, 158053674, 832880544, 132472805]


def test_signatures_match_in_a_process_with_another_hash_seed() -> None:
    code = ("from tidebreak.text import MinHasher; "
            "print(MinHasher(64, 5, seed=7).signature('same text everywhere').tolist())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    here = MinHasher(64, 5, seed=7).signature("same text everywhere").tolist()
    assert out.strip() == str(here)


def test_seed_and_num_perm_change_the_signature() -> None:
    assert not np.array_equal(MinHasher(seed=1).signature(POST), MinHasher(seed=2).signature(POST))
    assert MinHasher(num_perm=64).signature(POST).shape == (64,)


def test_batch_signatures_equal_one_at_a_time() -> None:
    hasher = MinHasher(num_perm=64)
    keys = [POST, "", "short", EDITED, UNRELATED, ""]
    batch = hasher.signatures(keys)
    assert batch.shape == (6, 64)
    for row, key in zip(batch, keys, strict=True):
        assert np.array_equal(row, hasher.signature(key))


def test_empty_keys_get_a_signature_that_matches_nothing_real() -> None:
    hasher = MinHasher()
    assert jaccard_estimate(hasher.signature(""), hasher.signature(POST)) == 0.0


def test_estimate_tracks_the_true_jaccard() -> None:
    rng = random.Random(3)
    hasher = MinHasher(num_perm=128)
    errors = []
    for _ in range(40):
        a = _random_text(rng)
        words = a.split()
        for _ in range(rng.randint(0, 15)):
            words[rng.randrange(len(words))] = "edit"
        b = " ".join(words)
        true = jaccard(shingle_hashes(a, 5), shingle_hashes(b, 5))
        errors.append(jaccard_estimate(hasher.signature(a), hasher.signature(b)) - true)
    assert abs(float(np.mean(errors))) < 0.02  # unbiased
    assert float(np.sqrt(np.mean(np.square(errors)))) < 0.07  # ~ sqrt(J(1-J)/128) <= 0.044


def test_estimate_rejects_signatures_of_different_lengths() -> None:
    with pytest.raises(ValueError):
        jaccard_estimate(MinHasher(64).signature(POST), MinHasher(128).signature(POST))


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.3, 128), (0.5, 128), (0.7, 64), (0.9, 128)])
def test_lsh_params_reach_the_recall_target_at_the_threshold(
    threshold: float, num_perm: int
) -> None:
    bands, rows = lsh_params(threshold, num_perm)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.95
    # and far-below-threshold pairs rarely become candidates
    assert 1 - (1 - (threshold / 3) ** rows) ** bands < 0.35


def test_lsh_params_for_the_default_bank_threshold() -> None:
    assert lsh_params(0.5, 128) == (23, 3)


def test_index_finds_near_duplicates_and_not_unrelated_texts() -> None:
    hasher = MinHasher()
    index: LSHIndex[str] = LSHIndex(threshold=0.5, num_perm=128)
    rng = random.Random(5)
    index.add("post", hasher.signature(POST))
    index.add_many([f"noise{i}" for i in range(200)],
                   hasher.signatures([_random_text(rng) for _ in range(200)]))
    assert len(index) == 201 and "post" in index
    assert index.query(hasher.signature(EDITED))[0] == "post"
    assert "post" not in index.query(hasher.signature(UNRELATED))


def test_index_orders_candidates_by_shared_bands() -> None:
    hasher = MinHasher()
    index: LSHIndex[str] = LSHIndex(threshold=0.5, num_perm=128)
    index.add("far", hasher.signature(EDITED.replace("vote", "poll").replace("text", "sms")))
    index.add("near", hasher.signature(EDITED))
    assert index.query(hasher.signature(POST)) == ["near", "far"]


def test_index_remove_and_replace() -> None:
    hasher = MinHasher()
    index: LSHIndex[int] = LSHIndex(threshold=0.5)
    index.add(1, hasher.signature(POST))
    index.add(1, hasher.signature(UNRELATED))  # same id again: replaced, not duplicated
    assert len(index) == 1
    assert index.query(hasher.signature(POST)) == []
    assert index.remove(1) is True
    assert index.remove(1) is False
    assert index.query(hasher.signature(UNRELATED)) == []


def test_index_rejects_signatures_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        LSHIndex[str](threshold=0.5, num_perm=128).add("x", MinHasher(64).signature(POST))
    with pytest.raises(ValueError):
        LSHIndex(threshold=0.5, num_perm=64, bands=20, rows=4)


@pytest.mark.parametrize(
    ("text", "eligible"),
    [
        ("vote today!", False),
        ("Vote today, polls close at 8", True),
        ("go vote now, seriously", False),  # four words
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", False),  # a link alone
        ("watch https://www.youtube.com/watch?v=dQw4w9WgXcQ now", False),
        (POST, True),
        ("我们明天一起去投票吧朋友们请转发给大家", False),  # 19 characters
        ("我们明天一起去投票吧朋友们请转发给大家知道", True),  # unspaced script: characters count
    ],
)
def test_short_texts_are_not_eligible_for_near_duplicate_matching(
    text: str, eligible: bool
) -> None:
    assert near_duplicate_eligible(normalise(text).key) is eligible
