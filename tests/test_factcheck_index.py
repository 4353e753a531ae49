"""ClaimIndex retrieval, URL matching, save/load, and the factcheck detector (counter-speech)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tidebreak.factcheck.claimreview import FactCheck, FactCheckError
from tidebreak.factcheck.index import ClaimIndex, clean_text, tokenize
from tidebreak.text.urls import canonical_url
from tidebreak.model import Content, ContentKind, Item

VOTE_URL = "https://www.politifact.com/factchecks/2020/oct/28/vote-by-text/"
CLAIMS = [
    FactCheck("c-text", "You can vote from your phone by texting your candidate's name to a short code number.",
              rating="false", original_rating="Pants on Fire", publisher="PolitiFact", url=VOTE_URL,
              appearances=("https://social.example.net/p/6699658a70",), topics=frozenset({"voting"})),
    FactCheck("c-5g", "5G mobile phone masts spread the coronavirus.", rating="false",
              publisher="Full Fact", url="https://fullfact.org/health/5g-coronavirus/"),
    FactCheck("c-bleach", "Drinking diluted bleach cures COVID-19.", rating="false",
              publisher="AFP Fact Check", url="https://factcheck.afp.com/bleach"),
    FactCheck("c-autism", "The MMR vaccine causes autism in children.", rating="false",
              publisher="Health Feedback", url="https://healthfeedback.org/mmr-autism/"),
    FactCheck("c-wed", "Supporters of one party have been told to vote on Wednesday, the day after Election Day.",
              rating="false", publisher="AP Fact Check", url="https://apnews.com/wednesday",
              topics=frozenset({"voting"})),
    FactCheck("c-masks", "Wearing a face mask makes you breathe in dangerous levels of carbon dioxide.",
              rating="false", publisher="Reuters Fact Check", url="https://reuters.com/masks-co2"),
    FactCheck("c-es", "Se puede votar por internet desde casa en las elecciones generales.", rating="false",
              publisher="Maldita.es", url="https://maldita.es/votar-internet", language="es",
              topics=frozenset({"voting"})),
    FactCheck("c-true", "Some towns allow non-citizens to vote in local elections.", rating="true",
              publisher="PolitiFact", url="https://www.politifact.com/towns/", topics=frozenset({"voting"})),
]


@pytest.fixture(scope="module")
def index() -> ClaimIndex:
    return ClaimIndex(CLAIMS)


def item(text: str, urls: tuple[str, ...] = ()) -> Item:
    from tidebreak.text.normalise import normalise

    return Item(Content("p1", ContentKind.POST, text, urls=urls), normalise(text))


def test_paraphrase_of_debunked_claim_matches(index: ClaimIndex) -> None:
    (ms,) = index.search(["Did you know you can just text your candidate's name to a number to cast your vote from your phone?"])
    assert ms[0].claim_id == "c-text" and ms[0].match == "text"
    (ms,) = index.search(["the new 5G towers are what's spreading covid, wake up"])
    assert ms[0].claim_id == "c-5g"
    assert all(0.0 <= m.score <= 1.0 for m in ms)


def test_unrelated_post_does_not_match(index: ClaimIndex) -> None:
    (ms,) = index.search(["Made a lovely lemon drizzle cake for my nan's birthday today"])
    assert ms[0].score < 0.35


def test_scores_are_ordered_and_k_respected(index: ClaimIndex) -> None:
    (ms,) = index.search(["masks make you breathe too much CO2"], k=3)
    assert len(ms) == 3
    assert [m.score for m in ms] == sorted((m.score for m in ms), reverse=True)


def test_url_with_tracking_params_matches(index: ClaimIndex) -> None:
    u = "http://politifact.com/factchecks/2020/oct/28/vote-by-text?utm_source=tw&utm_medium=x&fbclid=AbC"
    (ms,) = index.search(["look at this"], urls=[[u]])
    assert ms[0].claim_id == "c-text" and ms[0].score == 1.0 and ms[0].match == "url"
    (ms,) = index.search(["seen here https://WWW.social.example.net/p/6699658a70/?utm_campaign=z"])
    assert ms[0].claim_id == "c-text" and ms[0].match == "url"
    assert canonical_url("https://www.Example.com/a/?utm_source=1&id=2#frag") == "example.com/a?id=2"
    # one canonicaliser for fact-checks and coordination: a shared tweet is the tweet
    assert canonical_url("https://x.com/a/status/1?s=20&t=Ab") == "x.com/a/status/1"
    assert canonical_url("https://blog.example/?s=ballots") == "blog.example?s=ballots"


def test_non_english_claim_matches_lexically(index: ClaimIndex) -> None:
    (ms,) = index.search(["¡Ojo! Este año se puede votar por internet desde casa"])
    assert ms[0].claim_id == "c-es"


def test_tokeniser() -> None:
    t = tokenize("Voters were told 1,000 ballots were DESTROYED in Michigan")
    assert "1000" in t.numbers and "michigan" in t.names and "ballot" in t.terms
    assert "投票" in tokenize("可以用短信投票").terms
    assert clean_text("#DefundTheCBC now https://t.co/x") == "Defund The CBC now"


def test_save_and_load(index: ClaimIndex, tmp_path) -> None:
    index.save(tmp_path / "ix")
    again = ClaimIndex.load(tmp_path / "ix")
    assert again.fingerprint == index.fingerprint
    q = ["you can vote by text message"]
    assert [m.claim_id for m in again.search(q)[0]] == [m.claim_id for m in index.search(q)[0]]
    with pytest.raises(FactCheckError):
        ClaimIndex.load(tmp_path / "nothing")


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(FactCheckError, match="duplicate"):
        ClaimIndex([CLAIMS[0], CLAIMS[0]])


def test_empty_index() -> None:
    ix = ClaimIndex([])
    assert ix.search(["anything"]) == [[]]


# The same hoax, fact-checked twice: a post is matched to the one of its own time.
LONDON = [
    FactCheck("trump-2019", "A video shows a crowd chanting 'We love Trump' in London in June 2019."),
    FactCheck("trump-2017", "A video shows a crowd chanting 'We love Trump' in London in March 2017."),
]
LONDON_POST = "Huge crowd in London chanting we love Trump!"


@pytest.fixture(scope="module")
def london() -> ClaimIndex:
    return ClaimIndex(LONDON)


def test_posts_date_picks_the_fact_check_of_its_time(london: ClaimIndex) -> None:
    june, march = london.search([LONDON_POST, LONDON_POST], k=2,
                                dates=[date(2019, 6, 4), "2017-03-10T08:00:00Z"])
    assert [m.claim_id for m in june] == ["trump-2019", "trump-2017"]
    assert [m.claim_id for m in march] == ["trump-2017", "trump-2019"]
    # with no date (and no quoted-tweet signature in the text) both still match
    [undated] = london.search([LONDON_POST], k=2, dates=[None])
    assert {m.claim_id for m in undated} == {"trump-2019", "trump-2017"}


def test_time_of_a_post_and_the_times_a_claim_names() -> None:
    from tidebreak.factcheck.index import post_month, time_references

    years, months = time_references("Crowds chanted in June 2019, on Sept. 3, 2020, and after the 2016 vote")
    assert years == {2016, 2019, 2020} and months == {(2019, 6), (2020, 9)}
    assert time_references("12019 people, 1850 votes, 20201 ballots") == (frozenset(), frozenset())
    assert post_month("2024-03-05") == (2024, 3)
    assert post_month(datetime(2019, 6, 4, tzinfo=timezone.utc)) == (2019, 6)
    # a quoted tweet's signature, when no date is given; a bad string is no date at all
    assert post_month(None, "Wow. — Jane Doe (@jdoe) November 9, 2016") == (2016, 11)
    assert post_month("next tuesday", "no signature") is None


def test_dates_need_one_entry_per_text(london: ClaimIndex) -> None:
    with pytest.raises(ValueError, match="one entry per text"):
        london.search([LONDON_POST, LONDON_POST], dates=["2019-06-04"])


# ------------------------------------------------------------------------------ detector

@pytest.fixture(scope="module")
def detector(index: ClaimIndex):
    from tidebreak.detect.factcheck import FactCheckDetector

    return FactCheckDetector(index=index)


def test_detector_registered_and_versioned(detector) -> None:
    from tidebreak.runtime import detector_factories

    assert "factcheck" in detector_factories()
    assert detector.name == "factcheck" and detector.index.fingerprint in detector.version


def test_detector_voting_misinformation(detector) -> None:
    [sigs] = detector.detect([item("You can vote from your phone by texting your candidate's name to a short code number!")])
    (s,) = sigs
    assert s.category == "voting_misinformation"
    assert s.score >= 0.88
    assert s.evidence["rating"] == "false" and s.evidence["publisher"] == "PolitiFact"
    assert s.evidence["fact_check_url"] == VOTE_URL and s.evidence["match"] == "text"
    assert "stance" not in s.evidence


def test_detector_true_voting_claim_is_plain_misinformation_category(detector) -> None:
    [sigs] = detector.detect([item("Some towns allow non-citizens to vote in local elections")])
    assert sigs and sigs[0].category == "misinformation" and sigs[0].evidence["rating"] == "true"


def test_refuting_post_is_not_auto_labelled(detector) -> None:
    [sigs] = detector.detect([item("No, you can't vote from your phone by texting your candidate's name to a short code number. That's a hoax - don't fall for it.")])
    (s,) = sigs
    assert s.evidence["stance"] == "refutes"
    assert s.score <= 0.6 < 0.88  # review at most, never the auto-label / removal bar
    # a claim that itself says "hoax" is not counter-speech when repeated
    from tidebreak.detect.factcheck import refutation_cue

    assert refutation_cue("COVID is a hoax, wake up", "COVID-19 is a hoax") is None
    assert refutation_cue("Fact check: masks are safe", "Masks cause CO2 poisoning") == "fact check"


def test_detector_url_match_and_unrelated(detector) -> None:
    [a, b, c] = detector.detect([
        item("read this", urls=("https://social.example.net/p/6699658a70?utm_source=x",)),
        item("Beautiful sunset at the beach tonight"),
        # linking the fact-check article itself cites the debunk: counter-speech, review at most
        item("PSA: you cannot vote by text, read https://www.politifact.com/factchecks/2020/oct/28/vote-by-text/?fbclid=1"),
    ])
    assert a[0].score == 1.0 and a[0].evidence["match"] == "url" and "stance" not in a[0].evidence
    assert b == []
    assert c[0].evidence["match"] == "url" and c[0].evidence["claim_id"] == "c-text"
    assert c[0].evidence["stance"] == "refutes" and c[0].score <= 0.6
    assert c[0].evidence["refutation_cue"] == "links to the fact-check"


def test_detector_compares_the_posts_created_at_with_the_claims_date(london: ClaimIndex) -> None:
    from tidebreak.detect.factcheck import FactCheckDetector
    from tidebreak.text.normalise import normalise

    posted = Content("p1", ContentKind.POST, LONDON_POST,
                     created_at=datetime(2019, 6, 4, 20, 15, tzinfo=timezone.utc))
    [[s]] = FactCheckDetector(index=london).detect([Item(posted, normalise(LONDON_POST))])
    assert s.evidence["claim_id"] == "trump-2019"
    assert s.evidence["rank_scores"]["month_match"] == 1.0


def test_detector_without_bundled_file(tmp_path) -> None:
    from tidebreak.detect.factcheck import FactCheckDetector

    d = FactCheckDetector(path=tmp_path / "absent.jsonl")
    assert d.detect([item("you can vote by text")]) == [[]]


def test_detector_default_loads_bundled_set() -> None:
    from tidebreak.detect.factcheck import BUNDLED, FactCheckDetector

    if not BUNDLED.is_file():
        pytest.skip("bundled fact-checks not written yet")
    d = FactCheckDetector()
    [sigs] = d.detect([item("PSA: this year you can skip the lines and vote by text, just send your candidate's name to the number")])
    assert sigs and sigs[0].category == "voting_misinformation"


# ------------------------------------------------------------------------------ through the pipeline

@pytest.fixture
def pipeline(engine, clock, detector):  # type: ignore[no-untyped-def]
    """The default policy (no election in force) over the detector above."""
    from tidebreak.config import Settings
    from tidebreak.pipeline import Pipeline
    from tidebreak.runtime import load_policies

    return Pipeline(engine, [detector], load_policies(Settings()), clock=clock)


def decide(pipeline, id: str, text: str, urls: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    from tidebreak.ingest import parse_event

    return pipeline.process(parse_event({"id": id, "text": text, "author": "u1",
                                         "urls": list(urls)})).decision


def test_paraphrased_voting_lie_is_removed_with_the_fact_checkers_link(pipeline) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.model import ActionType

    d = decide(pipeline, "p1", "Did you know you can just text your candidate's name to a number "
                               "to cast your vote from your phone?")
    assert d.action == ActionType.REMOVE and "voting-remove" in d.rules
    [hit] = [h for h in d.reasons if h.rule_id == "voting-remove"]
    assert hit.signals[0].evidence["fact_check_url"] == VOTE_URL and hit.signals[0].score >= 0.88


def test_paraphrased_false_claim_is_labelled_and_reduced(pipeline) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.model import ActionType

    d = decide(pipeline, "p2", "the new 5G towers are what's spreading covid, wake up")
    assert d.action == ActionType.REDUCE and d.rules == ["misinfo-false-label"]
    label = next(a.label for a in d.actions if a.type == ActionType.LABEL)
    assert "https://fullfact.org/health/5g-coronavirus/" in str(label)
    assert next(a.factor for a in d.actions if a.type == ActionType.REDUCE) == 0.2


def test_url_of_an_appearance_matches_through_the_pipeline(pipeline) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.model import ActionType

    d = decide(pipeline, "p3", "look at this!!", urls=("https://social.example.net/p/6699658a70",))
    assert d.action == ActionType.REMOVE
    [sig] = [s for s in d.signals if s.detector == "factcheck"]
    assert sig.evidence["match"] == "url" and sig.score == 1.0


@pytest.mark.parametrize("text, urls", [
    ("No, you can't vote from your phone by texting your candidate's name to a short code "
     "number. That's a hoax - don't fall for it.", ()),
    ("PSA: you can't vote by text, whatever that message says.", (VOTE_URL,)),
])
def test_counter_speech_gets_review_at_most_never_the_label(pipeline, text: str,  # type: ignore[no-untyped-def]
                                                            urls: tuple[str, ...]) -> None:
    from tidebreak.model import ActionType

    d = decide(pipeline, "p4", text, urls)
    assert not {a.type for a in d.actions} & {ActionType.REMOVE, ActionType.REDUCE}
    # at most voting-review's pointer to official voting information, never the false label
    assert not any("fact-check" in (a.label or "") for a in d.actions)
    assert not {"misinfo-false-label", "voting-remove"} & set(d.rules)
    [sig] = [s for s in d.signals if s.detector == "factcheck"]
    assert sig.evidence["stance"] == "refutes"


# ------------------------------------------------------------------------------ small collections

UNRELATED = [
    "Comeback szn 🔥 down 9 to up 4",
    "Gonna slaughter this 10k tomorrow",
    "I love lemon cake",
    "The roadworks on Hauptstraße will last until June",
    "Lovely walk by the river this morning, the ducks are back",
]


def test_unrelated_posts_stay_below_the_suggest_bar_against_the_bundled_set() -> None:
    """A platform's collection is small: being rank 1 of 133 claims, or sharing one rare word
    with a claim, must not make an unrelated post a match."""
    from tidebreak.detect.factcheck import BUNDLED
    from tidebreak.factcheck.claimreview import load_factchecks

    ix = ClaimIndex(load_factchecks(BUNDLED, strict=False))
    suggest = min(t["suggest"] for t in ix.fusion.thresholds.values())
    for text, matches in zip(UNRELATED, ix.search(UNRELATED, k=1)):
        assert not matches or matches[0].score < suggest, (text, matches[0].score)


def test_two_claim_collection_does_not_match_a_post_sharing_one_word() -> None:
    ix = ClaimIndex([
        FactCheck(claim_id="a", claim="Lemon juice cures cancer within a week."),
        FactCheck(claim_id="b", claim="Polling stations close at noon on election day."),
    ])
    assert not ix.titled  # so the untitled variant's threshold is the one that applies
    suggest = ix.fusion.thresholds["untitled"]["suggest"]
    [[m]] = ix.search(["I love lemon cake"], k=1)
    assert m.score < suggest
    [[hit]] = ix.search(["lemon juice will cure your cancer in a week, doctors hate it"], k=1)
    assert hit.claim_id == "a"


def test_repeat_sharers_of_false_claims_accrue_misinformation_strikes_not_suspensions(
        engine, clock, detector) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.config import Settings
    from tidebreak.enforce.penalties import PenaltyEnforcer
    from tidebreak.model import ActionType
    from tidebreak.pipeline import Pipeline
    from tidebreak.runtime import load_policies
    from tidebreak.store.schema import PenaltyRow, StrikeRow

    pipeline = Pipeline(engine, [detector], load_policies(Settings()), clock=clock,
                        enforcers=[PenaltyEnforcer()])

    first = decide(pipeline, "m1", "5G mobile phone masts spread the coronavirus!!")
    again = decide(pipeline, "m1b", "5G mobile phone masts spread the coronavirus!!")  # new post
    assert first.rules == again.rules == ["misinfo-false-label"]
    third = decide(pipeline, "m2", "Drinking diluted bleach cures COVID-19. Share before they delete it")
    assert third.rules == ["misinfo-repeat-sharer"]
    assert next(a.factor for a in third.actions if a.type == ActionType.REDUCE) == 0.05
    assert any(a.type == ActionType.REVIEW and a.queue == "misinformation" for a in third.actions)
    # re-deciding a post (a backfill, a duplicate event) gives no second strike for it
    decide(pipeline, "m1", "5G mobile phone masts spread the coronavirus!!")
    with Session(engine) as s:
        strikes = s.execute(select(StrikeRow).where(StrikeRow.actor_id == "u1")).scalars().all()
        assert sorted(r.content_id for r in strikes) == ["m1", "m1b", "m2"]
        assert {r.category for r in strikes} == {"misinformation"}
        # separate from the removal ladder: three strikes, no suspension or warning penalty
        assert s.execute(select(PenaltyRow).where(PenaltyRow.actor_id == "u1")).first() is None
    # while a removal still climbs the ladder: the voting lie brings the first-strike warning
    removed = decide(pipeline, "m3", "You can vote from your phone by texting your candidate's name "
                                     "to a short code number.")
    assert removed.action == ActionType.REMOVE
    with Session(engine) as s:
        [penalty] = s.execute(select(PenaltyRow).where(PenaltyRow.actor_id == "u1")).scalars().all()
        assert penalty.penalty == "warning"


def test_records_of_the_same_claim_match_as_one_under_the_earliest_id(index: ClaimIndex) -> None:
    # Fact-checkers re-rate claims and feeds repeat them: the same words in other quote marks and
    # case, by the same fact-checker with the same rating, under a later id.
    copy = FactCheck("c-5g-again", "5g mobile phone masts spread the 'coronavirus'", rating="false",
                     publisher="full fact", url="https://fullfact.org/health/5g-coronavirus-2/")
    other_verdict = FactCheck("c-5g-true", "5G mobile phone masts spread the coronavirus.",
                              rating="true", publisher="Full Fact")
    ix = ClaimIndex([*CLAIMS, copy, other_verdict])
    post = "The new 5G phone masts are what is spreading the coronavirus, wake up"
    [alone] = index.search([post], k=1)[0]
    top = ix.search([post], k=3)[0]
    assert top[0].claim_id == "c-5g" and top[0].same_claim == ("c-5g-again",)
    # one slot per claim: the copy does not take the second place, another verdict may
    assert "c-5g-again" not in {m.claim_id for m in top}
    assert "c-5g-true" in {m.claim_id for m in top}
    # a copy is not a rival: the match is about as sure as without it (the margin over the best
    # OTHER claim is what counts); the contradicting verdict is a rival and lowers it
    copy_only = ClaimIndex([*CLAIMS, copy]).search([post], k=1)[0][0]
    assert copy_only.claim_id == "c-5g" and copy_only.score == pytest.approx(alone.score, abs=0.05)
    assert top[0].to_dict()["same_claim"] == ["c-5g-again"]


def test_claims_that_differ_in_words_are_not_grouped() -> None:
    ix = ClaimIndex([
        FactCheck("a", "Polls close at 8 p.m. on Election Day.", rating="true", publisher="X"),
        FactCheck("b", "Polls close at 6 p.m. on Election Day.", rating="true", publisher="X"),
    ])
    assert list(ix.group) == [0, 1] and ix.members == {}
