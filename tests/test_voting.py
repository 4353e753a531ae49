"""The election-claims detector ("voting"): topic gate, claim types, stance, and the default
policy acting on its signals (issue 19: a suspicion routes, a counter-message is left alone)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tidebreak.config import DEFAULT_DETECTORS, Settings
from tidebreak.detect.voting import (CATEGORY, CIVIC_CATEGORY, CLASSES, FRAUD_CATEGORY,
                                     THREAT_CATEGORY, ClaimsModel, VotingDetector,
                                     get_claims_model)
from tidebreak.ingest import parse_event
from tidebreak.model import ActionType, Content, ContentKind, Item
from tidebreak.policy import load_default_policy
from tidebreak.runtime import build_pipeline, detector_factories
from tidebreak.text import normalise

LIES = ["Democrats vote on Wednesday this year, Republicans on Tuesday.",
        "Polls close at noon on Tuesday this year because of staffing cuts, so go early.",
        "You can vote by text! Just text your candidate's name to 88022."]
# A false claim meant to scare people away from the polls: the model may read it as a false claim
# or as intimidation (election_threat); the default policy removes it either way.
INTIMIDATION = "ICE agents will be at every polling place checking papers, stay home if you're not sure"
ACCURATE = ["Reminder: polls are open 7am to 8pm on Tuesday. If you're in line by 8 you can vote.",
            "If your name isn't on the list at your polling place, ask for a provisional ballot.",
            "I'm a new citizen and I'm voting for the first time this year!"]
COUNTER = ["No, you can't vote by text. That's a scam, vote in person or by mail.",
           "That post saying Democrats vote Wednesday is FALSE. Everyone votes on Tuesday."]


@pytest.fixture(scope="module")
def det() -> VotingDetector:
    return VotingDetector()


def items(*texts: str) -> list[Item]:
    return [Item(Content(id=f"c{i}", kind=ContentKind.POST, text=t), normalise(t))
            for i, t in enumerate(texts)]


def score(det: VotingDetector, text: str) -> float:
    sigs = [s for s in det.detect(items(text))[0] if s.category == CATEGORY]
    return sigs[0].score if sigs else 0.0


def test_registered_and_on_by_default() -> None:
    assert "voting" in DEFAULT_DETECTORS and "voting" in detector_factories()


def test_the_gate_closes_on_other_topics_without_running_the_model(det: VotingDetector) -> None:
    model = get_claims_model()

    class NoGraph:
        def run(self, encodings: Sequence[object], batch: int) -> object:
            raise AssertionError("the gate should have closed")

    real, model.runner = model.runner, NoGraph()
    try:
        assert det.detect(items("Lovely tomatoes at the market today",
                                "Text your mom happy birthday")) == [[], []]
    finally:
        model.runner = real
    assert model.gate.opens("Where is my polling place?")
    assert model.gate.opens("Se puede votar por WhatsApp?")


def test_lies_score_over_the_review_bar_and_accurate_posts_under_it(det: VotingDetector) -> None:
    bars = load_default_policy().thresholds
    for text in LIES:
        assert score(det, text) >= bars["voting_review"], text
    for text in ACCURATE:
        assert score(det, text) < bars["voting_review"], text


def test_counter_messages_are_capped_under_every_bar(det: VotingDetector) -> None:
    for text in COUNTER:
        [sig] = [s for s in det.detect(items(text))[0] if s.category == CATEGORY] or [None]
        if sig is not None:  # a counter-message may also score under the floor: no signal at all
            assert sig.score <= det.refute_cap and sig.evidence["stance"] == "refutes", text


def test_evidence_explains_the_claim_type(det: VotingDetector) -> None:
    [sig] = [s for s in det.detect(items(LIES[2]))[0] if s.category == CATEGORY]
    assert sig.evidence["claim_type"] == "false_procedure"
    assert set(sig.evidence["probabilities"]) == set(CLASSES)
    assert sig.evidence["match"] == "classifier" and sig.detector_version.startswith("voting-")


def test_the_prediction_is_shared_by_text_and_does_not_depend_on_batch_mates() -> None:
    m = ClaimsModel()
    alone = m.predict([LIES[0]])[0][0]
    mixed = m.predict([ACCURATE[0], LIES[0], COUNTER[0]])[1][0]
    assert abs(alone - mixed).max() < 1e-6


def test_default_policy_removes_lies_and_leaves_civic_posts_and_counter_messages_alone(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["voting"])
    d = p.process(parse_event({"id": "v1", "author": "u1", "text": LIES[2]})).decision
    assert d.action == ActionType.REMOVE and d.categories == ("voting_misinformation",)
    for i, text in enumerate(ACCURATE + COUNTER):
        d = p.process(parse_event({"id": f"ok{i}", "author": "u2", "text": text})).decision
        assert d.action == ActionType.NONE and d.categories == (), text


def test_fraud_allegations_get_an_information_label_and_no_category(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["voting"])
    text = "The machines in our county flipped thousands of votes. The election was stolen."
    d = p.process(parse_event({"id": "f1", "author": "u3", "text": text})).decision
    assert "election-fraud-claim-info" in d.rules
    assert d.categories == () and d.outcome == "information"
    assert any(s.category == FRAUD_CATEGORY for s in d.signals)


def test_a_refutation_of_a_fact_checked_or_banked_lie_is_not_labelled(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from tidebreak.detect.bank_store import add_entry

    lie = ("Democrats vote on Wednesday November 6 this year and Republicans vote on Tuesday "
           "November 5, to keep the lines short. Share this with everyone!")
    with Session(engine) as s, s.begin():
        add_entry(s, tenant="default", text=lie, bank="reviewed-removals",
                  category="voting_misinformation", added_by="reviewer:r1", now=clock())
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["bank", "factcheck", "voting"])
    # a copy of the banked lie is removed ...
    d = p.process(parse_event({"id": "b1", "author": "u1", "text": lie})).decision
    assert d.action == ActionType.REMOVE
    # ... a post quoting it in order to refute it is left alone, and says why
    refutation = (f'Stop sharing this: "{lie}" It is FALSE. Everyone votes on Tuesday November 5, '
                  "whatever your party.")
    d = p.process(parse_event({"id": "b2", "author": "u2", "text": refutation})).decision
    assert d.action == ActionType.NONE and d.categories == ()
    bank = [s for s in d.signals if s.detector == "bank"]
    assert bank and all(s.evidence["stance"] == "refutes" and s.score <= 0.3 for s in bank)
    # the same for a post that matches a fact-checked claim (vote by text) to refute it
    d = p.process(parse_event({"id": "f1", "author": "u3", "text":
                               "No, you cannot vote by texting your candidate's name to a short "
                               "code. That text is a scam. Vote in person or by mail."})).decision
    assert d.action == ActionType.NONE and d.categories == ()
    fc = [s for s in d.signals if s.detector == "factcheck"]
    assert fc and fc[0].evidence["stance"] == "refutes" and fc[0].score <= 0.1


THREATS = ["The clerk who certified this drives a silver Camry and leaves the office at 5:10. "
           "Just saying.",
           "Certify it and find out. We know where the canvass board members live.",
           "Bring your rifles to the drop boxes on Tuesday. Let them see who's watching."]
HEATED = ["Our secretary of state is an embarrassment. Vote her out in November!",
          "We're going to crush them at the polls. Knock every door this weekend!",
          "The county added panic buttons for poll workers after threats last cycle."]


def test_threats_around_elections_are_read_in_context(det: VotingDetector) -> None:
    bars = load_default_policy().thresholds

    def threat(text: str) -> float:
        sigs = [s for s in det.detect(items(text))[0] if s.category == THREAT_CATEGORY]
        return sigs[0].score if sigs else 0.0

    for text in THREATS:
        assert threat(text) >= bars["election_threat_review"], text
    for text in HEATED:
        assert threat(text) < bars["election_threat_review"], text


def test_default_policy_removes_an_election_threat_and_leaves_heated_politics_alone(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["voting"])
    for i, text in enumerate(THREATS):
        d = p.process(parse_event({"id": f"t{i}", "author": f"u1{i}", "text": text})).decision
        assert d.action == ActionType.REMOVE and d.categories == ("violence",), text
        # the general violence rule reads the strongest violence score of any detector; the
        # election rule removes what the claims model reads as a threat from a lower bar
        assert {"election-threat-remove", "violence-remove"} & set(d.rules), text
    d = p.process(parse_event({"id": "i1", "author": "u5", "text": INTIMIDATION})).decision
    assert d.action == ActionType.REMOVE and d.categories in (("violence",),
                                                              ("voting_misinformation",))
    for i, text in enumerate(HEATED):
        d = p.process(parse_event({"id": f"h{i}", "author": "u2", "text": text})).decision
        assert d.categories == () and d.action == ActionType.NONE, text


def test_the_civic_reading_is_a_signal_of_its_own(det: VotingDetector) -> None:
    def civic(text: str) -> float:
        sigs = [s for s in det.detect(items(text))[0] if s.category == CIVIC_CATEGORY]
        return sigs[0].score if sigs else 0.0

    for text in ACCURATE + COUNTER:
        assert civic(text) >= 0.5, text
    for text in LIES + THREATS:
        assert civic(text) == 0.0, text


def test_a_harm_threat_the_election_model_reads_as_civic_talk_is_reviewed_not_removed(engine, clock) -> None:  # type: ignore[no-untyped-def]
    # An accurate post the general harm model reads as a credible threat (violence over the
    # removal bar) and the claims model, in its election context, as civic talk.
    text = ("brought two dozen donuts to the poll workers at the Grange hall. gone by 10am. next "
            "time i'm bringing a crate")
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["harm", "voting"])
    d = p.process(parse_event({"id": "m1", "author": "u31", "text": text})).decision
    harm = max(s.score for s in d.signals if s.detector == "harm" and s.category == "violence")
    assert harm >= load_default_policy().thresholds["violence_remove"]
    assert d.action == ActionType.REVIEW and d.rules == ["violence-contested-review"]
    assert d.categories == ()  # a suspicion: no statement, strike or count
    # A threat is still removed.
    d = p.process(parse_event({"id": "t9", "author": "u39", "text": THREATS[0]})).decision
    assert d.action == ActionType.REMOVE


def test_text_in_a_language_the_model_is_not_measured_in_goes_to_a_person(engine, clock) -> None:  # type: ignore[no-untyped-def]
    det = VotingDetector()
    assert det.languages == ("en",)
    lie_es = ("Atención votantes: este año se puede votar por WhatsApp. Manden el nombre de su "
              "candidato al número de la junta electoral y listo, no hace falta ir a la casilla.")
    assert det.detect(items(lie_es)) == [[]]
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["harm", "voting"])
    d = p.process(parse_event({"id": "es1", "author": "u9", "text": lie_es})).decision
    assert d.categories == () and d.action == ActionType.REVIEW
    assert "language-not-covered-review" in d.rules


def test_ngram_features_are_stable_hashed_buckets() -> None:
    from tidebreak.detect.voting import NGRAM_DIM, ngram_features

    f = ngram_features("Text VOTE to 88022!")
    assert (f == ngram_features("text vote to 88022")).all()  # case and punctuation fold away
    assert f.dtype.kind == "i" and len(set(f.tolist())) == len(f) and 0 <= f.min() < f.max() < NGRAM_DIM
    assert len(ngram_features("")) == 0


def test_hashed_features_are_their_plain_definitions() -> None:
    """gate_features and ngram_features memoise per word and hash a bigram as a running CRC;
    the buckets are exactly those of hashing every gram's string."""
    import re
    import zlib

    from tidebreak.detect.voting import GATE_DIM, NGRAM_CHARS, NGRAM_DIM, gate_features, ngram_features

    def words(t: str) -> list[str]:
        return [w.lower() for w in re.findall(r"[^\W_]+(?:'[^\W_]+)?", t)]

    def crc(g: str, dim: int) -> int:
        return zlib.crc32(g.encode("utf-8")) % dim

    for t in [*LIES, *COUNTER, INTIMIDATION, "", "a", "Straße İstanbul ÉLECTION vote vote", "日本の選挙 vote"]:
        w = words(t)
        bigrams = [f"{a} {b}" for a, b in zip(w, w[1:])]
        assert gate_features(t) == sorted({crc(g, GATE_DIM) for g in w + bigrams})
        grams = [f"w {g}" for g in w + bigrams] + [
            f"c {p[i:i + n]}" for p in (f"<{x}>" for x in w) for n in NGRAM_CHARS
            for i in range(max(1, len(p) - n + 1))]
        assert ngram_features(t).tolist() == sorted({crc(g, NGRAM_DIM) for g in grams})


