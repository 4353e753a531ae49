"""The pipeline end to end, on SQLite and PostgreSQL: decisions, state, idempotency, order, ledger.

A scripted detector stands in for the models so each case controls its scores exactly: a text
containing "[hate=0.97]" gets that hate score. The policy is the real default policy.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.detect.bank import BankDetector
from tidebreak.ingest import parse_event
from tidebreak.model import ActionType, Item, Signal
from tidebreak.pipeline import OutOfOrder, Pipeline, UnknownContent
from tidebreak.policy import PolicySet, load_default_policy, parse_policy
from tidebreak.runtime import BankSync
from tidebreak.detect.bank_store import add_entry
from tidebreak.store.schema import (
    ContentRow,
    DecisionRow,
    EventRow,
    LedgerEntryRow,
    ReviewTaskRow,
    ShadowDecisionRow,
    StrikeRow,
)

MARK = re.compile(r"\[(\w+)=([0-9.]+)\]")


class Scripted:
    """Emits the scores written into the text, e.g. "[hate=0.97]"; words in *stars* become the
    signals' evidence spans, as the harm model's occlusion reports them. A voting_misinformation
    score comes as the election-claims detector's ("voting"), whose own bars the default policy
    reads (score_by("voting", ...))."""

    name = "scripted"
    version = "test-1"

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        out = []
        for it in items:
            text = it.content.text
            spans = [{"text": m.group(1), "start": m.start(1), "end": m.end(1), "weight": 1.0}
                     for m in re.finditer(r"\*(\w+)\*", text)]
            evidence = {"spans": spans} if spans else {}
            out.append([Signal("voting" if cat == "voting_misinformation" else "scripted", cat,
                               float(score), dict(evidence), self.version)
                        for cat, score in MARK.findall(text)])
        return out


def make_pipeline(engine, clock, policy: PolicySet | None = None) -> Pipeline:  # type: ignore[no-untyped-def]
    bank = BankDetector()
    sync = BankSync(bank, engine, "default", every_seconds=0)
    return Pipeline(engine, [Scripted(), bank], policy or PolicySet(load_default_policy()),
                    clock=clock, before_batch=[sync.refresh])


def post(id: str, text: str, **kw: object):  # type: ignore[no-untyped-def]
    return parse_event({"id": id, "text": text, "author": kw.pop("author", "u1"), **kw})


def counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return {t.__tablename__: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (ContentRow, DecisionRow, EventRow, LedgerEntryRow, StrikeRow, ReviewTaskRow)}


def test_benign_post_is_recorded_with_no_action(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    out = p.process(post("p1", "Lovely tomatoes this year [hate=0.01]"))
    d = out.decision
    assert (d.action, d.categories, d.rules, out.duplicate) == (ActionType.NONE, (), [], False)
    assert d.policy_version == load_default_policy().version
    assert d.model_versions == {"scripted": "test-1", "bank": p.detectors[1].version}
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "p1"))
        assert (row.state, row.reach, row.last_decision_id) == ("visible", 1.0, d.id)
        assert ledger.verify(s) == (1, None)


def test_clear_hate_is_removed_with_its_reasons_and_a_strike(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    d = p.process(post("p1", "they are vermin [hate=0.99]")).decision
    assert d.action == ActionType.REMOVE
    assert "hate" in d.categories
    hit = d.reasons[0]
    assert hit.ground and hit.notice and hit.rule_id in d.rules
    assert any(s.category == "hate" and s.score == 0.99 for s in hit.signals)
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "removed"
        strike = s.execute(select(StrikeRow)).scalar_one()
        assert (strike.actor_id, strike.category, strike.decision_id) == ("u1", "hate", d.id)
        entry = s.execute(select(LedgerEntryRow)).scalar_one()
        assert '"action":"remove"' in entry.payload and d.id in entry.payload


def test_same_event_twice_returns_the_first_decision_and_changes_nothing(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    first = p.process(post("p1", "they are vermin [hate=0.99]"))
    before = counts(engine)
    clock.advance(minutes=5)
    again = p.process(post("p1", "they are vermin [hate=0.99]"))
    assert again.duplicate and again.decision.id == first.decision.id
    assert again.decision.to_dict() == first.decision.to_dict()
    assert counts(engine) == before


def test_duplicates_inside_one_batch_are_decided_once(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    results = p.process_batch([post("p1", "hi"), post("p2", "yo"), post("p1", "hi")])
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[0].decision.id == results[2].decision.id
    assert counts(engine)["decisions"] == 2


def test_a_new_event_reusing_a_content_id_is_refused(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.process(post("p1", "hello"))
    before = counts(engine)
    with pytest.raises(OutOfOrder, match="already exists"):
        p.process(parse_event({"id": "p1", "event_id": "e-other", "text": "changed"}))
    assert counts(engine) == before


def test_edit_before_create_and_report_on_unknown_content_are_refused(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    with pytest.raises(OutOfOrder, match="send its content.create first"):
        p.process(parse_event({"type": "content.edit", "id": "p9", "text": "x"}))
    with pytest.raises(UnknownContent, match="unknown content"):
        p.process(parse_event({"type": "report", "id": "p9", "reason": "hate"}))
    assert counts(engine) == {k: 0 for k in counts(engine)}


def test_edit_into_hate_is_decided_again_and_removal_sticks(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.process(post("p1", "nice day"))
    d = p.process(parse_event({"type": "content.edit", "id": "p1", "author": "u1",
                               "text": "they are vermin [hate=0.99]"})).decision
    assert d.action == ActionType.REMOVE
    d2 = p.process(parse_event({"type": "content.edit", "id": "p1", "author": "u1",
                                "text": "nice day again"})).decision
    assert d2.action == ActionType.NONE
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "p1"))
        assert (row.state, row.version, row.text) == ("removed", 3, "nice day again")
        assert s.execute(select(func.count()).select_from(StrikeRow)).scalar_one() == 1


def test_grey_zone_goes_to_review_and_repeated_escalations_merge(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    d = p.process(post("p1", "borderline remark [hate=0.75]")).decision
    assert d.action == ActionType.REVIEW
    for who in ("u2", "u3", "u4"):
        p.process(parse_event({"type": "report", "id": "p1", "reason": "hate", "reporter": who}))
    with Session(engine) as s:
        tasks = s.execute(select(ReviewTaskRow).where(ReviewTaskRow.status == "open")).scalars().all()
        assert len({(t.content_id, t.queue) for t in tasks}) == len(tasks) >= 1
        assert s.get(ContentRow, ("default", "p1")).reports == 3


def test_copies_of_banked_content_are_caught(engine, clock) -> None:  # type: ignore[no-untyped-def]
    banked = ("Reminder: you can vote by text this year, just text your candidate's name to "
              "55555 on election day and your vote is counted")
    with Session(engine) as s, s.begin():
        add_entry(s, tenant="default", text=banked, bank="debunked",
                  category="voting_misinformation", added_by="reviewer:r1", now=clock())
    p = make_pipeline(engine, clock)
    copy = "REMINDER: you can vote by TEXT this year!! just text your candidate’s name to 55555"\
           " on election day and ur vote is counted"
    d = p.process(post("p1", copy)).decision
    assert d.action == ActionType.REMOVE
    bank_sig = next(s for s in d.signals if s.detector == "bank")
    assert bank_sig.evidence["bank"] == "debunked"
    assert p.process(post("p2", "Remember to vote on election day, polls open at 7am")).decision.action \
        == ActionType.NONE


def test_shadow_policy_is_recorded_apart_and_never_enforced(engine, clock) -> None:  # type: ignore[no-untyped-def]
    strict = parse_policy("""
