"""The known-content bank: copies of banked posts are caught however they are disguised, and
posts that merely share a topic or a few words are not."""

from __future__ import annotations

import hashlib

import pytest

from tidebreak.detect.bank import BankDetector, BankEntry, key_hash
from tidebreak.detect.base import Detector
from tidebreak.runtime import create_detector, detector_factories
from tidebreak.model import Content, ContentKind, Item
from tidebreak.text import normalise

# A false claim about how to vote (~30 words), as fact-checkers see it circulate.
CLAIM = ("BREAKING: you can now vote by text message on election day! Just text your candidate's "
         "name to 55555 and your vote will be counted. Share this with everyone before Tuesday!")


def _cyrillic(text: str) -> str:
    return text.translate(str.maketrans("aeo", "аео"))  # Latin -> Cyrillic look-alikes


DISGUISED = {
    "changed case": CLAIM.upper(),
    "extra spacing": CLAIM.replace(" ", "   ").replace(". ", ".\n\n"),
    "changed punctuation": CLAIM.replace("!", "...").replace(":", " -").replace("'", "’"),
    "homoglyphs": _cyrillic(CLAIM),
    "zero-width characters": "\u200b".join(CLAIM[:60]) + "\u2060" + CLAIM[60:],
    "leetspeak": CLAIM.replace("vote", "v0t3").replace("text", "t3xt")
    .replace("election", "3l3ct10n"),
    "spaced-out letters": CLAIM.replace("vote", "v o t e")
    .replace("text message", "t.e.x.t message"),
    "emoji sprinkled": "🚨🚨 " + CLAIM.replace("!", "! 🗳️") + " 🇺🇸",
}
EDITED = {
    "3 words changed": CLAIM.replace("BREAKING", "URGENT").replace("everyone", "all your friends")
    .replace("Tuesday", "the weekend"),
    "3 words added": CLAIM.replace("Share this", "Please please share this") + " Thanks!",
    "3 words removed": CLAIM.replace("BREAKING: ", "").replace(" with everyone", ""),
    "2 words changed, disguised": _cyrillic(CLAIM.replace("candidate's", "chosen candidate's")
                                           .replace("counted", "cOunted  ✔")),
}
UNRELATED = {
    "same topic, different wording": "Reminder: you cannot vote by text message. Polls are open "
    "7am to 8pm on election day; bring ID and find your polling place at vote.gov.",
    "a correction quoting the claim": "FALSE: 'you can vote by text message on election day'. "
    "This is a scam. Nobody can vote by text; check your state's election website.",
    "same words, other meaning": "Just text me when you get home tonight, I want to know the "
    "name of the restaurant you went to with everyone on Tuesday.",
    "other election post": "The weather on election day is supposed to be sunny, so lines at "
    "polling places might be long. Bring water and a chair if you can.",
    "short": "vote today!",
    "short, on topic": "Text VOTE to 55555",
    "empty": "",
}


@pytest.fixture
def bank() -> BankDetector:
    det = BankDetector()
    det.add(BankEntry.from_text(CLAIM, entry_id="claim-1", bank="debunked",
                                category="voting_misinformation", added_by="reviewer:r1",
                                source_content_id="post-123", note="vote-by-text hoax"))
    return det


@pytest.mark.parametrize("trick", sorted(DISGUISED))
def test_disguised_copies_match_exactly(bank: BankDetector, trick: str) -> None:
    (m,) = bank.match(normalise(DISGUISED[trick]))
    assert (m.entry.entry_id, m.match, m.similarity) == ("claim-1", "exact", 1.0)


@pytest.mark.parametrize("edit", sorted(EDITED))
def test_edited_copies_match_as_near_duplicates(bank: BankDetector, edit: str) -> None:
    (m,) = bank.match(normalise(EDITED[edit]))
    assert m.entry.entry_id == "claim-1" and m.match == "near"
    assert 0.6 <= m.similarity < 1.0  # margin above the 0.5 threshold


@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_unrelated_posts_do_not_match(bank: BankDetector, name: str) -> None:
    assert bank.match(normalise(UNRELATED[name])) == []


def test_short_banked_text_matches_only_exactly() -> None:
    det = BankDetector(entries=[BankEntry.from_text("Vote by text: 55555", entry_id="s",
                                                    bank="debunked", added_by="r")])
    assert [m.match for m in det.match(normalise("VOTE by TEXT 55555!!"))] == ["exact"]
    assert det.match(normalise("Vote by text: 55556")) == []
    assert det.match(normalise("Vote by text: 55555 today")) == []