@pytest.mark.parametrize("b", [0.0, 1e-9, -1e-9, 1e-3, -1e-3, 50.0, -50.0, -100.0])
def test_the_gate_opens_exactly_when_its_score_reaches_the_threshold(b: float) -> None:
    """`opens` compares logits away from the threshold and the sigmoid itself near it: the
    verdict is `score >= threshold` either way (here at the threshold's logit, 0, give or take)."""
    import numpy as np

    from tidebreak.detect.voting import TopicGate

    gate = TopicGate(np.zeros(0, np.int64), np.zeros(0), b, 0.5)
    text = "the cat sat on the mat"  # no keyword, no weighted feature: the score is sigmoid(b)
    assert gate.opens(text) == (gate.score(text) >= 0.5)
    assert gate.opens(text) == (b >= 0.0)
    # a threshold under the sigmoid's floor (z clipped at -40): every post opens, as before
    low = TopicGate(np.zeros(0, np.int64), np.zeros(0), b, 1e-30)
    assert low.opens(text) and low.score(text) >= 1e-30


def test_the_ensemble_combination_is_a_distribution_and_weight_zero_is_minilm_alone() -> None:
    import numpy as np

    from tidebreak.detect.voting import NgramModel, combine

    rng = np.random.default_rng(0)
    minilm = rng.dirichlet(np.ones(len(CLASSES)), size=4)
    ngram = NgramModel(rng.normal(size=(1 << 18, len(CLASSES))).astype(np.float16),
                       np.zeros(len(CLASSES))).proba(LIES + [""])
    assert np.allclose(ngram.sum(axis=1), 1.0, atol=1e-5)
    for mode in ("linear", "log"):
        assert np.allclose(combine(minilm, ngram, mode, 0.0), minilm, atol=1e-5)
        assert np.allclose(combine(minilm, ngram, mode, 0.4).sum(axis=1), 1.0, atol=1e-5)


