"""Evaluating policies: actions, hits and what they cite, shadow mode, `stop`, speed."""

from __future__ import annotations

import hashlib
import textwrap
import time
from pathlib import Path

import pytest

from tidebreak.model import Action, ActionType, Context, ContentKind, Signal
from tidebreak.policy import Policy, PolicySet, load_default_policy, load_policy, parse_policy

POST = Context(surface=ContentKind.POST)
FACT_CHECK = Signal("factcheck", "misinformation", 0.9,
                    {"rating": "false", "claim_id": "c-17", "publisher": "FactCheckers",
                     "fact_check_url": "https://fc.example/c-17"})


def policy(rules: str, *, header: str = "", version: str = "1.0") -> Policy:
    """A policy from the rules part of a file (YAML list items)."""
    text = f"policy: test\nversion: \"{version}\"\n{header}rules:\n" + textwrap.indent(
        textwrap.dedent(rules), "  ")
    return parse_policy(text, "test.yaml")


def rule(rule_id: str, when: str, actions: str, *, category: str = "hate", extra: str = "") -> str:
    # The author is told only of a restriction: a rule that only reviews carries no notice.
    restricts = any(w in actions for w in ("remove", "warn", "reduce", "label"))
    notice = "  notice: Removed under {ground}.\n" if restricts else ""
    return textwrap.dedent(f"""\
        - id: {rule_id}
          category: {category}
          severity: high
          when: {when}
          actions: {actions}
          ground: CS 3.1 Hate speech
        """) + notice + textwrap.indent(textwrap.dedent(extra), "  ")


def hate(score: float) -> Signal:
    return Signal("harm", "hate", score)


# ------------------------------------------------------------------ actions

@pytest.mark.parametrize("written, expected", [
    ("[remove]", Action(ActionType.REMOVE)),
    ("[warn]", Action(ActionType.WARN)),
    ("[none]", Action(ActionType.NONE)),
    # Plain `review`: the rule's category is the queue, the severity (high) sets the priority.
    ("[review]", Action(ActionType.REVIEW, queue="hate", priority=1)),
    ("[{review: }]", Action(ActionType.REVIEW, queue="hate", priority=1)),
    ("[{review: {queue: hate-experts, priority: 0}}]",
     Action(ActionType.REVIEW, queue="hate-experts", priority=0)),
    ("[{review: {queue: appeals}}]", Action(ActionType.REVIEW, queue="appeals", priority=1)),
    ("[{reduce: 0.3}]", Action(ActionType.REDUCE, factor=0.3)),
    ('[{label: "Context: see the fact-check"}]', Action(ActionType.LABEL, label="Context: see the fact-check")),
    ('[{warn: "Some may find this offensive"}]', Action(ActionType.WARN, label="Some may find this offensive")),
])
def test_every_action_form(written: str, expected: Action) -> None:
    p = policy(rule("r", "score.hate > 0.5", written))
    (hit,) = p.evaluate([hate(0.6)], POST).hits
    assert hit.actions == (expected,)


def test_several_actions_and_templated_texts() -> None:
    p = policy("""\
        - id: misinfo-label
          category: misinformation
          severity: medium
          when: evidence("misinformation", "rating") == "false"
          actions:
            - label: "Rated {rating} by {publisher}: {fact_check_url}"
            - reduce: 0.2
          ground: CS 4.1 False information
          notice: "Your post repeats claim {claim_id} ({rule}, policy {policy} {version}); {{literal}}"
        """, version="2026.11.0")
    (hit,) = p.evaluate([FACT_CHECK], POST).hits
    assert hit.actions == (
        Action(ActionType.LABEL, label="Rated false by FactCheckers: https://fc.example/c-17"),
        Action(ActionType.REDUCE, factor=0.2))
    assert hit.notice == "Your post repeats claim c-17 (misinfo-label, policy test 2026.11.0); {literal}"


# ------------------------------------------------------------------ hits

def test_every_matching_rule_hits_in_file_order_with_what_it_cites() -> None:
    p = policy(rule("hate-high", "score.hate >= 0.9 and reports >= 0", "[remove]")
               + rule("hate-any", 'has("hate") and velocity < 100', "[review]")
               + rule("threat", "score.violence > 0.5", "[remove]", category="violence")
               + rule("grouped", 'group.stage == "reduced"', "[{reduce: 0.5}]"), version="7")
    weak, strong = hate(0.2), Signal("bank", "hate", 0.95)
    out = p.evaluate([weak, strong, Signal("harm", "violence", 0.1)],
                     Context(surface=ContentKind.POST, group_stage="reduced"))
    assert (out.policy_id, out.policy_version) == ("test", "7")
    assert [h.rule_id for h in out.hits] == ["hate-high", "hate-any", "grouped"]
    assert out.hits[0].signals == (strong,)  # the strongest signal of each category it read
    assert out.hits[2].signals == ()  # read only the context
    assert {h.policy_version for h in out.hits} == {"7"}
    assert out.hits[0].ground == "CS 3.1 Hate speech"
    assert out.hits[0].notice == "Removed under CS 3.1 Hate speech."
    assert out.shadow_hits == ()


def test_applies_to_limits_a_rule_to_surfaces() -> None:
    p = policy(rule("ads-only", "score.hate > 0.1", "[remove]", extra="applies_to: [ad]\n"))
    assert p.evaluate([hate(0.5)], POST).hits == ()
    assert len(p.evaluate([hate(0.5)], Context(surface=ContentKind.AD)).hits) == 1


