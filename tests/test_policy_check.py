"""`check_file`: every mistake in a policy file, each with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebreak.policy import PolicyFileError, check_file, check_text, load_policy

# Line numbers matter in this file: the expected errors below cite them.
BROKEN = """\
policy: core
version: "2026.11.0"
colour: blue
thresholds:
  hate_remove: 0.9
rules:
  - id: hate-remove
    category: hate
    severity: high
    when: score.hatee >= thresholds.hate_remove
    actions: [remove, {reduce: 1.5}]
    ground: CS 3.1 Hate speech
    notice: "Removed: {reason}"
  - id: hate-remove
    category: hat
    severity: urgent
    when: score.hate >= 0.5
    actions: [delete, reduce]
    ground: CS 3.1 Hate speech
    notice: Removed.
    applies_to: [post, adz]
  - id: threat-review
    category: violence
    severity: critical
    when: |
      score.violence >= 0.5
      and (lambda: True)
    actions:
      - review: {queue: violence, priority: -1}
"""


def write(tmp_path: Path, text: str, name: str = "default.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reports_all_mistakes_with_their_lines(tmp_path: Path) -> None:
    errors = check_file(write(tmp_path, BROKEN))
    assert [(e.line, e.rule, e.message) for e in errors] == [
        (3, None, "unknown key 'colour' in the policy"),
        (10, "hate-remove", "unknown category 'hatee' in condition (did you mean 'hate'?)"),
        (11, "hate-remove", "reduce factor must be between 0 and 1 (exclusive), got 1.5; "
                            "it multiplies reach"),
        (13, "hate-remove", "notice: unknown placeholder '{reason}' (known: {category}, "
                            "{claim_id}, {fact_check_url}, {ground}, {policy}, {publisher}, "
                            "{rating}, {rule}, {severity}, {version})"),
        (14, "hate-remove", "duplicate rule id 'hate-remove' (first defined on line 7)"),
        (15, "hate-remove", "unknown category 'hat' (did you mean 'hate'?)"),
        (16, "hate-remove", "severity must be one of low, medium, high, critical, not 'urgent'"),
        (18, "hate-remove", "unknown action 'delete' (allowed: remove, warn, review, none, "
                            "{reduce: 0.3}, {label: text}, {info: text}, {warn: text} or "
                            "{review: {queue: name, priority: 1}})"),
        (18, "hate-remove", "'reduce' needs a value, e.g. {reduce: 0.3}"),
        (21, "hate-remove", "unknown surface 'adz' (did you mean 'ad'?)"),
        (22, "threat-review", "missing required key 'ground'"),
        (27, "threat-review", "lambda is not allowed"),
        (29, "threat-review", "priority must be a whole number >= 0 (0 is the most urgent)"),
    ]


def test_error_text_names_file_line_and_rule(tmp_path: Path) -> None:
    errors = check_file(write(tmp_path, BROKEN))
    assert str(errors[1]) == ("default.yaml:10: rule 'hate-remove': unknown category 'hatee' in "
                              "condition (did you mean 'hate'?)")
    assert errors[1].column == 11  # where `score.hatee` starts on that line
    assert str(errors[0]) == "default.yaml:3: unknown key 'colour' in the policy"


def test_load_policy_raises_with_every_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError) as info:
        load_policy(write(tmp_path, BROKEN))
    assert len(info.value.errors) == 13
    assert "13 errors in policy file" in str(info.value)
    assert "default.yaml:27: rule 'threat-review': lambda is not allowed" in str(info.value)


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    errors = check_file(write(tmp_path, "policy: core\nversion: '1'\nrules:\n  - id: [unclosed\n"))
    assert len(errors) == 1 and errors[0].line == 5
    assert errors[0].message.startswith("YAML syntax error")


def test_unreadable_empty_and_non_mapping_files(tmp_path: Path) -> None:
    assert check_file(tmp_path / "missing.yaml")[0].message.startswith("cannot read file")
    assert check_file(write(tmp_path, ""))[0].message == "the file is empty"
    assert check_text("- a\n- b\n")[0].message == "a policy file must be a mapping (key: value lines)"
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"policy: core\ndescription: caf\xe9\n")
    assert [(e.line, e.message) for e in check_file(binary)] == [(2, "file is not valid UTF-8")]


def test_missing_top_level_keys() -> None:
    assert [e.message for e in check_text("description: nothing\n")] == [
        "missing required key 'policy'", "missing required key 'version'",
        "missing required key 'rules'"]


HEADER = "policy: core\nversion: '1'\nrules:\n"


def rule_errors(rule: str) -> list[str]:
    return [e.message for e in check_text(HEADER + rule)]


def test_action_mistakes() -> None:
    base = "  - id: r\n    category: hate\n    severity: low\n    when: score.hate > 0.5\n" \
           "    ground: CS 3.1\n    notice: n\n"
    assert rule_errors(base + "    actions: [none, remove]\n") == [
        "'none' cannot be combined with other actions"]
    assert rule_errors(base + "    actions: [remove, remove]\n") == ["action 'remove' appears twice"]
    assert rule_errors(base + "    actions: [{reduce: 0}]\n")[0].startswith(
        "reduce factor must be between 0 and 1")
    assert rule_errors(base + "    actions: [{reduce: high}]\n") == ["the reduce factor must be a number"]
    assert rule_errors(base + "    actions: [{label: ''}]\n") == ["the label text must not be empty"]
    assert rule_errors(base + "    actions: [{review: {queue: Hate Team}}]\n") == [
        "queue name 'Hate Team' may only use a-z, 0-9, '.', '_' and '-'"]
    assert rule_errors(base + "    actions: [{review: {queu: hate}}]\n") == [
        "unknown key 'queu' in review (did you mean 'queue'?)"]
    assert rule_errors(base + "    actions: [{remove: 1, warn: 2}]\n")[0].startswith(
        "an action is one of")
    assert rule_errors(base + "    actions: []\n")[0].startswith("actions must be a non-empty list")


def test_notice_rules() -> None:
    head = "  - id: r\n    category: misinformation\n    severity: low\n    ground: CS 4.1\n"
    # Users must be told why something they can see happened to their content.
    assert rule_errors(head + "    when: score.misinformation > 0.5\n    actions: [{reduce: 0.5}]\n") == [
        "missing required key 'notice' (the user must be told why: reduce)"]
    # ...but a review alone needs no notice.
    assert rule_errors(head + "    when: score.misinformation > 0.5\n    actions: [review]\n") == []
    # Evidence placeholders need a signal to come from.
    assert rule_errors(head + "    when: group.stage == 'reduced'\n    actions: [{reduce: 0.5}]\n"
                       "    notice: See {fact_check_url}\n") == [
        "notice uses {fact_check_url} but the condition reads no signal to take it from"]
    assert rule_errors(head + "    when: has('misinformation')\n    actions: [{warn: 'a {b'}]\n"
                       "    notice: n\n") == [
        "warn text: unmatched '{' in text (write '{{' for a literal brace)"]
    # Attribute or index access in placeholders is refused, unlike str.format.
    assert rule_errors(head + "    when: has('misinformation')\n    actions: [warn]\n"
                       "    notice: '{rule.__class__}'\n") == [
        "notice: bad placeholder '{rule.__class__}': only {name} is allowed"]


def test_field_shapes() -> None:
    assert rule_errors("  - id: Bad Id\n    category: hate\n    severity: low\n    when: has('hate')\n"
                       "    actions: [review]\n    ground: CS 3.1\n    stop: yes please\n"
                       "    shadow: 1\n    id: again\n") == [
        "rule id 'Bad Id' may only use a-z, 0-9, '.', '_' and '-'",
        "stop must be true or false", "shadow must be true or false",
        "duplicate key 'id' (first on line 4)"]
    assert [e.message for e in check_text("policy: core\nversion: '1'\nmode: dry-run\n"
                                          "thresholds: {hate: high, Bad: 1}\nrules: []\n")] == [
        "mode must be 'enforce' or 'shadow', not 'dry-run'",
        "threshold 'hate' must be a number",
        "threshold name 'Bad' must be lower_case_with_underscores",
        "rules must not be empty"]


def test_condition_positions_inside_block_and_quoted_scalars() -> None:
    text = HEADER + ("  - id: r\n    category: hate\n    severity: low\n    actions: [review]\n"
                     "    ground: CS 3.1\n    when: |\n      score.hate > 0.5\n"
                     "      and score.spma > 0.5\n")
    (error,) = check_text(text)
    assert (error.line, error.column) == (11, 11)  # `score.spma` on the block's second line
    text = HEADER + ("  - id: r\n    category: hate\n    severity: low\n    actions: [review]\n"
                     "    ground: CS 3.1\n    when: \"score.hate > 0.5 and has('hatred')\"\n")
    (error,) = check_text(text)
    assert (error.line, error.column) == (9, 37)  # the argument of has()


def test_strike_flag_and_separate_strike_categories() -> None:
    base = ("  - id: r\n    category: misinformation\n    severity: low\n    when: has('misinformation')\n"
            "    actions: [{reduce: 0.5}]\n    ground: CS 4.1\n    notice: n\n")
    assert rule_errors(base + "    strike: true\n") == []
    assert rule_errors(base + "    strike: often\n") == ["strike must be true or false"]
    ladder = ("penalties:\n  ground: CS 9.1\n  ladder:\n    - {strikes: 1, penalty: warning}\n"
              "  separate: SEPARATE\n")
    good = HEADER + base + ladder.replace("SEPARATE", "[misinformation]")
    bad = HEADER + base + ladder.replace("SEPARATE", "[gossip]")
    assert [e.message for e in check_text(good)] == []
    assert [e.message for e in check_text(bad)] == ["penalties.separate must be a list of known categories"]
