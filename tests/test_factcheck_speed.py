"""The fact-check matcher's vectorised paths against simple per-item references.

`ClaimIndex.features` and friends were rewritten without per-query and per-pair Python loops;
these tests pin the rewrite to the straightforward definitions (the previous implementation) on
random inputs, ties and edge cases included. Equality is exact: the features feed rounded
evidence, so even the last bit must not move.
"""

from __future__ import annotations

import random
import re
import zlib

import numpy as np
import pytest

from tidebreak.factcheck.claimreview import FactCheck
from tidebreak.factcheck.index import (
    FEATURES,
    ClaimIndex,
    _best_other,
    _Incidence,
    _ranks,
    _sorted_top,
    clean_text,
    tokenize,
)

# ---------------------------------------------------------------------------- references


def ref_best_other(s: np.ndarray, qid: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    out = s.astype(np.float64).copy()
    if len(s) == 0:
        return out
    g = np.arange(len(s)) if group is None else np.asarray(group)
    order = np.lexsort((-s, qid))
    bounds = np.flatnonzero(np.diff(qid[order])) + 1
    for part in np.split(order, bounds):
        gp = g[part]
        in_top = gp == gp[0]
        best = s[part[0]]
        rest = np.flatnonzero(~in_top)
        second = s[part[rest[0]]] if len(rest) else None
        out[part[~in_top]] = best
        if second is not None:
            out[part[in_top]] = second
    return out


def ref_rank(group: np.ndarray, cand: np.ndarray, prob: np.ndarray) -> list[tuple[int, int]]:
    order = np.lexsort((cand, -prob))
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    for o in order:
        g = int(group[int(cand[o])])
        if g not in seen:
            seen.add(g)
            out.append((g, int(o)))
    return out


def ref_ranks(top_sorted: np.ndarray, idx: np.ndarray, cap: int) -> np.ndarray:
    out = np.full(idx.shape, cap, np.float64)
    for r in range(idx.shape[0]):
        pos = {int(d): k for k, d in enumerate(top_sorted[r])}
        out[r] = [pos.get(int(d), cap) for d in idx[r]]
    return out


def ref_names(text: str) -> set[str]:
    """tokenize's name rule as first written: the text before the word, right-stripped."""
    import unicodedata

    from tidebreak.factcheck.index import STOPWORDS, _fold, stem

    raw = unicodedata.normalize("NFKC", text or "")
    names: set[str] = set()
    for m in re.finditer(r"\b[A-Z][\w'-]*", raw):
        before = raw[: m.start()].rstrip()
        if not before or before[-1] in ".!?:;\"'(":
            continue
        w = _fold(m.group(0))
        if w not in STOPWORDS and len(w) > 1:
            names.add(stem(w))
    return names


# ---------------------------------------------------------------------------- helpers


def test_best_other_matches_reference_on_random_groups_and_ties() -> None:
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(0, 40))
        # few distinct scores and groups, so ties and shared groups are common
        s = rng.integers(0, 5, n).astype(np.float64) / 4.0
        qid = rng.integers(0, 4, n)
        if trial % 2:
            qid = np.sort(qid)
        group = rng.integers(0, 6, n) if trial % 3 else None
        got = _best_other(s, qid, group)
        want = ref_best_other(s, qid, group)
        assert got.dtype == want.dtype
        assert np.array_equal(got, want)


def test_sorted_top_and_ranks_match_reference() -> None:
    rng = np.random.default_rng(1)
    for n, R in ((7, 7), (50, 20), (133, 100)):
        S = rng.integers(0, 6, (9, n)).astype(np.float64)  # many ties
        top = _sorted_top(S, R)
        idx = rng.integers(0, n, (9, 12))
        assert np.array_equal(_ranks(top, idx, 100), ref_ranks(top, idx, 100))


def test_incidence_counts_are_set_intersections() -> None:
    rng = random.Random(2)
    pool = [f"w{i}" for i in range(12)] + [("a", "b"), ("b", "c"), "2020"]
    claims = [frozenset(rng.sample(pool, rng.randint(0, 5))) for _ in range(15)]
    queries = [set(rng.sample(pool + ["unseen"], rng.randint(0, 6))) for _ in range(6)]
    inc = _Incidence(claims)
    qi = np.repeat(np.arange(len(queries)), len(claims))
    di = np.tile(np.arange(len(claims)), len(queries))
    hits = inc.shared(di, queries, qi)
    cover = inc.cover(di, queries, qi)
    for p, (i, j) in enumerate(zip(qi, di)):
        assert hits[p] == len(claims[j] & queries[i])
        assert cover[p] == (len(claims[j] & queries[i]) / len(claims[j]) if claims[j] else 0.0)


