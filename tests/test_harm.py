"""The harm classifier (harm-v0.2, fine-tuned MiniLM), run against the committed artefacts in models/harm."""

from __future__ import annotations

import numpy as np
import pytest

from tidebreak.runtime import create_detector, detector_factories
from tidebreak.detect.harm import (CATEGORIES, NOT_COVERED, HarmClassifier, classify,
                                   get_classifier)
from tidebreak.model import Content, ContentKind, Item
from tidebreak.text.normalise import normalise


@pytest.fixture(scope="module")
def clf() -> HarmClassifier:
    return get_classifier()


def score(clf: HarmClassifier, text: str) -> dict[str, float]:
    return clf.classify([text])[0]["scores"]


def item(i: int, text: str) -> Item:
    return Item(Content(id=str(i), kind=ContentKind.POST, text=text), normalise(text))


def test_registered_and_versioned(clf: HarmClassifier) -> None:
    assert "harm" in detector_factories()
    det = create_detector("harm")
    assert det.name == "harm" and det.version.startswith("harm-v0")
    assert set(clf.thresholds) == set(CATEGORIES)
    assert all(0.0 < t < 1.0 for t in clf.thresholds.values())


def test_classify_output_shape() -> None:
    out = classify(["hello there", "I am going to shoot you tomorrow"])
    assert len(out) == 2
    for r in out:
        assert set(r) == {"scores", "labels", "language", "not_covered", "truncated"}
        assert r["not_covered"] is False
        assert set(r["scores"]) >= {"hate", "violence", "harassment"}
        assert all(0.0 <= p <= 1.0 for p in r["scores"].values())
        assert set(r["labels"]) <= set(r["scores"])
    assert "violence" in out[1]["labels"]


def test_hateful_scores_above_neutral_mention_of_same_group(clf: HarmClassifier) -> None:
    pairs = [
        ("Muslims are vermin and should be driven out of this country.",
         "Muslims in our town organised a food drive for the flood victims."),
        ("Jews control the banks and are poisoning our nation.",
         "My Jewish neighbours invited us to their Passover dinner."),
        ("Gay people are disgusting perverts who should not be allowed near children.",
         "My brother and his husband just adopted a baby girl."),
    ]
    for hateful, neutral in pairs:
        h, n = score(clf, hateful)["hate"], score(clf, neutral)["hate"]
        assert h > n + 0.3, (hateful, h, n)
    assert score(clf, pairs[0][0])["hate"] >= clf.thresholds["hate"]


def test_direct_threat_vs_figurative_kill(clf: HarmClassifier) -> None:
    threat = score(clf, "I will find you and kill you")["violence"]
    album = score(clf, "this album kills")["violence"]
    assert threat >= clf.thresholds["violence"]
    assert album < clf.thresholds["violence"]
    # Calibrated on a dev mix where threats are rare (~2%), so a clear threat can sit near 0.3;
    # what matters is the side of the threshold and the gap to the figurative use.
    assert threat > 5 * album


def test_harassment_vs_disagreement(clf: HarmClassifier) -> None:
    abuse = score(clf, "You are a pathetic worthless loser and everyone here hates you.")["harassment"]
    civil = score(clf, "I disagree with your point about the budget, but thanks for explaining.")["harassment"]
    assert abuse > civil + 0.3


def test_empty_text_scores_zero(clf: HarmClassifier) -> None:
    for text in ("", "   \n\t"):
        r = clf.classify([text])[0]
        assert r["scores"] == {c: 0.0 for c in clf.categories}
        assert r["labels"] == []


def test_one_megabyte_text_is_truncated_not_fatal(clf: HarmClassifier) -> None:
    big = "I really love the weather here. " * 33_000  # ~1 MB
    assert len(big) >= 1_000_000
    sigs = clf.detect([item(1, big)])[0]
    assert len(sigs) == len(clf.categories)
    assert all(s.evidence["truncated"] for s in sigs)
    assert all(0.0 <= s.score <= 1.0 for s in sigs)
    assert clf.classify(["x" * 1_000_000])[0]["scores"]
    [row] = clf.classify([big])
    assert row["truncated"] is True and clf.classify(["short and sweet"])[0]["truncated"] is False


