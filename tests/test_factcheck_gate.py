"""The fact-check cascade: a static-embedding + BM25 gate in front of the transformer encoder.

What must hold: a post that repeats a fact-checked claim passes the gate and is matched exactly
as without it; an unrelated post is skipped (never encoded) and gets no text match; URL matches
do not depend on the gate; `gate=False` is the ungated path, bit for bit; the static table
loads, is the file its metadata names, and gives each text the same vector whatever it is
encoded with.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from tidebreak.detect.factcheck import BUNDLED, FactCheckDetector
from tidebreak.factcheck.claimreview import load_factchecks
from tidebreak.factcheck.index import FEATURES, ClaimIndex
from tidebreak.factcheck.static import META_FILE, STATIC_FILE, StaticEmbedder, default_static_dir
from tidebreak.model import Content, ContentKind, Item
from tidebreak.text import normalise

FLOOR = 0.35  # the detector's; the gate engages for callers that ignore matches under it
PARAPHRASE = ("you can just text your candidate's name to a short code and your vote is counted "
              "from your phone")
UNRELATED = [
    "what time does the game start tonight?",
    "He scored two goals in the second half",
    "Happy birthday to my best friend!!",
]


class CountingEncoder:
    """The shared encoder, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        from tidebreak.embed import get_encoder

        self.inner = get_encoder()
        self.encoder_id = None
        self.calls: list[str] = []

    def encode(self, texts, batch_size: int = 64):
        self.calls.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size)

    @property
    def model_dir(self):
        return self.inner.model_dir


@pytest.fixture(scope="module")
def factchecks():
    return load_factchecks(BUNDLED, strict=False)


@pytest.fixture(scope="module")
def encoder():
    return CountingEncoder()


@pytest.fixture(scope="module")
def gated(factchecks, encoder):
    return ClaimIndex(factchecks, encoder=encoder)


@pytest.fixture(scope="module")
def ungated(factchecks, gated, encoder):
    return ClaimIndex(factchecks, encoder=encoder, vectors=gated.vectors, gate=False)


def _claim(factchecks, fragment: str):
    return next(f for f in factchecks if fragment in f.claim)


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_static_table_loads_and_is_deterministic():
    d = default_static_dir()
    meta = json.loads((d / META_FILE).read_text())
    assert hashlib.sha256((d / STATIC_FILE).read_bytes()).hexdigest() == meta["sha256"]
    a, b = StaticEmbedder(d), StaticEmbedder(d)
    assert a.table.shape == (meta["vocabulary"], meta["dim"])
    assert np.array_equal(a.table, b.table)
    assert (d / STATIC_FILE).stat().st_size < 8_000_000  # a few MB
    texts = [PARAPHRASE, *UNRELATED, "", "   "]
    v = a.encode(texts)
    assert np.array_equal(v, b.encode(texts))
    # a text's vector does not depend on what it is encoded with
    for i, t in enumerate(texts):
        assert np.array_equal(a.encode([t])[0], v[i])
    norms = np.linalg.norm(v, axis=1)
    assert np.allclose(norms[:4], 1.0, atol=1e-5)
    assert np.all(v[4:] == 0.0)  # no pieces: the zero vector, cosine 0 with every claim
    th = meta["gate"]["thresholds"]
    assert a.thresholds.cosine == pytest.approx(th["cosine"])
    assert -1.0 < th["cosine"] < 1.0


def test_paraphrase_passes_the_gate_and_matches_as_before(factchecks, gated, ungated):
    fc = _claim(factchecks, "texting your candidate")
    g = gated.gate_scores([PARAPHRASE])
    assert g.opened[0]
    assert g.cosine[0] >= gated.gate_thresholds.cosine  # near the claim in the static space
    on = gated.search([PARAPHRASE], k=3, with_features=True, min_score=FLOOR)[0]
    off = ungated.search([PARAPHRASE], k=3, with_features=True)[0]
    assert on and on[0].claim_id == fc.claim_id and on[0].match == "text"
    assert on[0].score >= 0.35
    assert [(m.claim_id, m.score, dict(m.features)) for m in on] == \
        [(m.claim_id, m.score, dict(m.features)) for m in off]


def test_unrelated_post_is_skipped_and_gets_no_text_match(gated, encoder):
    g = gated.gate_scores(UNRELATED)
    assert not g.opened.any()
    assert (g.cosine < gated.gate_thresholds.cosine).all()
    assert (g.probability < gated.gate_thresholds.probability).all()
    before = len(encoder.calls)
    res = gated.search(UNRELATED, k=5, min_score=FLOOR)
    assert res == [[] for _ in UNRELATED]
    assert len(encoder.calls) == before  # never reached the transformer
    scored = gated.score_candidates(UNRELATED, min_score=FLOOR)
    assert all(len(c) == 0 and len(p) == 0 and x.shape == (0, len(FEATURES)) for c, p, x in scored)


