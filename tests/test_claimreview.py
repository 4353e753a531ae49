"""ClaimReview import/export, rating normalisation, topics, duplicates, bad records."""

from __future__ import annotations

import json

import pytest

from tidebreak.factcheck.claimreview import (
    FactCheckError,
    dedupe,
    derive_topics,
    from_claimreview,
    load_factchecks,
    normalise_rating,
    parse_record,
    read_factchecks,
    to_claimreview,
)

CR = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "identifier": "t-1",
    "url": "https://www.politifact.com/factchecks/2020/oct/28/vote-by-text/",
    "claimReviewed": "You can vote by texting your candidate's name to a short code.",
    "itemReviewed": {
        "@type": "Claim",
        "author": {"@type": "Organization", "name": "Social media posts"},
        "appearance": [{"@type": "CreativeWork", "url": "https://social.example.net/p/1"}],
    },
    "author": {"@type": "Organization", "name": "PolitiFact", "url": "https://www.politifact.com/"},
    "datePublished": "2020-10-28",
    "reviewRating": {"@type": "Rating", "ratingValue": 1, "bestRating": 6, "worstRating": 1,
                     "alternateName": "Pants on Fire"},
    "inLanguage": "en",
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("True", "true"),
        ("Mostly True", "true"),
        ("Half True", "missing_context"),
        ("Mostly False", "misleading"),
        ("False", "false"),
        ("Pants on Fire", "false"),
        ("Pants on Fire!", "false"),
        ("Incorrect", "false"),
        ("Incorrect. You don't need your poll card to vote.", "false"),
        ("There's no evidence pencil-marked ballots are altered.", "false"),
        ("Correct.", "true"),
        ("Misleading", "misleading"),
        ("Missing context", "missing_context"),
        ("Needs context: the figure is from 2019.", "missing_context"),
        ("Altered photo", "false"),
        ("Mixture", "misleading"),
        ("Falso", "false"),
        ("Faux", "false"),
        ("Falsch", "false"),
        ("Engañoso", "misleading"),
        ("Satire", "unrated"),
        ("Unproven", "unrated"),
    ],
)
def test_rating_normalisation_table(text: str, expected: str) -> None:
    assert normalise_rating(text)[0] == expected


def test_numeric_rating_on_its_scale() -> None:
    assert normalise_rating(None, 1, 5, 1)[0] == "false"
    assert normalise_rating(None, 2, 5, 1)[0] == "misleading"
    assert normalise_rating(None, 3, 5, 1)[0] == "missing_context"
    assert normalise_rating(None, 5, 5, 1)[0] == "true"
    assert normalise_rating(None, -2, 2, -2)[0] == "false"  # Full Fact style -2..2
    assert normalise_rating(None, 6, 1, 6)[0] == "false"  # inverted scale: best is 1
    # text wins over the number when both are given
    assert normalise_rating("Mostly True", 1, 5, 1)[0] == "true"


def test_missing_or_unknown_scales_are_unrated_but_kept() -> None:
    rating, note = normalise_rating(None, 2)
    assert rating == "unrated" and "scale unknown" in note
    rating, note = normalise_rating(None, 9, 5, 1)
    assert rating == "unrated" and "does not fit" in note
    rating, note = normalise_rating("Four Flips and a Twist")
    assert rating == "unrated" and "Four Flips" in note
    rec = dict(CR, reviewRating={"@type": "Rating", "alternateName": "Spicy", "ratingValue": 3})
    fc = from_claimreview(rec)
    assert fc.rating == "unrated"
    assert fc.original_rating == "Spicy" and fc.rating_value == 3.0
    assert fc.rating_note
    # nothing lost on export
    out = to_claimreview(fc)
    assert out["reviewRating"]["alternateName"] == "Spicy"
    assert out["reviewRating"]["ratingValue"] == 3


def test_parse_claimreview_fields() -> None:
    (fc,) = parse_record(CR)
    assert fc.claim_id == "t-1"
    assert fc.rating == "false" and fc.original_rating == "Pants on Fire"
    assert (fc.rating_value, fc.best_rating, fc.worst_rating) == (1.0, 6.0, 1.0)
    assert fc.publisher == "PolitiFact" and fc.publisher_url == "https://www.politifact.com/"
    assert fc.url == CR["url"]
    assert fc.appearances == ("https://social.example.net/p/1",)
    assert fc.date == "2020-10-28" and fc.language == "en"
    assert fc.topics == {"voting"}
    assert fc.claim_author == "Social media posts"


