"""The voting-misinformation detector: keyword gate, calibrated head, counter-speech cap, and
the default policy acting on its signals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from tidebreak.config import DEFAULT_DETECTORS, Settings
from tidebreak.detect.voting import CATEGORY, VotingDetector, gate
from tidebreak.ingest import parse_event
from tidebreak.model import ActionType, Content, ContentKind, Item
from tidebreak.runtime import BUILTIN_DETECTORS, build_pipeline
from tidebreak.text import normalise


@pytest.fixture(scope="module")
def det() -> VotingDetector:
    return VotingDetector()


def items(*texts: str) -> list[Item]:
    return [Item(Content(id=f"c{i}", kind=ContentKind.POST, text=t), normalise(t))
            for i, t in enumerate(texts)]


def test_registered_and_on_by_default() -> None:
    assert "voting" in DEFAULT_DETECTORS and "voting" in BUILTIN_DETECTORS


def test_gate_closes_on_text_about_something_else_without_encoding() -> None:
    class NoEncoder:
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            raise AssertionError("the gate should have closed")

    d = VotingDetector(encoder=NoEncoder())
    assert d.detect(items("Text your mom happy birthday", "Lovely tomatoes")) == [[], []]
    assert gate("Where is my polling place?") == "polling"


def test_voting_lies_score_over_the_review_bar_and_reminders_under_it(det: VotingDetector) -> None:
    lies = ["Democrats vote on Wednesday this year, Republicans on Tuesday.",
            "ICE agents will be at every polling place checking papers, stay home",
            "You can vote by text! Just text your candidate's name to 88022."]
    fine = ["Reminder: polls are open 7am to 8pm on Tuesday. Find your polling place at vote.gov",
            "The senate voted on the budget bill today",
            "Our poll shows the mayor ahead by 4 points"]
    for (p, _) in det.scores(lies):
        assert p >= 0.40
    for (p, _) in det.scores(fine):
        assert p < 0.40


def test_counter_speech_is_capped_at_review(det: VotingDetector) -> None:
    [[sig]] = det.detect(items("No, you can't vote online. That's a hoax, vote in person or by mail."))
    assert sig.category == CATEGORY and sig.score <= 0.6
    assert sig.evidence["stance"] == "refutes"


def test_default_policy_reviews_and_removes_the_clearest_in_election_mode(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from tidebreak.governance import elections

    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["voting"])
    wednesday = "Democrats vote on Wednesday this year, Republicans on Tuesday."
    # Outside an election the head alone reviews (priority queue) and never removes: removal at
    # 0.90 is left to fact-check matches.
    d = p.process(parse_event({"id": "v1", "author": "u1", "text": wednesday})).decision
    assert d.rules == ["voting-review"]
    d = p.process(parse_event({"id": "v2", "author": "u1",
                               "text": "You can vote by text! Just text your candidate's name to 88022."})).decision
    assert d.rules == ["voting-review"]
    assert any(a.type == ActionType.REVIEW and a.queue == "elections" for a in d.actions)
    d = p.process(parse_event({"id": "v3", "author": "u1",
                               "text": "Polls open at 6am tomorrow, bring water, lines may be long."})).decision
    assert d.action == ActionType.NONE
    d = p.process(parse_event({"id": "v4", "author": "u1", "text":
                               "I'm a new citizen and I'm voting for the first time this year!"})).decision
    assert d.action != ActionType.REMOVE  # civic pride is not a voting lie
    # While an election is on, its lower removal bar takes the clearest lies down.
    elections.create(engine, "default", {
        "id": "testland-2026", "name": "Testland general election", "jurisdiction": "TL",
        "registration_deadline": "2026-11-10", "early_voting_start": "2026-11-12",
        "election_day": "2026-11-17", "certification_date": "2026-11-24",
        "info_links": ["https://elections.testland.example/vote"]}, by="pat", now=clock())
    clock.now = datetime(2026, 11, 17, 9, tzinfo=timezone.utc)
    d = p.process(parse_event({"id": "v5", "author": "u1", "text": wednesday})).decision
    assert d.action == ActionType.REMOVE and "voting-remove" in d.rules