def test_detect_emits_every_category_with_evidence(clf: HarmClassifier) -> None:
    texts = ["Have a lovely day everyone!", "I will find you and kill you", ""]
    out = clf.detect([item(i, t) for i, t in enumerate(texts)])
    assert len(out) == 3
    for sigs in out:
        assert [s.category for s in sigs] == list(clf.categories)
        for s in sigs:
            assert s.detector == "harm" and s.detector_version == clf.version
            assert set(s.evidence) >= {"threshold", "over_threshold", "truncated", "language"}
            assert s.evidence["over_threshold"] == (s.score >= s.evidence["threshold"])
    assert not any(s.evidence["over_threshold"] for s in out[0])
    assert all(s.score == 0.0 for s in out[2])


def test_batch_equals_one_by_one(clf: HarmClassifier) -> None:
    texts = [
        "Good morning!", "I will find you and kill you", "this album kills",
        "Immigrants are ruining everything, send them all back.", "", "word " * 400,
        "You're an idiot and nobody likes you.", "Vaccines are safe and effective.",
    ]
    batched = clf.classify(texts)
    single = [clf.classify([t])[0] for t in texts]
    for b, s in zip(batched, single):
        assert b["labels"] == s["labels"]
        assert np.allclose([b["scores"][c] for c in clf.categories],
                           [s["scores"][c] for c in clf.categories], atol=1e-5)