def test_a_match_becomes_one_signal_with_evidence(bank: BankDetector) -> None:
    items = [Item(Content(id=f"p{i}", kind=ContentKind.POST, text=t), normalise(t))
             for i, t in enumerate([UNRELATED["short"], EDITED["3 words changed"], CLAIM])]
    no_match, near, exact = bank.detect(items)
    assert no_match == []
    (sig,) = exact
    # The signal says "copy of banked content"; what the original was travels in the evidence.
    assert (sig.detector, sig.category, sig.score) == ("bank", "known_violating", 1.0)
    assert sig.detector_version == bank.version
    assert sig.evidence == {"bank": "debunked", "banked_category": "voting_misinformation",
                            "entry_id": "claim-1", "match": "exact", "similarity": 1.0,
                            "source_content_id": "post-123"}
    (sig,) = near
    assert sig.evidence["match"] == "near" and sig.score < 1.0
    assert sig.evidence["similarity"] == pytest.approx(sig.score, abs=1e-4)


def test_every_matched_entry_gives_a_signal_best_first() -> None:
    det = BankDetector()
    det.add(BankEntry.from_text(CLAIM, entry_id="hoax", bank="debunked", added_by="r",
                                category="voting_misinformation"))
    det.add(BankEntry.from_text(CLAIM, entry_id="removed-copy", bank="removed", added_by="r"))
    det.add(BankEntry.from_text(EDITED["3 words changed"], entry_id="variant", bank="removed",
                                added_by="r"))
    matches = det.match(normalise(CLAIM))
    assert [m.entry.entry_id for m in matches] == ["hoax", "removed-copy", "variant"]
    assert [m.entry.category for m in matches] == [
        "voting_misinformation", "known_violating", "known_violating"]


def test_threshold_is_configurable() -> None:
    strict = BankDetector(threshold=0.9)
    strict.add(BankEntry.from_text(CLAIM, entry_id="c", bank="debunked", added_by="r"))
    assert strict.match(normalise(EDITED["3 words changed"])) == []
    assert strict.match(normalise(DISGUISED["homoglyphs"]))  # exact matches do not depend on it
    assert strict.version != BankDetector().version


def test_remove_and_replace_entries(bank: BankDetector) -> None:
    assert bank.remove("claim-1") is True
    assert bank.remove("claim-1") is False
    assert bank.match(normalise(CLAIM)) == [] and len(bank) == 0
    bank.add(BankEntry.from_text(UNRELATED["other election post"], entry_id="x", bank="b",
                                 added_by="r"))
    bank.add(BankEntry.from_text(CLAIM, entry_id="x", bank="b", added_by="r"))  # same id
    assert len(bank) == 1
    assert bank.match(normalise(UNRELATED["other election post"])) == []
    assert [m.entry.entry_id for m in bank.match(normalise(EDITED["3 words added"]))] == ["x"]


def test_load_replaces_all_entries_and_clear_empties(bank: BankDetector) -> None:
    other = BankEntry.from_text(UNRELATED["other election post"], entry_id="o", bank="b",
                                added_by="r")
    bank.load([other])
    assert "claim-1" not in bank and "o" in bank
    assert bank.match(normalise(CLAIM)) == []
    bank.clear()
    assert len(bank) == 0 and bank.get("o") is None


def test_key_hash_is_the_sha256_of_the_key_and_survives_disguise() -> None:
    norm = normalise(CLAIM)
    assert key_hash(norm) == hashlib.sha256(norm.key.encode()).hexdigest() == key_hash(norm.key)
    assert {key_hash(normalise(t)) for t in DISGUISED.values()} == {key_hash(norm)}


def test_entries_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        BankEntry(entry_id="e", bank="b", key="some key", added_by="r", category="rude")
    with pytest.raises(ValueError, match="empty key"):
        BankDetector().add(BankEntry.from_text("!!! 🙂", entry_id="e", bank="b", added_by="r"))


def test_registered_as_a_detector() -> None:
    assert "bank" in detector_factories()
    det = create_detector("bank", threshold=0.6)
    assert isinstance(det, BankDetector) and isinstance(det, Detector)
    assert det.name == "bank" and det.threshold == 0.6


def test_no_false_matches_among_many_ordinary_posts(bank: BankDetector) -> None:
    # 400 varied posts built from the claim's own vocabulary: sharing words is not copying.
    words = [*normalise(CLAIM).key.split(), "the", "a", "polls", "open", "today", "news"]
    posts = [" ".join(words[(i * 7 + j * (i % 5 + 2)) % len(words)] for j in range(25))
             for i in range(400)]
    bank.add_many(BankEntry(entry_id=f"n{i}", bank="b", key=normalise(p).key, added_by="r")
                  for i, p in enumerate(posts[:200]))
    hits = [p for p in posts[200:] if any(m.entry.entry_id == "claim-1"
                                          for m in bank.match(normalise(p)))]
    assert hits == []
