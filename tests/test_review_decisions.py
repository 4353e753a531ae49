"""Reviewer decisions and appeals: through the pipeline's one decision path, with the reviewer,
time and clause recorded; an appeal is decided by a different reviewer and can restore content,
strike and reach."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.review.appeals import file_appeal
from tidebreak.review.decisions import decide_task
from tidebreak.review.errors import Conflict, Forbidden, ReviewError
from tidebreak.review.leases import claim
from tidebreak.store.schema import (
    AppealRow,
    BankEntryRow,
    ContentRow,
    DecisionRow,
    LedgerEntryRow,
    ReviewTaskRow,
    StrikeRow,
)

from .review_helpers import open_tasks, post, review_pipeline
from .test_pipeline import counts


def _claimed(engine, clock, queue: str, reviewer: str) -> ReviewTaskRow:  # type: ignore[no-untyped-def]
    t = claim(engine, tenant="default", queue=queue, reviewer=reviewer, now=clock.now)
    assert t is not None
    return t


def _content(engine, cid: str) -> ContentRow:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", cid))
        assert row is not None
        return row


def _appeal(engine, clock, cid: str = "p1", who: str = "u1") -> AppealRow:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as s, s.begin():
        return file_appeal(s, tenant="default", content_id=cid, appellant=who,
                           appellant_role="author", statement="It was a quote from a film.",
                           now=clock.now)


def test_a_reviewer_removes_a_claimed_item_with_a_clause(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I will find you [violence=0.6]"))
    task = _claimed(engine, clock, "violence", "alice")
    result = decide_task(p, task_id=task.id, reviewer="alice", verdict="remove",
                         clause_id="violence-remove", note="specific threat")
    d = result.decision
    assert d is not None and d["action"] == "remove" and d["decided_by"] == "reviewer:alice"
    assert d["reasons"][0]["ground"].startswith("CS 1.1")
    row = _content(engine, "p1")
    assert (row.state, row.reach) == ("removed", 0.0)
    with Session(engine) as s:
        t = s.get(ReviewTaskRow, task.id)
        assert (t.status, t.verdict, t.clause, t.outcome_decision_id) == (
            "done", "remove", "violence-remove", d["decision_id"])
        assert s.execute(select(StrikeRow.category)).scalar_one() == "violence"
        assert s.execute(select(BankEntryRow.bank)).scalar_one() == "reviewed-removals"
        last = s.execute(select(LedgerEntryRow).where(LedgerEntryRow.kind == "decision")
                         .order_by(LedgerEntryRow.seq.desc())).scalars().first()
        assert last.actor == "reviewer:alice" and '"action":"remove"' in last.payload
        assert ledger.verify(s)[1] is None


def test_decisions_need_a_lease_a_known_verdict_and_a_clause_and_refusals_change_nothing(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I will find you [violence=0.6]"))
    (task,) = open_tasks(engine)
    before = counts(engine)
    with pytest.raises(Conflict, match="not leased to you"):
        decide_task(p, task_id=task.id, reviewer="alice", verdict="remove",
                    clause_id="violence-remove")
    claim(engine, tenant="default", queue="violence", reviewer="alice", now=clock.now)
    before = counts(engine)
    for verdict, clause, match in [("delete", "violence-remove", "verdict must be"),
                                   ("remove", "", "must cite a policy clause"),
                                   ("remove", None, "must cite a policy clause"),
                                   ("remove", "CS 99", "unknown clause")]:
        with pytest.raises(ReviewError, match=match):
            decide_task(p, task_id=task.id, reviewer="alice", verdict=verdict, clause_id=clause)
    with pytest.raises(Conflict):
        decide_task(p, task_id=task.id, reviewer="bob", verdict="remove",
                    clause_id="violence-remove")
    assert counts(engine) == before
    assert _content(engine, "p1").state == "pending_review"


def test_reduce_demotes_and_approve_leaves_the_item_visible(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "hot take [violence=0.6]"))
    task = _claimed(engine, clock, "violence", "alice")
    decide_task(p, task_id=task.id, reviewer="alice", verdict="reduce",
                clause_id="violence-review")
    assert (_content(engine, "p1").state, _content(engine, "p1").reach) == ("reduced", 0.3)
    p.process(post("p2", "another [violence=0.6]"))
    task = _claimed(engine, clock, "violence", "alice")
    decide_task(p, task_id=task.id, reviewer="alice", verdict="approve",
                clause_id="violence-review")
    row = _content(engine, "p2")
    assert (row.state, row.reach) == ("visible", 1.0)


def test_escalation_moves_the_task_to_senior_reviewers(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "ambiguous [violence=0.6]"))
    task = _claimed(engine, clock, "violence", "alice")
    out = decide_task(p, task_id=task.id, reviewer="alice", verdict="escalate",
                      clause_id="violence-review", note="needs context")
    assert out.queue == "escalations" and out.decision is None
    (t,) = open_tasks(engine)
    assert (t.queue, t.status, t.claimed_by) == ("escalations", "open", None)
    assert _content(engine, "p1").state == "pending_review"


def test_an_appeal_is_refused_to_the_reviewer_who_decided_and_reversed_by_another(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I will find you [violence=0.6]"))
    task = _claimed(engine, clock, "violence", "alice")
    decide_task(p, task_id=task.id, reviewer="alice", verdict="remove", clause_id="violence-remove")
    appeal = _appeal(engine, clock)
    assert appeal.first_decider == "reviewer:alice"

    # alice is not offered her own decision's appeal, and may not decide it directly
    assert claim(engine, tenant="default", queue="appeals", reviewer="alice", now=clock.now) is None
    before = counts(engine)
    with pytest.raises(Forbidden, match="may not decide the appeal"):
        decide_task(p, task_id=appeal.task_id, reviewer="alice", verdict="reverse",
                    clause_id="violence-remove", may_decide_appeals=True)
    assert counts(engine) == before

    # a junior reviewer may not decide appeals at all
    _claimed(engine, clock, "appeals", "bob")
    with pytest.raises(Forbidden, match="senior"):
        decide_task(p, task_id=appeal.task_id, reviewer="bob", verdict="reverse",
                    clause_id="violence-remove")

    clock.advance(minutes=16)  # bob's lease runs out; carol (senior) takes it
    _claimed(engine, clock, "appeals", "carol")
    out = decide_task(p, task_id=appeal.task_id, reviewer="carol", verdict="reverse",
                      clause_id="violence-remove", note="quote from a film",
                      may_decide_appeals=True)
    assert out.decision is not None and out.decision["decided_by"] == "reviewer:carol"
    row = _content(engine, "p1")
    assert (row.state, row.reach) == ("visible", 1.0)
    with Session(engine) as s:
        a = s.get(AppealRow, appeal.id)
        assert (a.status, a.decided_by, a.clause) == ("reversed", "reviewer:carol", "violence-remove")
        assert s.execute(select(StrikeRow.revoked)).scalar_one() is True
        kinds = s.execute(select(LedgerEntryRow.kind).where(LedgerEntryRow.subject == "p1")
                          .order_by(LedgerEntryRow.seq)).scalars().all()
        assert kinds[-3:] == ["review.claim", "decision", "appeal.decided"]
        assert "appeal.filed" in kinds
        assert ledger.verify(s)[1] is None
    assert open_tasks(engine) == []


def test_a_maintained_appeal_changes_nothing_but_is_recorded(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "they are vermin [hate=0.99]"))  # removed by automation
    appeal = _appeal(engine, clock)
    assert appeal.first_decider == "automation"
    _claimed(engine, clock, "appeals", "carol")
    decisions_before = counts(engine)["decisions"]
    decide_task(p, task_id=appeal.task_id, reviewer="carol", verdict="maintain",
                clause_id="hate-remove", may_decide_appeals=True)
    assert _content(engine, "p1").state == "removed"
    with Session(engine) as s:
        assert s.get(AppealRow, appeal.id).status == "maintained"
        assert s.execute(select(StrikeRow.revoked)).scalar_one() is False
        assert s.execute(select(DecisionRow)).scalars().all().__len__() == decisions_before
    with pytest.raises(Conflict, match="already appealed"):
        _appeal(engine, clock)


@pytest.mark.parametrize("kw, match", [
    ({"content_id": "nope"}, "no content"),
    ({"appellant": "someone-else"}, "only the author"),
    ({"statement": "  "}, "statement"),
    ({"appellant_role": "friend"}, "appellant_role"),
    ({"appellant_role": "group_admin"}, "not in a group"),
])
def test_bad_appeals_are_refused_and_store_nothing(engine, clock, kw, match) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "they are vermin [hate=0.99]"))
    before = counts(engine)
    args = {"content_id": "p1", "appellant": "u1", "appellant_role": "author",
            "statement": "please look again", **kw}
    with pytest.raises(ReviewError, match=match):
        with Session(engine) as s, s.begin():
            file_appeal(s, tenant="default", now=clock.now, **args)
    assert counts(engine) == before
    with Session(engine) as s:
        assert s.execute(select(AppealRow)).first() is None


def test_content_with_no_enforcement_cannot_be_appealed(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "lovely day"))
    with pytest.raises(Conflict, match="no enforcement decision"):
        _appeal(engine, clock)
