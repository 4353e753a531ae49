"""A suspicion is not a finding: enforcement, routing and information kept apart (issue 19).

Only enforcement (remove, reduce, a fact-check label, a warning) creates a statement of reasons,
a notice, a strike, a count in group health and in the transparency report. A review (routing)
and an information label create none of them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak.accountability.sor import StatementEnforcer
from tidebreak.enforce import groups
from tidebreak.enforce.groups import GroupEnforcer
from tidebreak.enforce.penalties import PenaltyEnforcer
from tidebreak.model import Action, ActionType, OutcomeKind, RuleHit, strongest, violation_categories
from tidebreak.pipeline import Pipeline
from tidebreak.policy import PolicySet, load_default_policy
from tidebreak.policy.loader import PolicyFileError, parse_policy
from tidebreak.store.schema import ContentRow, StatementRow, StrikeRow

from .reach_helpers import post
from .test_pipeline import Scripted

CFG = load_default_policy().sections.groups
T = load_default_policy().thresholds
# a voting score in the review band: a suspicion, not a finding
SUSPECT = round((T["voting_review"] + T["voting_remove"]) / 2, 3)
INFO = Action(ActionType.LABEL, label="Official voting information: https://vote.example", info=True)


def pipeline(engine, clock) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(engine, [Scripted()], PolicySet(load_default_policy()), clock=clock,
                    enforcers=[StatementEnforcer(), PenaltyEnforcer(), GroupEnforcer()])


def count(engine, row, **where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        q = select(func.count()).select_from(row)
        for k, v in where.items():
            q = q.where(getattr(row, k) == v)
        return s.execute(q).scalar_one()


def stage(engine, clock, gid: str) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return groups.show(s, "default", gid, CFG, clock())["stage"]


def test_each_action_knows_its_kind_of_outcome() -> None:
    assert Action(ActionType.REMOVE).outcome == OutcomeKind.ENFORCEMENT
    assert Action(ActionType.LABEL, label="Rated false").outcome == OutcomeKind.ENFORCEMENT
    assert Action(ActionType.REVIEW, queue="elections").outcome == OutcomeKind.ROUTING
    assert INFO.outcome == OutcomeKind.INFORMATION and not INFO.restricts
    # review with an information label is reported as a review, not as a label
    assert strongest([INFO, Action(ActionType.REVIEW)]) == ActionType.REVIEW
    assert strongest([INFO]) == ActionType.LABEL
    assert strongest([INFO, Action(ActionType.REDUCE, factor=0.2)]) == ActionType.REDUCE


def test_an_information_label_never_appears_in_categories() -> None:
    info = RuleHit("election:x:info", "election_information", (INFO,), "Election integrity", "")
    routed = RuleHit("voting-review", "voting_misinformation",
                     (INFO, Action(ActionType.REVIEW, queue="elections")), "CS 4.2", "")
    removed = RuleHit("hate-remove", "hate", (Action(ActionType.REMOVE),), "CS 3.1", "n")
    assert violation_categories([info]) == ()
    assert violation_categories([info, routed]) == ()
    assert violation_categories([info, routed, removed]) == ("hate",)


def test_a_pending_civic_post_approved_by_a_reviewer_leaves_no_trace_against_anyone(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = pipeline(engine, clock)
    d = p.process(post("c1", f"Polls open 7am, bring ID if your state asks [voting_misinformation={SUSPECT}]",
                       author="civic", group="g-town")).decision
    assert d.action == ActionType.REVIEW and d.outcome == "routing"
    assert d.categories == () and "voting_misinformation" in d.to_dict()["review_categories"]
    assert any(a.outcome == OutcomeKind.INFORMATION for a in d.actions)  # official info link
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "c1"))
        assert row.state == "pending_review" and row.reach == 1.0
        assert row.labels  # the information label is shown
        gp = s.get(groups.GroupPostRow, ("default", "c1"))
        assert gp is not None and gp.violating is False
    assert count(engine, StatementRow) == 0 and count(engine, StrikeRow) == 0
    human = p.decide_by_human("c1", reviewer="rev1", actions=(), category="voting_misinformation",
                              ground="CS 4.2 Voter interference", note="accurate").decision
    assert human.action == ActionType.NONE and human.categories == ()
    assert count(engine, StatementRow) == 0 and count(engine, StrikeRow) == 0
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "c1")).state == "visible"
        assert s.get(groups.GroupPostRow, ("default", "c1")).violating is False


def test_a_group_whose_posts_are_only_pending_review_keeps_its_stage(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = pipeline(engine, clock)
    for i in range(20):
        clock.advance(minutes=10)
        text = f"post {i} " + ("[hate=0.7]" if i % 2 else f"[voting_misinformation={SUSPECT}]")
        d = p.process(post(f"pr{i}", text, author=f"m{i % 7}", group="g-quiet")).decision
        assert d.action == ActionType.REVIEW and d.categories == ()
    assert stage(engine, clock, "g-quiet") == "healthy"
    assert count(engine, StatementRow) == 0 and count(engine, StrikeRow) == 0
    # ... while the same number of determinations does move it
    for i in range(20):
        clock.advance(minutes=10)
        p.process(post(f"hr{i}", f"post {i} [hate=0.97]", author=f"h{i % 7}", group="g-loud"))
    assert stage(engine, clock, "g-loud") != "healthy"
    assert count(engine, StatementRow, subject_type="content") == 20  # (and account, group ones)


def test_the_transparency_report_counts_determinations_only(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from tidebreak.accountability.transparency import build_report

    p = pipeline(engine, clock)
    start = clock()
    for i in range(6):  # suspicions: routed, with an information label
        p.process(post(f"s{i}", f"vote Tuesday [voting_misinformation={SUSPECT}]", author=f"a{i}"))
    p.process(post("x1", "[hate=0.97]", author="b1"))  # one determination
    with Session(engine) as s:
        rep = build_report(s, "default", start - timedelta(hours=1), clock() + timedelta(hours=1))
    actioned = rep["content_actioned"]
    assert actioned["by_category"] == {"hate": 1}
    assert "voting_misinformation" not in actioned["by_category"]


def test_a_restriction_while_review_is_pending_is_enforcement_and_is_lifted_on_approval(engine, clock) -> None:  # type: ignore[no-untyped-def]
    # The default policy holds back a possible threat that spreads fast (violence-viral-hold:
    # reduce + review). That reduction is a determination with its statement; a reviewer's
    # approval lifts it, and the ledger records both.
    p = pipeline(engine, clock)
    d = p.process(post("v1", "they will regret it [violence=0.6]", author="a1")).decision
    assert d.action == ActionType.REVIEW and count(engine, StatementRow) == 0
    with Session(engine) as s, s.begin():
        s.get(ContentRow, ("default", "v1")).shares = 400
    d = p.process(post("v1", "they will regret it [violence=0.6]", author="a1",
                       type="content.edit", event_id="v1-e1")).decision
    assert d.action == ActionType.REDUCE and d.categories == ("violence",)
    assert count(engine, StatementRow, decision_id=d.id) == 1
    p.decide_by_human("v1", reviewer="rev", actions=(), category="violence",
                      ground="CS 1.1 Violence and incitement", note="sports talk")
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "v1"))
        assert row.state == "visible" and row.reach == 1.0
    assert count(engine, StatementRow) == 1  # lifting restricts nothing new


POLICY = """
policy: t
version: "1"
rules:
  - id: r
    category: {category}
    severity: low
    when: score.hate >= 0.5
    actions: {actions}
    ground: "CS 1"
{extra}
"""


@pytest.mark.parametrize("category, actions, extra, message", [
    ("hate", "[review]", "    notice: You broke a rule.", "'notice' on a rule that only routes"),
    ("hate", "[review]", "    strike: true", "'strike' on a rule that only routes"),
    ("hate", '[{info: "context"}]', "    strike: true", "'strike' on a rule that only informs"),
    ("election_fraud_claim", "[remove]", "    notice: gone", "is information, not a violation"),
    ("election_fraud_claim", "[review]", "", "is information, not a violation"),
    ("language_not_covered", '[{info: "x"}]', "", "only routes items"),
])
def test_the_policy_loader_refuses_rules_that_mix_up_the_kinds_of_outcome(
        category: str, actions: str, extra: str, message: str) -> None:
    with pytest.raises(PolicyFileError) as e:
        parse_policy(POLICY.format(category=category, actions=actions, extra=extra), "t.yaml")
    assert message in str(e.value)


def test_an_info_label_with_a_review_loads_and_reports_its_kinds() -> None:
    pol = parse_policy(POLICY.format(category="voting_misinformation",
                                         actions='[{info: "Official info"}, review]', extra=""),
                           "t.yaml")
    [rule] = pol.rules
    assert [a.action.outcome for a in rule.actions] == [OutcomeKind.INFORMATION, OutcomeKind.ROUTING]