policy: strict-trial
version: "2026.12.0-draft"
description: a stricter hate threshold, trialled in shadow
mode: shadow
rules:
  - id: hate-remove-strict
    category: hate
    severity: high
    description: remove hate from 0.5
    when: score.hate >= 0.5
    actions: [remove]
    ground: "CS 3.1 Hate speech"
    notice: "Removed as hate speech."
""")
    p = make_pipeline(engine, clock, PolicySet(load_default_policy(), [strict]))
    d = p.process(post("p1", "mild [hate=0.55]")).decision
    assert d.action != ActionType.REMOVE
    assert [h.rule_id for h in d.shadow] == ["hate-remove-strict"]
    with Session(engine) as s:
        row = s.execute(select(ShadowDecisionRow)).scalar_one()
        assert (row.rule_id, row.policy_version, row.action) == \
            ("hate-remove-strict", "2026.12.0-draft", "remove")
        assert s.get(ContentRow, ("default", "p1")).state != "removed"


def test_author_delete_is_recorded(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.process(post("p1", "oops"))
    d = p.process(parse_event({"type": "content.delete", "id": "p1"})).decision
    assert d.action == ActionType.NONE and d.note == "deleted by its author"
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "deleted"


def test_tenants_do_not_see_each_other(engine, clock) -> None:  # type: ignore[no-untyped-def]
    a = make_pipeline(engine, clock)
    b = Pipeline(engine, [Scripted()], PolicySet(load_default_policy()), tenant="other", clock=clock)
    a.process(post("p1", "they are vermin [hate=0.99]"))
    out = b.process(post("p1", "hello"))  # same id, another tenant: a different item
    assert not out.duplicate and out.decision.action == ActionType.NONE
    with Session(engine) as s:
        assert s.get(ContentRow, ("other", "p1")).state == "visible"
        assert s.get(ContentRow, ("default", "p1")).state == "removed"


def test_racing_processes_record_one_decision(engine, clock) -> None:  # type: ignore[no-untyped-def]
    pipes = [make_pipeline(engine, clock) for _ in range(4)]
    results: list = []
    barrier = threading.Barrier(4)

    def go(p: Pipeline) -> None:
        barrier.wait()
        results.append(p.process(post("p1", "they are vermin [hate=0.99]")))

    threads = [threading.Thread(target=go, args=(p,)) for p in pipes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.decision.id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    c = counts(engine)
    assert (c["decisions"], c["ledger"], c["strikes"]) == (1, 1, 1)
    with Session(engine) as s:
        assert ledger.verify(s)[1] is None


def test_a_reviewer_removal_is_enforced_recorded_and_banked(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.model import Action

    p = make_pipeline(engine, clock)
    p.process(post("p1", "borderline remark about them all being rats [hate=0.75]"))
    out = p.decide_by_human("p1", reviewer="r1", actions=[Action(ActionType.REMOVE)],
                            category="hate", ground="CS 3.1 Hate speech",
                            notice="Removed as hate speech.", key="task:1")
    d = out.decision
    assert (d.action, d.decided_by, d.categories) == (ActionType.REMOVE, "reviewer:r1", ("hate",))
    assert p.decide_by_human("p1", reviewer="r1", actions=[Action(ActionType.REMOVE)],
                             category="hate", ground="CS 3.1 Hate speech", key="task:1").duplicate
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "removed"
        assert s.execute(select(func.count()).select_from(StrikeRow)).scalar_one() == 1
        assert s.execute(select(ReviewTaskRow.status)).scalars().all() == ["done"]
        assert ledger.verify(s)[1] is None
    # The reviewer's removal fed the bank: a copy posted later is caught at once.
    copy = p.process(post("p2", "Borderline remark about them ALL being rats!!", author="u7")).decision
    assert copy.action == ActionType.REMOVE
    assert any(s.detector == "bank" for s in copy.signals)


def test_a_reviewer_can_restore_an_automated_removal_and_its_strike_is_lifted(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.process(post("p1", "this album kills [violence=0.95]"))
    out = p.decide_by_human("p1", reviewer="r2", actions=[], category="violence",
                            ground="CS 2.1 Violence: not a threat (figurative language)")
    assert out.decision.action == ActionType.NONE
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "p1"))
        assert (row.state, row.reach) == ("visible", 1.0)
        assert s.execute(select(StrikeRow.revoked)).scalars().all() == [True]


def test_a_human_decision_needs_known_content_and_a_clause(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.pipeline import InvalidDecision

    p = make_pipeline(engine, clock)
    with pytest.raises(UnknownContent):
        p.decide_by_human("nope", reviewer="r1", actions=[], category="hate", ground="CS 3.1")
    p.process(post("p1", "hello"))
    with pytest.raises(InvalidDecision, match="clause"):
        p.decide_by_human("p1", reviewer="r1", actions=[], category="hate", ground=" ")