def test_rowdot_and_dense_product_are_scipys_bit_for_bit() -> None:
    """The per-pair dot products and the query x claim scores, done in numpy, sum the same
    products in the same order as scipy's sparse `multiply(...).sum(axis=1)` and `@`."""
    from scipy import sparse

    from tidebreak.factcheck.index import _dense_product, _Rows, _rowdot

    rng = np.random.default_rng(4)
    for trial in range(60):
        n, V, nq = int(rng.integers(1, 30)), int(rng.integers(1, 200)), int(rng.integers(1, 12))
        A = sparse.random(n, V, density=rng.uniform(0, 0.6), format="csr", random_state=trial)
        A.data = rng.lognormal(size=len(A.data))  # idf-like weights: long rows, unequal sums
        Q = sparse.random(nq, V, density=rng.uniform(0, 0.9), format="csr", random_state=99 + trial)
        if trial % 2:
            Q.data[:] = 1.0
        P = int(rng.integers(0, 150))
        ai, bi = rng.integers(0, n, P), np.sort(rng.integers(0, nq, P))
        want = np.asarray(A[ai].multiply(Q[bi]).sum(axis=1)).ravel() if P else np.zeros(0)
        rows = _Rows(Q.indptr.astype(np.int64), Q.indices.astype(np.int64), Q.data, Q.shape)
        for B in (Q, rows):
            got = _rowdot(A, ai, B, bi)
            assert got.dtype == want.dtype and np.array_equal(got, want)
        W = A.T.tocsr()  # term x claim, as BM25's weights
        assert np.array_equal(_dense_product(rows, W), (Q @ W).toarray())


def test_incidence_of_no_items() -> None:
    inc = _Incidence([frozenset(), frozenset()])
    di = np.array([0, 1])
    qi = np.array([0, 0])
    assert inc.shared(di, [{"x"}], qi).tolist() == [0.0, 0.0]
    assert inc.cover(di, [{"x"}], qi).tolist() == [0.0, 0.0]


def test_tokenize_names_rule_unchanged() -> None:
    rng = random.Random(3)
    words = ["Biden", "the", "Lemon", "juice", "NASA", "O'Brien", "x-Ray", "2020", "Über", "é"]
    seps = [" ", "  ", "\t", "\n", ". ", "! ", ": ", " (", "\"", "' ", "\u00a0", "\u2003", ""]
    for _ in range(500):
        text = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(0, 8)))
        text = rng.choice(["", " ", "\n", "("]) + text
        assert set(tokenize(text).names) == ref_names(text), text


# ---------------------------------------------------------------------------- the index


class HashEncoder:
    """Deterministic unit vectors from a text's words: no model needed, and similar texts get
    similar vectors, so dense and lexical candidate lists overlap only partly."""

    encoder_id = "hash-encoder-test"

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), 32), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                r = np.random.default_rng(zlib.crc32(w.encode()))
                out[i] += r.standard_normal(32).astype(np.float32)
            out[i] += np.float32(1e-3)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


WORDS = ("vote mail ballot election 2020 fraud vaccine 5G virus mask Biden Trump texas "
         "county clerk count machine dead people million June 2019 tax border wall city "
         "Lisbon London mayor water fluoride chip").split()


def make_index(titled: bool, n: int = 60) -> ClaimIndex:
    rng = random.Random(4 + titled)
    fcs = []
    for i in range(n):
        claim = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
        if i % 9 == 8:
            claim = fcs[i - 1].claim  # a repeated record: one claim group
        elif i % 10 == 5:
            claim += f" in June {2019 + i % 3}"  # names a month: the time features
        title = " ".join(rng.choice(WORDS) for _ in range(5)) if titled or i % 3 == 0 else None
        fcs.append(FactCheck(f"c{i}", claim, title=title, rating="false",
                             publisher="p" if i % 9 != 8 else fcs[i - 1].publisher))
    return ClaimIndex(fcs, encoder=HashEncoder())