def test_the_installed_ensemble_matches_its_metadata() -> None:
    m = get_claims_model()
    ens = m.meta.get("ensemble") or {}
    assert len(m.extra_runners) == len(ens.get("members") or [None]) - 1
    assert (m.ngram is not None) == bool(ens.get("ngram"))
    if m.ngram is not None:
        assert 0.0 < m.ensemble_weight < 1.0 and m.ensemble_mode in ("linear", "log")


def test_calibration_is_a_distribution_and_absent_calibration_changes_nothing() -> None:
    import numpy as np

    from tidebreak.detect.voting import calibrate

    p = np.random.default_rng(1).dirichlet(np.ones(len(CLASSES)), size=5)
    assert calibrate(p, None, None) is p
    assert np.allclose(calibrate(p, [1.0] * len(CLASSES), [0.0] * len(CLASSES)), p, atol=1e-6)
    q = calibrate(p, [1.3] * len(CLASSES), [0.0, 0.5, 0, 0, 0, 0, 0])
    assert np.allclose(q.sum(axis=1), 1.0, atol=1e-6)
    # a temperature alone sharpens without reordering the classes
    assert (calibrate(p, [1.3] * len(CLASSES), None).argmax(1) == p.argmax(1)).all()


def test_the_installed_calibration_is_applied_as_its_metadata_says() -> None:
    import numpy as np

    from tidebreak.detect.voting import _softmax, calibrate, combine

    m = get_claims_model()
    cal = m.meta.get("calibration")
    if not cal:
        pytest.skip("no calibration installed")
    assert len(cal["scale"]) == len(cal["bias"]) == len(CLASSES) and cal["fitted_on"] == "dev"
    text = "Reminder: polls close at noon on Tuesday this year, so go early."
    z = m.runner.run(m.tok.encode_batch([text]), 64)
    raw = _softmax(z[:, :len(CLASSES)])
    if m.ngram is not None:
        raw = combine(raw, m.ngram.proba([text]), m.ensemble_mode, m.ensemble_weight)
    want = calibrate(raw, cal["scale"], cal["bias"])[0]
    assert np.allclose(ClaimsModel.predict(m, [text])[0][0], want, atol=1e-4)