def test_stop_skips_later_rules_of_the_same_category_only() -> None:
    p = policy(rule("hate-remove", "score.hate > 0.9", "[remove]", extra="stop: true\n")
               + rule("hate-review", "score.hate > 0.5", "[review]")
               + rule("threat-review", "score.hate > 0.5", "[review]", category="violence"))
    assert [h.rule_id for h in p.evaluate([hate(0.95)], POST).hits] == ["hate-remove",
                                                                      "threat-review"]
    # When the stop rule does not fire, nothing is stopped.
    assert [h.rule_id for h in p.evaluate([hate(0.6)], POST).hits] == ["hate-review",
                                                                     "threat-review"]


# ------------------------------------------------------------------ shadow

def test_a_shadow_rule_is_recorded_but_never_enforced() -> None:
    p = policy(rule("hate-remove", "score.hate >= 0.9", "[remove]")
               + rule("hate-remove-candidate", "score.hate >= 0.8", "[remove]",
                      extra="shadow: true\n"))
    out = p.evaluate([hate(0.85)], POST)
    assert out.hits == ()
    assert [(h.rule_id, h.shadow) for h in out.shadow_hits] == [("hate-remove-candidate", True)]


def test_shadow_stop_rules_never_change_what_is_enforced() -> None:
    p = policy(rule("candidate", "score.hate >= 0.5", "[remove]", extra="shadow: true\nstop: true\n")
               + rule("enforced", "score.hate >= 0.5", "[review]")
               + rule("other-candidate", "score.hate >= 0.5", "[warn]", extra="shadow: true\n"))
    out = p.evaluate([hate(0.6)], POST)
    assert [h.rule_id for h in out.hits] == ["enforced"]
    assert [h.rule_id for h in out.shadow_hits] == ["candidate"]  # stopped the later shadow rule
    # ...while an enforced stop rule also stops later shadow rules: had they been enforced, they
    # would not have run.
    p = policy(rule("enforced", "score.hate >= 0.5", "[review]", extra="stop: true\n")
               + rule("candidate", "score.hate >= 0.5", "[remove]", extra="shadow: true\n"))
    out = p.evaluate([hate(0.6)], POST)
    assert [h.rule_id for h in out.hits] == ["enforced"] and out.shadow_hits == ()


def test_a_shadow_policy_runs_beside_the_active_one() -> None:
    active = policy(rule("hate-remove", "score.hate >= 0.9", "[remove]"), version="1")
    candidate = policy(rule("hate-remove", "score.hate >= 0.8", "[remove]"),
                       header="mode: shadow\n", version="2")
    assert candidate.mode == "shadow"
    # On its own, a shadow-mode policy enforces nothing.
    alone = candidate.evaluate([hate(0.85)], POST)
    assert alone.hits == () and [h.policy_version for h in alone.shadow_hits] == ["2"]

    both = PolicySet(active, shadow=[candidate])
    out = both.evaluate([hate(0.85)], POST)
    assert (out.policy_version, out.hits) == ("1", ())
    assert [(h.rule_id, h.policy_version, h.shadow) for h in out.shadow_hits] == [
        ("hate-remove", "2", True)]
    # An enforce-mode policy passed as a shadow is recorded as shadow too.
    next_version = policy(rule("hate-remove", "score.hate >= 0.8", "[remove]"), version="3")
    out = PolicySet(active, shadow=[next_version]).evaluate([hate(0.95)], POST)
    assert [h.policy_version for h in out.hits] == ["1"]
    assert [(h.policy_version, h.shadow) for h in out.shadow_hits] == [("3", True)]


def test_a_shadow_mode_policy_cannot_be_the_active_one() -> None:
    candidate = policy(rule("r", "score.hate >= 0.8", "[remove]"), header="mode: shadow\n")
    with pytest.raises(ValueError, match="shadow mode"):
        PolicySet(candidate)


# ------------------------------------------------------------------ identity and speed

def test_id_version_and_digest_identify_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("policy: core\nversion: 2026.11\nrules:\n"
                    + textwrap.indent(rule("r", "score.hate > 0.5", "[remove]"), "  "))
    p = load_policy(path)
    assert (p.id, p.version) == ("core", "2026.11")  # a YAML float stays the string written
    assert p.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_evaluation_speed_of_the_default_policy(capsys: pytest.CaptureFixture[str]) -> None:
    p = load_default_policy()
    signals = [hate(0.3), Signal("harm", "violence", 0.1), Signal("harm", "harassment", 0.2),
               FACT_CHECK, Signal("bank", "known_violating", 0.0)]
    context = Context(surface=ContentKind.POST, author_strikes=1, group_stage="reduced",
                      velocity=10.0)
    n = 10_000
    start = time.perf_counter()
    for _ in range(n):
        p.evaluate(signals, context)
    seconds = time.perf_counter() - start
    rate = n * len(p.rules) / seconds
    with capsys.disabled():
        print(f"\n{n} evaluations of the default policy ({len(p.rules)} rules): {seconds:.3f} s, "
              f"{rate:,.0f} rule evaluations/s")
    # The requirement is 50,000 rule evaluations/s; typical is ~40x that, so this is not flaky.
    assert rate >= 50_000