def ref_set_features(index: ClaimIndex, texts: list[str], dates, di: np.ndarray,  # type: ignore[no-untyped-def]
                     qi: np.ndarray) -> dict[str, np.ndarray]:
    from tidebreak.factcheck.index import post_month

    qtoks = [tokenize(clean_text(t)) for t in texts]
    out = {k: np.zeros(len(di)) for k in ("num_cov", "num_miss", "name_cov", "bigram_cov",
                                          "bigram_cov_title", "year_match", "year_other",
                                          "month_match")}
    qtext = [set(q.terms) | q.names | q.numbers for q in qtoks]
    qbig = [set(zip(q.terms, q.terms[1:])) for q in qtoks]
    when = [post_month(dates[i] if dates is not None else None, t) for i, t in enumerate(texts)]
    for p, (i, j) in enumerate(zip(qi, di)):
        w = when[i]
        years, months = index.claim_times[j]
        if w is not None and years:
            out["year_match"][p] = 1.0 if w[0] in years else 0.0
            out["year_other"][p] = 0.0 if w[0] in years else 1.0
            out["month_match"][p] = 1.0 if w in months else 0.0
        cb = index.claim_bigrams[j]
        if cb:
            out["bigram_cov"][p] = len(cb & qbig[i]) / len(cb)
        tb = index.title_bigrams[j]
        if tb:
            out["bigram_cov_title"][p] = len(tb & qbig[i]) / len(tb)
        nums = index.claim_numbers[j]
        if nums:
            hit = len(nums & qtoks[i].numbers)
            out["num_cov"][p] = hit / len(nums)
            out["num_miss"][p] = 1.0 if hit == 0 else 0.0
        names = index.claim_names[j]
        if names:
            out["name_cov"][p] = len(names & qtext[i]) / len(names)
    return out


@pytest.mark.parametrize("titled", [False, True])
@pytest.mark.parametrize("with_exclude", [False, True])
def test_features_candidates_and_set_features_match_reference(titled: bool,
                                                              with_exclude: bool) -> None:
    index = make_index(titled)
    rng = random.Random(5)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 14))) for _ in range(23)]
    texts[3] = ""
    texts[4] = "In June 2019 the mayor of London said - Jo Bloggs (@jo) June 6, 2019"
    dates = [None if i % 4 else f"20{19 + i % 3}-06-01" for i in range(len(texts))]
    exclude = ([[int(x) for x in rng.sample(range(len(index)), rng.randint(0, 5))]
                for _ in texts] if with_exclude else None)
    N = 10
    X, di, qi = index.features(texts, dates=dates, exclude=exclude, n_candidates=N)
    assert X.shape == (len(di), len(FEATURES)) and X.dtype == np.float64
    # pairs come query by query, each query's claims ascending: the union of the two top-N
    # lists (lexical on bm25f, dense on the best of claim and headline cosine), minus exclusions
    assert np.all(np.diff(qi) >= 0)
    qv = HashEncoder().encode([clean_text(t) for t in texts])
    Cs = qv @ index.vectors.T
    Ct = qv @ index.title_vectors.T if index.title_vectors is not None else Cs
    from tidebreak.factcheck.index import _query_matrix

    Q = _query_matrix([tokenize(clean_text(t)) for t in texts], index.vocab)
    Bf = np.asarray((Q @ index.bm25f.weights).todense())
    D = np.maximum(Cs, Ct)
    if exclude is not None:
        for i, ex in enumerate(exclude):
            if ex:
                D[i, ex] = -2.0
                Bf[i, ex] = -1.0
    R = min(100, len(index))
    tb, td = _sorted_top(Bf, R)[:, :N], _sorted_top(D, R)[:, :N]
    for i in range(len(texts)):
        want = np.unique(np.concatenate([tb[i], td[i]]))
        if exclude is not None:
            want = np.setdiff1d(want, exclude[i])
        assert di[qi == i].tolist() == want.tolist()
    ref = ref_set_features(index, texts, dates, di, qi)
    for name, col in ref.items():
        assert np.array_equal(X[:, FEATURES.index(name)], col), name
    # ranks: 1 / (1 + position in the sorted top-100 lists), 1/101 outside them
    rb = ref_ranks(_sorted_top(Bf, R)[qi], di[:, np.newaxis], 100)[:, 0]
    assert np.array_equal(X[:, FEATURES.index("rr_bm25")], 1.0 / (1.0 + rb))