def test_lists_and_graph() -> None:
    other = dict(CR, identifier="t-2", claimReviewed="5G masts spread the coronavirus.")
    assert [f.claim_id for f in parse_record([CR, other])] == ["t-1", "t-2"]
    graph = {"@context": "https://schema.org",
             "@graph": [{"@type": "WebPage", "name": "x"}, CR, other]}
    assert [f.claim_id for f in parse_record(graph)] == ["t-1", "t-2"]
    assert parse_record({"@type": "WebPage", "name": "x"}) == []


def test_roundtrip_export() -> None:
    (fc,) = parse_record(CR)
    (again,) = parse_record(json.loads(json.dumps(to_claimreview(fc))))
    assert again == fc


def test_flat_form_needs_only_id_and_text() -> None:
    (fc,) = parse_record({"id": 7, "text": "The moon landing was faked."})
    assert fc.claim_id == "7" and fc.rating == "unrated" and fc.rating_note == "no rating given"
    (fc,) = parse_record({"id": "x", "text": "Drinking bleach cures COVID.", "rating": "False",
                          "url": "https://fullfact.org/x", "publisher": "Full Fact"})
    assert fc.rating == "false" and fc.publisher == "Full Fact"


def test_missing_claim_text_is_a_one_line_error() -> None:
    rec = {k: v for k, v in CR.items() if k != "claimReviewed"}
    with pytest.raises(FactCheckError) as e:
        parse_record(rec)
    assert "\n" not in str(e.value) and "t-1" in str(e.value)
    with pytest.raises(FactCheckError, match="has no text"):
        parse_record({"id": "9", "text": "  "})


def test_bad_lines_reported_with_line_numbers(tmp_path) -> None:
    p = tmp_path / "claims.jsonl"
    p.write_text(json.dumps(CR) + "\n{oops\n" + json.dumps({"id": "z"}) + "\n")
    res = list(read_factchecks(p))
    assert [n for n, _ in res] == [1, 2, 3]
    assert isinstance(res[1][1], FactCheckError) and isinstance(res[2][1], FactCheckError)
    with pytest.raises(FactCheckError, match="line 2"):
        load_factchecks(p)
    assert [f.claim_id for f in load_factchecks(p, strict=False)] == ["t-1"]


def test_duplicates_are_reported_not_silently_dropped(tmp_path) -> None:
    (a,) = parse_record(CR)
    (b,) = parse_record(dict(CR, reviewRating={"alternateName": "True"}))
    unique, dups = dedupe([a, a, b])
    assert unique == [a]
    assert len(dups) == 2
    assert dups[0].identical and not dups[1].identical
    assert "conflicting" in dups[1].message()
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(CR) + "\n" + json.dumps(CR) + "\n")
    with pytest.raises(FactCheckError, match="duplicate claim id 't-1'"):
        load_factchecks(p)


def test_csv_form(tmp_path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("id,text,rating,url\n1,Vaccines cause autism.,False,https://x.org/1\n2,,False,\n")
    res = list(read_factchecks(p))
    assert res[0][1][0].rating == "false"
    assert isinstance(res[1][1], FactCheckError) and res[1][0] == 3


def test_non_english_claims_are_kept_with_their_language() -> None:
    rec = dict(CR, identifier="es-1", claimReviewed="Se puede votar por WhatsApp enviando una foto del DNI.",
               inLanguage={"@type": "Language", "name": "Spanish", "alternateName": "es"},
               reviewRating={"alternateName": "Bulo"})
    (fc,) = parse_record(rec)
    assert fc.language == "es" and fc.rating == "false" and fc.topics == {"voting"}
    (fc,) = parse_record(dict(rec, reviewRating={"alternateName": "Ni fu ni fa"}))
    assert fc.rating == "unrated" and fc.original_rating == "Ni fu ni fa"


def test_voting_topic_rule() -> None:
    assert derive_topics("You can vote by text this year.") == {"voting"}
    assert derive_topics("Polling places are closed on Tuesday.") == {"voting"}
    assert derive_topics("Non-citizens can vote in federal elections.") == {"voting"}
    assert derive_topics("5G masts spread the coronavirus.") == frozenset()
    assert derive_topics("The election was stolen by the deep state.") == frozenset()
    (fc,) = parse_record({"id": "1", "text": "x marks the spot", "topics": ["voting", "Health"]})
    assert fc.topics == {"voting", "health"}


def test_bundled_set_loads_if_present() -> None:
    from tidebreak.detect.factcheck import BUNDLED

    if not BUNDLED.is_file():
        pytest.skip("bundled fact-checks not written yet")
    fcs = load_factchecks(BUNDLED)
    assert len(fcs) >= 100
    assert all(f.rating != "unrated" for f in fcs)
    assert any("voting" in f.topics for f in fcs)
