"""Occlusion evidence: the words whose removal lowers a score are the ones shown to reviewers."""

from __future__ import annotations

import numpy as np

from tidebreak.detect.occlusion import Request, explain


def keyword_scorer(weights: dict[str, float]):
    """A stand-in model: log-odds = -3 + the weights of the words present."""

    def score(texts):
        out = []
        for t in texts:
            z = -3.0 + sum(w for k, w in weights.items() if k in t.split())
            out.append([1 / (1 + np.exp(-z))])
        return np.array(out)

    return score


def test_the_word_that_drives_the_score_is_the_span_with_its_offsets():
    score = keyword_scorer({"vermin": 6.0})
    text = "they are vermin all of them"
    base = float(score([text])[0, 0])
    [spans] = explain(score, [Request(text, 0, base)])
    assert [s.text for s in spans] == ["vermin"]
    assert text[spans[0].start : spans[0].end] == "vermin"
    assert spans[0].weight == 6.0


def test_adjacent_strong_words_merge_into_one_phrase_strongest_first():
    score = keyword_scorer({"drive": 3.0, "out": 3.0, "filth": 5.0})
    text = "drive out the filth"
    [spans] = explain(score, [Request(text, 0, float(score([text])[0, 0]))])
    assert [(s.text, s.weight) for s in spans] == [("filth", 5.0), ("drive out", 3.0)]


def test_no_spans_when_no_single_word_matters_or_one_word_only():
    score = keyword_scorer({})
    spans = explain(score, [Request("nothing stands out here", 0, 0.05), Request("word", 0, 0.05)])
    assert spans == [[], []]


def test_only_the_first_max_words_are_occluded():
    score = keyword_scorer({"late": 6.0})
    text = " ".join(["filler"] * 50 + ["late"])
    [spans] = explain(score, [Request(text, 0, float(score([text])[0, 0]))], max_words=40)
    assert spans == []


def test_flagged_harm_signals_carry_spans_and_clean_ones_do_not():
    from tidebreak.detect.harm import HarmClassifier

    clf = HarmClassifier()
    hateful = "Muslims are vermin and should be driven out of this country"
    probs, _ = clf.score([hateful, "lovely weather for the market today"])
    assert probs[0, 0] >= clf.thresholds["hate"] > probs[1, 0]
    spans = clf._spans([hateful, "lovely weather for the market today"], probs)
    assert (0, 0) in spans and not any(i == 1 for i, _ in spans)
    words = [s["text"] for s in spans[(0, 0)]]
    assert words and all(w in hateful for w in words)
