"""Strikes and penalties: realistic account histories on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak.enforce.penalties import standing
from tidebreak.model import Action, ActionType
from tidebreak.policy import check_text
from tidebreak.store.schema import ActorRow, PenaltyRow

from .reach_helpers import ledger_kinds, post, reach_pipeline


def show(engine, clock, actor: str = "u1") -> dict:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return standing(s, "default", actor, clock())


def test_three_hate_posts_end_in_suspension_with_every_step_explained(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    p.process(post("h1", "they are vermin [hate=0.97]"))
    st = show(engine, clock)
    assert st["status"] == "warned" and [x["penalty"] for x in st["penalties"]] == ["warning"]
    clock.advance(days=2)
    p.process(post("h2", "they should all leave [hate=0.95]"))
    st = show(engine, clock)
    assert st["status"] == "limited"
    assert st["limits"] == ["ads", "group_posting", "live"]
    clock.advance(days=3)
    p.process(post("ok", "nice weather today [hate=0.02]"))  # benign posts add nothing
    p.process(post("h3", "vermin, all of them [hate=0.99]"))
    st = show(engine, clock)
    assert st["status"] == "suspended" and st["reach"] == 0.0 and not st["recommendable"]
    assert st["until"] == (clock() + __import__("datetime").timedelta(days=30)).isoformat()
    steps = st["penalties"]
    assert [x["penalty"] for x in steps] == ["warning", "limited", "suspended"]
    # Every step cites its rule, the policy clause, the strikes it counted and the trigger.
    for n, step in enumerate(steps, 1):
        assert step["rule"].startswith(f"ladder:{n}:") and step["ground"] and step["notice"]
        assert step["reasons"]["active_strikes"] == n
        assert [x["content_id"] for x in step["reasons"]["strikes"]] == ["h1", "h2", "h3"][:n]
        assert step["reasons"]["trigger"]["rules"] == ["hate-remove"]
    assert ledger_kinds(engine, "account:u1") == [
        "account.penalty", "account.status", "account.penalty", "account.status",
        "account.penalty", "account.status"]
    with Session(engine) as s:
        assert s.get(ActorRow, ("default", "u1")).status == "suspended"


def test_restoring_a_removal_lifts_its_strike_and_the_penalty_it_caused(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    for i, score in enumerate((0.97, 0.95, 0.99), 1):
        p.process(post(f"h{i}", f"post {i} [hate={score}]"))
        clock.advance(hours=1)
    assert show(engine, clock)["status"] == "suspended"
    # A reviewer (on appeal) finds h3 was satire: "no action" restores it through the one path.
    p.decide_by_human("h3", reviewer="r1", actions=[Action(ActionType.NONE)], category="hate",
                      ground="CS 3.1 Hate speech: satire exception", key="appeal:h3")
    st = show(engine, clock)
    assert st["status"] == "limited"  # the suspension counted h3's strike; the limit did not
    assert [x["content_id"] for x in st["active_strikes"]] == ["h1", "h2"]
    suspension = st["penalties"][2]
    assert suspension["lifted_at"] and "h3 was restored by reviewer:r1" in suspension["lifted_reason"]
    assert st["penalties"][1]["lifted_at"] is None
    # Restoring h1 too lifts everything that counted it: the account is back in good standing.
    p.decide_by_human("h1", reviewer="r1", actions=[Action(ActionType.NONE)], category="hate",
                      ground="CS 3.1 Hate speech: counter-speech", key="appeal:h1")
    st = show(engine, clock)
    assert st["status"] == "warned" and st["limits"] == [] and st["reach"] == 1.0
    assert "account.penalty.lifted" in ledger_kinds(engine, "account:u1")


def test_a_credible_violent_threat_bans_at_once(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    p.process(post("t1", "I will find you and hurt you [violence=0.97]", author="u9"))
    st = show(engine, clock, "u9")
    assert st["status"] == "banned" and st["until"] is None
    assert st["penalties"][0]["rule"] == "immediate:violence:critical:banned"
    assert "critical violence" in st["penalties"][0]["reasons"]["immediate"]


def test_strikes_decay_and_temporary_penalties_end(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    p.process(post("h1", "a [hate=0.97]"))
    p.process(post("h2", "b [hate=0.97]"))
    assert show(engine, clock)["status"] == "limited"
    clock.advance(days=8)  # the 7-day limit is over; strikes are still active
    assert show(engine, clock)["status"] == "warned"
    clock.advance(days=90)  # strikes decayed
    st = show(engine, clock)
    assert st["status"] == "active" and st["active_strikes"] == [] and len(st["strikes"]) == 2
    p.process(post("h3", "c [hate=0.97]"))  # a fresh start: one active strike, a warning
    assert show(engine, clock)["penalties"][-1]["penalty"] == "warning"


def test_a_conflicting_restore_for_an_item_never_removed_changes_no_penalty(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    p.process(post("h1", "a [hate=0.97]"))
    p.process(post("n1", "fine [hate=0.01]"))
    with Session(engine) as s:
        before = s.execute(select(func.count()).select_from(PenaltyRow)).scalar_one()
    p.decide_by_human("n1", reviewer="r1", actions=[Action(ActionType.NONE)], category="hate",
                      ground="CS 3.1", key="late")
    st = show(engine, clock)
    assert st["status"] == "warned" and len(st["active_strikes"]) == 1
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(PenaltyRow)).scalar_one() == before
    assert show(engine, clock, "nobody") is None


def test_penalty_sections_are_checked_with_line_numbers() -> None:
    base = ('policy: t\nversion: "1"\nrules:\n  - id: r\n    category: hate\n    severity: high\n'
            '    when: score.hate >= 0.9\n    actions: [remove]\n    ground: g\n    notice: n\n')
    bad = base + ("penalties:\n  ground: g\n  ladder:\n    - strikes: 2\n      penalty: suspended\n"
                  "    - strikes: 1\n      penalty: limited\n      limits: [telepathy]\n      days: 3\n")
    errors = [str(e) for e in check_text(bad, "p.yaml")]
    assert any(e.startswith("p.yaml:14:") and "needs 'days'" in e for e in errors), errors
    assert any(e.startswith("p.yaml:18:") and "unknown feature 'telepathy'" in e for e in errors)
    unordered = base + ("penalties:\n  ground: g\n  ladder:\n    - {strikes: 2, penalty: warning}\n"
                        "    - {strikes: 1, penalty: banned}\n")
    assert [str(e) for e in check_text(unordered, "p.yaml")] == [
        "p.yaml:14: penalties.ladder steps must have increasing strike counts"]
    assert check_text(base) == []  # the sections are optional
