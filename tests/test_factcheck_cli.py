"""`tidebreak factcheck match|index` through Typer's CliRunner on `factcheck_app`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tidebreak.factcheck.cli import factcheck_app

CLAIMS = [
    {"id": "k1", "text": "You can vote by text message by sending your candidate's name to a short code."},
    {"id": "k2", "text": "5G phone masts spread the coronavirus."},
    {"id": "k3", "text": "Drinking bleach cures COVID-19."},
    {"@context": "https://schema.org", "@type": "ClaimReview", "identifier": "k4",
     "url": "https://fullfact.org/health/masks-co2/",
     "claimReviewed": "Face masks make you breathe dangerous levels of carbon dioxide.",
     "reviewRating": {"@type": "Rating", "alternateName": "Incorrect"}},
]


def write(path, rows) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def test_match_output_format(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", CLAIMS)
    write(tmp_path / "q.jsonl", [
        {"id": 1, "text": "you can vote by texting your candidate's name!"},
        {"id": "two", "text": "masks = CO2 poisoning"},
    ])
    r = CliRunner().invoke(factcheck_app, ["match", "-i", str(tmp_path / "q.jsonl"), "--claims",
                                           str(tmp_path / "claims.jsonl"), "-k", "2",
                                           "-o", str(tmp_path / "out.jsonl")])
    assert r.exit_code == 0, r.output
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == [1, "two"]
    assert set(out[0]) == {"id", "matches"}
    assert out[0]["matches"][0]["claim_id"] == "k1"
    assert out[1]["matches"][0]["claim_id"] == "k4"
    for o in out:
        assert len(o["matches"]) == 2
        assert all(set(m) == {"claim_id", "score"} and 0 <= m["score"] <= 1 for m in o["matches"])
        scores = [m["score"] for m in o["matches"]]
        assert scores == sorted(scores, reverse=True)


def test_stdin_stdout_and_malformed_line_exit_2(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", CLAIMS)
    stdin = "\n".join([
        json.dumps({"id": "a", "text": "5G masts are spreading the virus"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "bleach cures covid"}),
    ]) + "\n"
    r = CliRunner().invoke(factcheck_app, ["match", "--claims", str(tmp_path / "claims.jsonl")],
                           input=stdin)
    assert r.exit_code == 2
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert [json.loads(l)["id"] for l in lines] == ["a", "c"]
    assert "error: line 2:" in r.stderr and "error: line 3:" in r.stderr


def test_created_at_matches_the_fact_check_of_the_posts_time_and_bad_dates_are_line_errors(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", [
        {"id": "trump-2019", "text": "A video shows a crowd chanting 'We love Trump' in London in June 2019."},
        {"id": "trump-2017", "text": "A video shows a crowd chanting 'We love Trump' in London in March 2017."},
    ])
    post = "Huge crowd in London chanting we love Trump!"
    stdin = "\n".join(json.dumps(q) for q in [
        {"id": "june", "text": post, "created_at": "2019-06-04T20:15:00Z"},
        {"id": "bad-string", "text": post, "created_at": "last Tuesday"},
        {"id": "bad-type", "text": post, "created_at": 20170310},
        {"id": "march", "text": post, "created_at": "2017-03-10"},
        {"id": "undated", "text": post},
    ]) + "\n"
    r = CliRunner().invoke(factcheck_app, ["match", "--claims", str(tmp_path / "claims.jsonl"), "-k", "1"],
                           input=stdin)
    assert r.exit_code == 2
    out = {o["id"]: o["matches"][0]["claim_id"] for o in map(json.loads, r.stdout.splitlines())}
    assert out.keys() == {"june", "march", "undated"}
    assert (out["june"], out["march"]) == ("trump-2019", "trump-2017")
    assert "error: line 2: field 'created_at' must be an ISO 8601 date or datetime string" in r.stderr
    assert "error: line 3: field 'created_at'" in r.stderr


def test_bad_claim_line_and_duplicate(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", CLAIMS + [{"id": "k9"}, CLAIMS[0]])
    write(tmp_path / "q.jsonl", [{"id": 1, "text": "vote by text"}])
    r = CliRunner().invoke(factcheck_app, ["match", "-i", str(tmp_path / "q.jsonl"), "--claims",
                                           str(tmp_path / "claims.jsonl")])
    assert r.exit_code == 2
    assert "line 5" in r.stderr and "duplicate claim id 'k1'" in r.stderr
    assert json.loads(r.stdout.splitlines()[0])["matches"][0]["claim_id"] == "k1"


def test_prebuilt_index(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", CLAIMS)
    r = CliRunner().invoke(factcheck_app, ["index", "--claims", str(tmp_path / "claims.jsonl"),
                                           "-o", str(tmp_path / "ix")])
    assert r.exit_code == 0, r.output
    write(tmp_path / "q.jsonl", [{"id": 1, "text": "drink bleach to cure covid"}])
    r = CliRunner().invoke(factcheck_app, ["match", "-i", str(tmp_path / "q.jsonl"), "--index",
                                           str(tmp_path / "ix"), "-k", "1"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["matches"][0]["claim_id"] == "k3"


def test_default_claims_are_bundled() -> None:
    r = CliRunner().invoke(factcheck_app, ["match", "-k", "1"],
                           input=json.dumps({"id": "x", "text": "You can vote by text message"}) + "\n")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["id"] == "x" and isinstance(out["matches"], list)


def test_a_claim_stated_twice_is_one_match_listing_the_other_record(tmp_path) -> None:
    write(tmp_path / "claims.jsonl", [*CLAIMS[:3], {"id": "k2-again", "text": "5g phone masts spread the 'coronavirus'"}])
    write(tmp_path / "q.jsonl", [{"id": 1, "text": "those 5G masts are spreading the coronavirus"}])
    r = CliRunner().invoke(factcheck_app, ["match", "-i", str(tmp_path / "q.jsonl"), "--claims",
                                           str(tmp_path / "claims.jsonl"), "-k", "3"])
    assert r.exit_code == 0, r.output
    [line] = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    top, *rest = line["matches"]
    assert top["claim_id"] == "k2" and top["same_claim"] == ["k2-again"]
    assert "k2-again" not in {m["claim_id"] for m in rest} and len(line["matches"]) == 3