def test_rank_and_search_order_match_reference() -> None:
    index = make_index(False)
    texts = ["vote mail ballot fraud", "vaccine chip Biden", "", "water fluoride city mayor"]
    for (cand, prob, _), t in zip(index.score_candidates(texts), texts):
        want = ref_rank(index.group, cand, prob)
        assert index.rank(cand, prob) == want
        for k in range(0, 4):
            assert index.rank(cand, prob, limit=k) == want[:k]
        # ties broken by collection order
        flat = np.full(len(prob), 0.5)
        assert index.rank(cand, flat) == ref_rank(index.group, cand, flat)
    for k in (1, 3, 7):
        results = index.search(texts, k=k)
        for (cand, prob, _), res in zip(index.score_candidates(texts), results):
            want = [index.factchecks[g].claim_id for g, _ in ref_rank(index.group, cand, prob)][:k]
            assert [m.claim_id for m in res] == want


def test_score_candidates_splits_pairs_by_query() -> None:
    index = make_index(True)
    texts = ["vote mail", "", "tax border wall Lisbon"]
    X, di, qi = index.features(texts)
    out = index.score_candidates(texts)
    assert len(out) == len(texts)
    for i, (cand, prob, feats) in enumerate(out):
        assert np.array_equal(cand, di[qi == i])
        assert np.array_equal(feats, X[qi == i])
        assert prob.shape == cand.shape and np.all((prob >= 0) & (prob <= 1))


# ---------------------------------------------------------------------------- encoder, BLAS


def test_encoder_runs_repeats_once_with_the_same_result() -> None:
    from tidebreak.embed import get_encoder

    enc = get_encoder()
    if not enc._runner.per_text:
        pytest.skip("only per-text graphs deduplicate")
    long = "word " * 2000  # clipped by characters before tokenising: truncated
    texts = ["same post", "", "other post", "same post", "", long, long.strip()]
    got = enc.encode_with_info(texts)
    one = [enc.encode_with_info([t]) for t in texts]
    assert np.array_equal(got.vectors, np.concatenate([o.vectors for o in one]))
    assert got.truncated.tolist() == [bool(o.truncated[0]) for o in one]
    assert got.n_tokens.tolist() == [int(o.n_tokens[0]) for o in one]



# ------------------------------------------------------- the bundled claims' vectors, shipped


def test_the_bundled_claims_vectors_are_shipped_and_current() -> None:
    # Every process that builds the fact-check detector reads them instead of encoding the
    # bundled claims again; after editing factchecks.jsonl or the encoder, remake them with
    # `python -c "from tidebreak.detect.factcheck import write_bundled_vectors as w; w()"`.
    from tidebreak.detect.factcheck import BUNDLED, cached_vectors
    from tidebreak.factcheck.claimreview import load_factchecks

    fcs = load_factchecks(BUNDLED, strict=False)
    vectors, titles = cached_vectors(fcs)
    assert vectors is not None, "factchecks.vectors.npz is missing or stale: remake it"
    fresh = ClaimIndex(fcs)  # encodes the claims now
    # Made by this encoder: bit for bit on the CPU family they were made on. Elsewhere float
    # sums in another order can flip a quantised activation: on an emulated AVX2 CPU 4 of 133
    # rows moved (cosine >= 0.9978, tidebreak.embed.int8), where another encoder moves nearly
    # every row.
    moved = np.abs(vectors - fresh.vectors).max(axis=1) > 1e-5
    cosine = (vectors * fresh.vectors).sum(axis=1)  # both unit length
    assert moved.mean() <= 0.10 and cosine.min() >= 0.99, (int(moved.sum()), float(cosine.min()))
    assert (titles is None) == (fresh.title_vectors is None)


def test_vectors_made_for_other_claims_are_not_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tidebreak.detect.factcheck import BUNDLED, cached_vectors, write_bundled_vectors
    from tidebreak.factcheck.claimreview import load_factchecks

    path = write_bundled_vectors(tmp_path / "v.npz")
    fcs = load_factchecks(BUNDLED, strict=False)
    assert cached_vectors(fcs, path)[0] is not None
    edited = [replace(fcs[0], claim=fcs[0].claim + " (corrected)"), *fcs[1:]]
    assert cached_vectors(edited, path) == (None, None)
    assert cached_vectors(fcs, tmp_path / "absent.npz") == (None, None)