def test_url_match_works_for_a_skipped_post(factchecks, gated):
    fc = next(f for f in factchecks if f.appearances)
    text = UNRELATED[0]
    assert not gated.gate_scores([text]).opened[0]
    for res in (gated.search([text], k=3, urls=[[fc.appearances[0]]], min_score=FLOOR),
                gated.search([f"{text} {fc.appearances[0]}"], k=3, min_score=FLOOR)):
        assert res[0] and res[0][0].claim_id == fc.claim_id
        assert res[0][0].match == "url" and res[0][0].score == 1.0
        assert all(m.match == "url" for m in res[0])


def test_mixed_batch_opened_posts_are_bit_identical(gated, ungated, factchecks):
    texts = [UNRELATED[0], PARAPHRASE, UNRELATED[1],
             "Masks weaken your immune system, doctors won't tell you", UNRELATED[2],
             _claim(factchecks, "Baking soda").claim]
    opened = gated.gate_scores(texts).opened
    assert opened[1] and opened[5] and not opened[0]
    on = gated.score_candidates(texts, min_score=FLOOR)
    off = ungated.score_candidates(texts, min_score=FLOOR)
    for i, o in enumerate(opened):
        if o:
            assert _same(on[i], off[i])
        else:
            assert len(on[i][0]) == 0
    # and search through the same path
    s_on = gated.search(texts, k=3, with_features=True, min_score=FLOOR)
    s_off = ungated.search(texts, k=3, with_features=True, min_score=FLOOR)
    for i, o in enumerate(opened):
        if o:
            assert [(m.claim_id, m.score, dict(m.features)) for m in s_on[i]] == \
                [(m.claim_id, m.score, dict(m.features)) for m in s_off[i]]


def test_gate_off_is_exactly_the_old_path(factchecks, gated, ungated, encoder):
    texts = [PARAPHRASE, *UNRELATED]
    # the old path: features of every post, then the fusion model over all of them
    X, cand, qid = ungated.features(texts)
    variant = "titled" if ungated.titled else "untitled"
    prob = ungated.fusion.variants[variant].predict(X, qid, ungated.group[cand])
    bounds = np.searchsorted(qid, np.arange(len(texts) + 1))
    old = [(cand[a:b], prob[a:b], X[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    for new in (ungated.score_candidates(texts, min_score=FLOOR),
                gated.score_candidates(texts, gate=False, min_score=FLOOR)):
        assert all(_same(a, b) for a, b in zip(new, old))
        assert all(len(c) > 0 for c, _, _ in new)  # every post has text candidates again
    before = dict(ungated.gate_stats)
    ungated.search(texts, min_score=FLOOR)
    assert ungated.gate_stats == before and ungated.static is None
    res_off = gated.search(texts, k=5, gate=False, min_score=FLOOR)
    res_ref = ungated.search(texts, k=5, min_score=FLOOR)
    assert [[(m.claim_id, m.score) for m in r] for r in res_off] == \
        [[(m.claim_id, m.score) for m in r] for r in res_ref]


def test_top_k_lists_without_a_floor_are_not_gated(gated, ungated, encoder):
    """`tidebreak factcheck match` and the API list the nearest claims whatever their score:
    they do not say they ignore low scores, so nothing is skipped; nor for a floor under the
    one the gate was chosen for."""
    for kw in ({}, {"min_score": 0.2}):
        before = len(encoder.calls)
        on = gated.search(UNRELATED, k=3, **kw)
        assert len(encoder.calls) == before + len(UNRELATED)
        off = ungated.search(UNRELATED, k=3, **kw)
        assert all(len(r) == 3 for r in on)
        assert [[(m.claim_id, m.score) for m in r] for r in on] == \
            [[(m.claim_id, m.score) for m in r] for r in off]


def test_detector_gate_switch_and_signals(factchecks, monkeypatch):
    items = [Item(Content(id=str(i), kind=ContentKind("post"), text=t), normalise(t))
             for i, t in enumerate([PARAPHRASE, *UNRELATED])]
    on = FactCheckDetector()
    assert on.index.gate
    off = FactCheckDetector(gate=False)
    assert not off.index.gate
    monkeypatch.setenv("TIDEBREAK_FACTCHECK_GATE", "0")
    assert not FactCheckDetector().index.gate
    s_on, s_off = on.detect(items), off.detect(items)
    assert s_on[0] and s_on[0][0].evidence["match"] == "text"
    assert s_on == s_off
    assert on.index.gate_stats["opened"] == 1 and on.index.gate_stats["posts"] == len(items)


def test_gate_keeps_every_clef_case_it_was_chosen_on():
    """The metadata records that the thresholds keep all required CLEF train+dev cases."""
    meta = json.loads((default_static_dir() / META_FILE).read_text())
    g = meta["gate"]
    assert g["required_kept"] == g["required_cases"] > 1000
    assert g["floor"] == 0.35