def test_the_accurate_rule_on_a_fact_checked_lies_point_corrects_it(engine, clock) -> None:  # type: ignore[no-untyped-def]
    # The bundled fact-checks rate "If you're still in line when the polls close, you'll be sent
    # home without voting" false. A post giving the true rule matches that claim as closely as a
    # repeat does; the claims model reads it as accurate procedure, so the match is capped.
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["factcheck", "voting"])
    text = ("Reminder: if you are in line at 8pm when polls close, stay in line and you will get "
            "to vote.")
    d = p.process(parse_event({"id": "c1", "author": "u1", "text": text})).decision
    assert d.action == ActionType.NONE and d.categories == ()
    fc = [s for s in d.signals if s.detector == "factcheck"]
    assert fc and fc[0].evidence["stance"] == "corrects" and fc[0].score <= 0.1
    assert fc[0].evidence["stance_probabilities"]["correcting"] == 1.0
    # the lie on the same point is still removed
    lie = "If you're still in line when the polls close they send you home. Don't bother after 6."
    d = p.process(parse_event({"id": "l1", "author": "u2", "text": lie})).decision
    assert d.action == ActionType.REMOVE and "voting_misinformation" in d.categories


def test_corrects_needs_the_accurate_reading_to_dominate_lies_fraud_and_threats() -> None:
    import numpy as np

    from tidebreak.detect.voting import answer_stance, corrects

    def probs(**p: float) -> np.ndarray:
        return np.array([p.get(c, 0.0) for c in CLASSES])

    # the stance head reads it as repeating: corrects() does not ask it (never trained on
    # accurate procedures)
    any_stance = np.array([0.9, 0.05, 0.05])
    assert corrects(probs(accurate_procedure=0.8, false_procedure=0.1), any_stance)
    # at least twice the harmful classes together, and at least 0.5 itself
    assert not corrects(probs(accurate_procedure=0.6, false_procedure=0.2, election_threat=0.11),
                        any_stance)
    assert not corrects(probs(accurate_procedure=0.45, civic=0.55), any_stance)
    assert answer_stance({"refuting": 1.0, "correcting": 1.0}, about_voting=True) == "refutes"
    assert answer_stance({"refuting": 0.0, "correcting": 1.0}, about_voting=True) == "corrects"
    assert answer_stance({"refuting": 0.0, "correcting": 0.0}, about_voting=True) is None
    # the claims model knows accurate election rules only: a correction answers voting lies alone,
    # a refutation answers any lie
    assert answer_stance({"refuting": 0.0, "correcting": 1.0}, about_voting=False) is None
    assert answer_stance({"refuting": 1.0, "correcting": 0.0}, about_voting=False) == "refutes"


