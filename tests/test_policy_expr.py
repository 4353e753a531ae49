"""The condition language: what it can read, and what it refuses at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebreak.model import Context, ContentKind, EventType, Signal
from tidebreak.policy import ConditionError, Env, compile_condition

FACT_CHECK = Signal("factcheck", "misinformation", 0.82,
                    {"rating": "false", "claim_id": "c-17", "publisher": "FactCheckers",
                     "fact_check_url": "https://fc.example/c-17"})


def env(*signals: Signal, **context: object) -> Env:
    context.setdefault("surface", ContentKind.POST)
    return Env(list(signals), Context(**context))  # type: ignore[arg-type]


def holds(condition: str, e: Env, **thresholds: float) -> bool:
    return compile_condition(condition, thresholds=thresholds)(e)


def problems(condition: str, **thresholds: float) -> list[str]:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, thresholds=thresholds)
    return [p.message for p in info.value.problems]


# ------------------------------------------------------------------ what conditions can read

def test_score_is_the_max_over_signals_of_a_category_and_zero_when_absent() -> None:
    e = env(Signal("harm", "hate", 0.4), Signal("bank", "hate", 0.7))
    assert holds("score.hate == 0.7", e)
    assert holds("score.violence == 0.0", e)
    assert holds("score_by('harm', 'hate') == 0.4 and score_by('nobody', 'hate') == 0", e)


def test_has_and_evidence_read_the_strongest_signal() -> None:
    weaker = Signal("factcheck", "misinformation", 0.3, {"rating": "true"})
    e = env(weaker, FACT_CHECK)
    assert holds('has("misinformation") and not has("spam")', e)
    assert holds('evidence("misinformation", "rating") in ["false", "misleading"]', e)
    assert holds('evidence("misinformation", "nothing_here") is None', e)
    assert holds('evidence("spam", "rating") is None', e)


def test_context_names() -> None:
    e = env(surface=ContentKind.AD, author_strikes=3, author_strikes_by_category={"hate": 2},
            author_status="limited", group_stage="reduced", velocity=250.0, views=10_000,
            reports=4, language="de", event_type=EventType.REPORT)
    assert holds('surface == "ad" and event in ["report", "content.edit"]', e)
    assert holds('author.strikes == 3 and author.strikes_in("hate") == 2 '
                 'and author.strikes_in("spam") == 0 and author.status == "limited"', e)
    assert holds('group.stage == "reduced" and language == "de"', e)
    assert holds("velocity > 200 and views >= 10000 and reports > 3", e)
    assert holds("group.stage is None", env())
    assert holds('surface in ["post", "comment"]', env())


def test_thresholds_arithmetic_chains_and_min_max() -> None:
    e = env(Signal("harm", "hate", 0.7), Signal("harm", "violence", 0.2))
    assert holds("thresholds.low <= score.hate < thresholds.high", e, low=0.6, high=0.9)
    assert not holds("thresholds.low <= score.hate < thresholds.high", e, low=0.6, high=0.65)
    assert holds("max(score.hate, score.violence) >= 0.7 and min(score.hate, score.violence) < 0.3", e)
    assert holds("score.hate - thresholds.margin * 2 > 0.4", e, margin=0.1)
    assert holds("-score.hate < 0", e)


def test_missing_values_never_raise() -> None:
    # Ordering against a missing evidence value is simply false, and x / 0 is 0.
    assert not holds('evidence("misinformation", "similarity") >= 0.5', env())
    assert not holds('evidence("misinformation", "rating") > 0.5', env(FACT_CHECK))
    assert holds("score.hate / score.spam == 0", env(Signal("harm", "hate", 0.9)))


def test_multi_line_conditions() -> None:
    cond = compile_condition('score.hate >= 0.9\nand surface != "ad"\n')
    assert cond(env(Signal("harm", "hate", 0.95)))


def test_condition_records_the_categories_whose_signals_it_reads() -> None:
    cond = compile_condition('score.hate > 0.5 or has("violence") or '
                             'evidence("misinformation", "rating") == "false" or '
                             'score_by("harm", "hate") > 0 or author.strikes_in("spam") > 1')
    # In order of first appearance; strike history is not a signal, so spam is not cited.
    assert cond.categories == ("hate", "violence", "misinformation")


# ------------------------------------------------------------------ what is refused at load time

@pytest.mark.parametrize("condition", [
    "__import__('os').system('touch PWNED')",
    "open('/etc/passwd') == 1",
    "eval('1') == 1",
    "getattr(score, 'hate') > 0",
    "().__class__.__bases__[0].__subclasses__() == 1",
    "score.__class__ == 1",
    "score.hate.__class__ == 1",
    "__builtins__ == 1",
    "(lambda: 1)() == 1",
    "[x for x in [1, 2]] == [1]",
    "any(x > 0 for x in [1])",
    "{x for x in [1]} == 1",
    "score['hate'] > 0.5",
    "score.hate ** 99 > 1",
    "f'{score}' == 'x'",
    "(x := 1) == 1",
    "1 if score.hate else 0",
    "{'a': 1} == 1",
    "'a'.join(['b']) == 'b'",
])
def test_malicious_or_disallowed_syntax_is_rejected_at_load(condition: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConditionError):
        compile_condition(condition)
    assert not (tmp_path / "PWNED").exists()  # nothing was executed


def test_messages_for_disallowed_syntax() -> None:
    assert problems("lambda: True") == ["lambda is not allowed"]
    assert problems("[x for x in [1]] == 1") == ["comprehensions are not allowed"]
    assert problems("score.__class__ == 1") == ["access to '__class__' is not allowed"]
    assert problems("__import__('os') == 1") == ["unknown function '__import__' (known: has, "
                                                 "score_by, evidence, max, min, author.strikes_in)"]


def test_typos_are_errors_not_rules_that_never_fire() -> None:
    assert problems("score.hatee > 0.9") == [
        "unknown category 'hatee' in condition (did you mean 'hate'?)"]
    assert problems("scroe.hate > 0.9") == ["unknown name 'scroe' (did you mean 'score'?)"]
    assert problems("has('violance')") == [
        "unknown category 'violance' in condition (did you mean 'violence'?)"]
    assert problems("score.hate > thresholds.hate_remov", hate_remove=0.9) == [
        "unknown threshold 'hate_remov' (did you mean 'hate_remove'?)"]
    assert problems('surface == "adz"') == ["unknown surface 'adz' (did you mean 'ad'?)"]
    assert problems('event in ["create"]')[0].startswith("unknown event 'create'")
    assert problems("author.strikez > 1") == ["unknown field 'author.strikez' (did you mean 'strikes'?)"]


def test_every_problem_in_a_condition_is_reported_with_its_column() -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition("score.hatee > 0.9 and\nscore.violenc > 0.5")
    assert [(p.line, p.column) for p in info.value.problems] == [(1, 0), (2, 0)]


def test_arity_types_and_shape() -> None:
    assert problems("has('hate', 'spam')") == ["has() takes 1 argument, got 2"]
    assert problems("evidence('hate') == 1") == ["evidence() takes 2 arguments, got 1"]
    assert problems("max(score.hate) > 1") == ["max() takes at least 2 arguments"]
    assert problems("has(category='hate')") == ["has() takes no keyword arguments"]
    assert problems("has(surface)") == ["the category of has() must be a quoted string"]
    assert problems("score.hate > 'high'")[0].startswith("each side of '>' must be a number")
    assert problems("surface == 1") == ["'surface == 1' compares a number with a string"]
    # Precedence mistake: this would mean "any hate score at all, or spam over 0.5".
    assert problems("score.hate or score.spam > 0.5")[0].startswith("each side of 'or' must be")
    assert problems("score.hate")[0].startswith("a condition must be true or false")
    assert problems("surface in 'post'")[0].startswith("the right side of 'in' must be a list")
    assert problems("score.hate > (0.5") == ["bracket opened here is never closed"]
    assert problems("score.hate > 0.5) or (True") == ["unmatched ')'"]
    assert problems("score.hate >")[0].startswith("syntax error")
    assert problems("") == ["condition is empty"]