def test_occlusion_covers_the_words_the_model_reads(clf: HarmClassifier) -> None:
    # about 0.6 words per WordPiece token: a cue the model can read is never outside the spans' reach
    assert clf.explain_max_words == max(40, clf.max_length * 5 // 8)
    assert HarmClassifier(explain_max_words=12).explain_max_words == 12


def test_threshold_override() -> None:
    strict = HarmClassifier(thresholds={"violence": 0.999999})
    assert strict.thresholds["violence"] == 0.999999
    assert "violence" not in strict.classify(["this album kills"])[0]["labels"]


# -- functional tests (tidebreak's own cases, training/harm_functional.py; never trained on) ------
# Minimum pass rates at the operating thresholds: the rates the model card states for the bundled
# model, so a regression in any kind fails the suite.

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import harm_functional  # noqa: E402

MIN_PASS = {
    "counter_speech": 1.0,
    "identity_neutral_or_reclaimed": 1.0,
    "negated_hate": 1.0,
    "profanity_at_no_one": 1.0,
    "figurative_violence": 1.0,
    "direct_threat": 1.0,
    "obfuscated_hate": 1.0,
    "plain_hate": 1.0,
}


@pytest.fixture(scope="module")
def functional(clf: HarmClassifier) -> dict:
    return harm_functional.run(clf)


@pytest.mark.parametrize("kind", sorted(MIN_PASS))
def test_functional_pass_rate(functional: dict, kind: str) -> None:
    r = functional[kind]
    assert r["pass_rate"] >= MIN_PASS[kind], (kind, r["pass_rate"], r["failures"])


def test_obfuscated_hate_scores_close_to_plain(clf: HarmClassifier) -> None:
    plain = "Muslims are vermin and should be driven out."
    variants = ["M u s l i m s are vermin and should be driven out.",
                "Muslіms аre vermin and should be driven out.",  # Cyrillic і, а
                "M.u.s.l.i.m.s are vermin and should be driven out."]
    p = score(clf, plain)["hate"]
    for v in variants:
        assert score(clf, v)["hate"] >= clf.thresholds["hate"], v
        assert abs(score(clf, v)["hate"] - p) < 0.25, v


def test_identity_group_spread_at_card_rates(clf: HarmClassifier) -> None:
    # The card's figures for the bundled model (16 groups x 6 hateful and 6 neutral templates):
    # harm-v0.10.0 passes 96/96 neutral sentences and catches 90/96 hateful ones, spread 0.25 (the
    # low group is hate against "men", 3 of 6). harm-v0.9.0 had 96/96, 90/96 and 0.33;
    # harm-v0.7.0 95/96, 92/96 and 0.25. A regression below these fails here.
    spread = harm_functional.group_spread(clf)
    g = spread["per_group"]
    assert len(g) == len(harm_functional.GROUPS)
    neutral = sum(r["neutral_pass"] for r in g.values()) / len(g)
    recall = sum(r["hateful_recall"] for r in g.values()) / len(g)
    assert neutral >= 0.999, neutral
    assert recall >= 0.937, recall
    assert spread["spread"] <= 0.26


def test_bad_input_never_crashes(clf: HarmClassifier) -> None:
    junk = [bytes(range(256)).decode("latin-1"), "\x00\x01\x02\ufffd" * 50, "Привет мир hello 你好 مرحبا",
            "🔥" * 5000, "a" * 100_000, None]
    out = clf.classify(junk)  # type: ignore[arg-type]
    assert len(out) == len(junk)
    for r in out:
        assert all(0.0 <= p <= 1.0 for p in r["scores"].values())


# -- language gate: text the model does not cover is not scored as if it were English ----------

NOT_ENGLISH = {
    "es": "Todos los inmigrantes son unos delincuentes y deberían largarse de nuestro país.",
    "de": "Alle Ausländer sind Verbrecher und sollten sofort abgeschoben werden.",
    "ar": "كل هؤلاء المهاجرين مجرمون ويجب طردهم من بلادنا.",
}


def test_model_covers_english_by_default(clf: HarmClassifier) -> None:
    assert clf.languages == tuple(clf.metadata.get("languages") or ("en",))
    assert "en" in clf.languages


@pytest.mark.parametrize("lang", sorted(NOT_ENGLISH))
def test_uncovered_language_is_not_scored_but_flagged(clf: HarmClassifier, lang: str) -> None:
    text = NOT_ENGLISH[lang]
    (sigs,) = clf.detect([item(0, text)])
    (sig,) = sigs  # one routing signal, no harm signal
    assert sig.category == NOT_COVERED and sig.detector == "harm"
    assert sig.evidence["not_covered"] is True and sig.evidence["language"] == lang
    assert 0.9 <= sig.evidence["language_confidence"] <= 1.0
    assert sig.score == pytest.approx(sig.evidence["language_confidence"], abs=1e-4)
    r = clf.classify([text])[0]
    assert r["not_covered"] is True and r["language"] == lang and r["labels"] == []
    assert r["scores"] == {c: 0.0 for c in clf.categories}


def test_english_short_and_long_is_scored(clf: HarmClassifier) -> None:
    texts = ["you are trash", "lol", "I will find you and kill you",
             "Muslims are vermin and should be driven out of this country. " * 5,
             "RT @user: these people are animals http://t.co/x #sendthemback 🤬🤬"]
    out = clf.detect([item(i, t) for i, t in enumerate(texts)])
    for sigs, text in zip(out, texts):
        assert [s.category for s in sigs] == list(clf.categories), text
        assert all(s.evidence["language"] in ("en", "und") for s in sigs)
    assert out[2][clf.categories.index("violence")].evidence["over_threshold"]
    assert all(not r["not_covered"] for r in clf.classify(texts))


def test_gate_off_scores_everything() -> None:
    ungated = HarmClassifier(language_gate=False)
    (sigs,) = ungated.detect([item(0, NOT_ENGLISH["es"])])
    assert [s.category for s in sigs] == list(ungated.categories)
    assert ungated.classify([NOT_ENGLISH["de"]])[0]["not_covered"] is False


def test_metadata_languages_decide_coverage(tmp_path: Path) -> None:
    import json

    from tidebreak.detect.harm import default_model_dir

    src = default_model_dir()
    for f in src.iterdir():
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "metadata.json").unlink()
    meta = json.loads((src / "metadata.json").read_text())
    meta["languages"] = ["en", "es"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    both = HarmClassifier(tmp_path)
    assert both.languages == ("en", "es")
    (es,) = both.detect([item(0, NOT_ENGLISH["es"])])
    assert [s.category for s in es] == list(both.categories)  # covered: scored
    assert es[0].evidence["language"] == "es"
    (de,) = both.detect([item(1, NOT_ENGLISH["de"])])
    assert [s.category for s in de] == [NOT_COVERED]