def test_a_counter_message_the_stance_head_doubts_still_refutes_a_voting_lie() -> None:
    import numpy as np

    from tidebreak.detect.voting import answer_stance, counters

    def probs(**p: float) -> np.ndarray:
        return np.array([p.get(c, 0.0) for c in CLASSES])

    # the claim-type head alone: a counter-message at least 0.5 and twice the harmful classes
    assert counters(probs(counter_message=0.81, civic=0.13, false_procedure=0.01))
    assert not counters(probs(counter_message=0.6, false_procedure=0.31))
    assert not counters(probs(counter_message=0.45, civic=0.55))
    doubted = {"refutes": 0.45, "repeats": 0.35, "refuting": 0.0, "correcting": 0.0,
               "countering": 1.0}
    assert answer_stance(doubted, about_voting=True) == "refutes"
    # a fact-check about something else: the head knows election counter-messages only
    assert answer_stance(doubted, about_voting=False) is None


def test_a_voting_match_the_claims_model_does_not_read_as_asserted_is_only_a_suspicion() -> None:
    import numpy as np

    from tidebreak.detect.voting import ASSERTS_FLOOR, answer_stance, asserting, unasserted

    def probs(**p: float) -> np.ndarray:
        return np.array([p.get(c, 0.0) for c in CLASSES])

    # "you don't have to vote every race, the rest still counts": accurate, but not sure enough
    # to correct the "a skipped race voids your ballot" lie
    topic_only = probs(accurate_procedure=0.57, false_procedure=0.38, civic=0.05)
    assert asserting(topic_only) == pytest.approx(0.38) and asserting(topic_only) < ASSERTS_FLOOR
    stance = {"refuting": 0.0, "correcting": 0.0, "countering": 0.0,
              "asserting": float(asserting(topic_only))}
    assert answer_stance(stance, about_voting=True) is None  # neither refutes nor corrects ...
    assert unasserted(stance, about_voting=True)  # ... nor asserts the lie
    # a fraud allegation asserts a claim as much as a false rule does
    assert not unasserted({"asserting": float(asserting(probs(fraud_allegation=0.3,
                                                                 false_procedure=0.2)))}, True)
    # the claim-type head knows elections only; and without its reading nothing is doubted
    assert not unasserted(stance, about_voting=False)
    assert not unasserted({"refuting": 0.0}, about_voting=True)


def test_a_post_on_a_fact_checked_lies_topic_that_asserts_no_lie_goes_to_a_person(engine, clock) -> None:  # type: ignore[no-untyped-def]
    # The bundled fact-checks rate "voting in the primary bars you from the general" false. A
    # voter's question about it matches that claim as closely as a repeat (match probability
    # over the 0.90 removal bar), but the claims model reads no false claim asserted in it: the
    # match is a suspicion, so the post is reviewed, not removed.
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["factcheck", "voting"])
    text = ("Wait, if I vote in the primary can I still vote in the general in November? "
            "Asking for my mom")
    d = p.process(parse_event({"id": "q1", "author": "u1", "text": text})).decision
    assert d.action == ActionType.REVIEW and d.categories == ()
    [fc] = [s for s in d.signals if s.detector == "factcheck"]
    assert fc.evidence["stance"] == "unasserted" and fc.score <= 0.6
    assert fc.evidence["match_probability"] >= 0.90
    assert fc.evidence["stance_probabilities"]["asserting"] < 0.45
    # a lie is still removed on its match
    lie = "Heads up: if you vote in the primary you can't vote in the November general election."
    d = p.process(parse_event({"id": "l2", "author": "u2", "text": lie})).decision
    assert d.action == ActionType.REMOVE and "voting_misinformation" in d.categories
