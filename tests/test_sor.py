"""Statements of reasons: one per restriction, each valid under the DSA Transparency Database's
rules, free of personal data, exported in batches of at most 100, idempotently by puid."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak import ledger
from tidebreak.accountability import sor_schema as schema
from tidebreak.accountability.export import export
from tidebreak.accountability.notices import render_notice
from tidebreak.accountability.sor import (
    Restriction,
    StatementRefused,
    puid_for,
    record_restriction,
)
from tidebreak.cli import app
from tidebreak.model import Action, ActionType
from tidebreak.policy import PolicySet, parse_policy
from tidebreak.store.schema import ContentRow, DecisionRow, LedgerEntryRow

from .accountability_helpers import CFG, acc_pipeline, post, statements

runner = CliRunner()

# One rule per action type, so each maps to its DSA value.
ACTIONS_POLICY = parse_policy("""
policy: actions
version: "1"
thresholds: {}
rules:
  - id: hate-remove
    category: hate
    severity: high
    when: score.hate >= 0.9
    actions: [remove]
    ground: "CS 3.1 Hate speech"
    notice: "We removed this because it attacks people for who they are."
  - id: spam-reduce
    category: spam
    severity: high
    when: score.spam >= 0.8
    actions: [{reduce: 0.3}]
    ground: "CS 5.1 Spam"
    notice: "We show this to fewer people because it looks like spam."
  - id: misinfo-label
    category: misinformation
    severity: high
    when: score.misinformation >= 0.8
    actions: [{label: "Fact-checkers rated this false"}]
    ground: "CS 4.1 False information"
    notice: "We added a fact-check label."
  - id: violence-warn
    category: violence
    severity: high
    when: score.violence >= 0.8
    actions: [{warn: "Graphic violence"}]
    ground: "CS 1.3 Graphic violence"
    notice: "We put this behind a warning screen."
  - id: harassment-review
    category: harassment
    severity: high
    when: score.harassment >= 0.5
    actions: [review]
    ground: "CS 2.1 Bullying and harassment"
""", "actions.yaml")


def valid_statement(**over: object) -> dict[str, object]:
    s: dict[str, object] = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_facts": "Automated detection scored hate 0.97; rule hate-remove applied.",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "CS 3.1 Hate speech",
        "incompatible_content_explanation": "It attacks people for who they are.",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "category_specification": ["KEYWORD_HATE_SPEECH"],
        "territorial_scope": ["DE", "FR"],
        "content_date": "2026-11-01",
        "application_date": "2026-11-03",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "puid": "tb-abc123",
    }
    s.update(over)
    return {k: v for k, v in s.items() if v is not None}


# -- the validator -------------------------------------------------------------------------------


def test_a_complete_statement_is_valid() -> None:
    assert schema.validate(valid_statement()) == []


@pytest.mark.parametrize("change, error", [
    ({"decision_visibility": None}, "decision_visibility: required unless"),
    ({"decision_visibility": None, "decision_account": "DECISION_ACCOUNT_SUSPENDED"}, None),
    ({"decision_visibility": None, "decision_monetary": "DECISION_MONETARY_OTHER"},
     "decision_monetary_other: required"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other: required"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"], "decision_visibility_other": "x"}, None),
    ({"decision_visibility": ["DECISION_VISIBILITY_HIDDEN"]}, "decision_visibility: not allowed"),
    ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
     "illegal_content_explanation: required when decision_ground is DECISION_GROUND_ILLEGAL"),
    ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
      "illegal_content_legal_ground": "StGB 130", "illegal_content_explanation": "Incitement."},
     None),
    ({"incompatible_content_explanation": None}, "incompatible_content_explanation: required"),
    ({"incompatible_content_illegal": "Maybe"}, "incompatible_content_illegal: 'Maybe'"),
    ({"decision_facts": None}, "decision_facts: required"),
    ({"decision_facts": "x" * 5001}, "decision_facts: at most 5000 characters"),
    ({"incompatible_content_ground": "x" * 501}, "incompatible_content_ground: at most 500"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other: required"),
    ({"category": "STATEMENT_CATEGORY_HATE"}, "category: 'STATEMENT_CATEGORY_HATE'"),
    ({"category_specification": ["KEYWORD_NOT_A_KEYWORD"]}, "category_specification: not allowed"),
    ({"territorial_scope": ["DE", "US"]}, "territorial_scope: not allowed: 'US'"),
    ({"content_language": "de"}, "content_language: must be an ISO 639-1 code"),
    ({"content_date": "1999-12-31"}, "content_date: must be on or after 2000-01-01"),
    ({"content_date": "2026-13-01"}, "content_date: '2026-13-01' is not a valid date"),
    ({"application_date": "03/11/2026"}, "application_date: must be a date YYYY-MM-DD"),
    ({"application_date": "2019-12-31"}, "application_date: must be on or after 2020-01-01"),
    ({"end_date_visibility_restriction": "2038-01-02"}, "must be on or before 2038-01-01"),
    ({"end_date_visibility_restriction": "2026-11-02"}, "must not be before application_date"),
    ({"automated_decision": "Yes"}, "automated_decision: 'Yes'"),
    ({"automated_detection": None}, "automated_detection: required"),
    ({"source_type": "SOURCE_USER"}, "source_type: 'SOURCE_USER'"),
    ({"puid": "tb/123"}, "puid: at most 500 characters of A-Z"),
    ({"puid": "x" * 501}, "puid: at most 500"),
    ({"content_id": {"EAN-13": "123"}}, "content_id: only the key 'EAN-13'"),
    ({"decision_ground_reference_url": "terms#3.1"}, "decision_ground_reference_url: must be"),
    ({"colour": "blue"}, "unknown fields: colour"),
])
def test_each_rule_passes_or_fails_like_the_commission_validator(change: dict, error: str | None) -> None:
    problems = schema.validate(valid_statement(**change))
    if error is None:
        assert problems == []
    else:
        assert any(error in p for p in problems), problems


@pytest.mark.parametrize("text, kind", [
    ("Reported by jane.doe@example.org about this post.", "e-mail address"),
    ("Call +44 20 7946 0958 for details.", "phone number"),
    ("Call 06.12.34.56.78 for details.", "phone number"),
    ("Call 555.123.4567 for details.", "phone number"),
    ("See https://social.example/users/jane for the author.", "link to a user profile"),
    ("The author @jane_doe posted it.", "user handle"),
])
def test_personal_data_in_free_text_is_refused(text: str, kind: str) -> None:
    problems = schema.validate(valid_statement(decision_facts=text))
    assert any("decision_facts" in p and kind in p and "personal data" in p for p in problems)


def test_dates_scores_and_versions_are_not_mistaken_for_phone_numbers() -> None:
    facts = ("Automated detection: harm 2026.11.1 scored hate 0.97 on 2026-11-03; rule "
             "hate-remove of policy default 2026.11.0 applied at 2026-11-03T12:00:00+00:00.")
    assert schema.personal_data(facts) == []
    # calendar versions with eight digits: two-digit days, and a fourth part
    for version in ("2026.12.10", "2026.12.7.1", "2027.1.31.12"):
        assert schema.personal_data(f"Rule voting-remove of policy default {version} decided.") == []
    # a fact-check's URL with a date in its path (the demo's Newtral link) is not a phone number
    assert schema.personal_data("See https://www.newtral.es/las-vacunas/20210702/ for why.") == []
    # random ids that happen to be all digits ("key-" + 12 hex digits, one key in ~300)
    ground = ("Public-interest exception 4f1c0e9a2b7d6e53 (newsworthy) granted by "
              "key-604918273650 (senior_reviewer) until 2026-11-10T00:00:00+00:00: statement.")
    assert schema.personal_data(ground) == []
    assert schema.personal_data("Call me on 0161 496 0123 or +44 20 7946 0958") == ["a phone number"]


def test_a_batch_holds_one_to_a_hundred_distinct_puids() -> None:
    assert schema.validate_batch([valid_statement()]) == []
    assert "between 1 and 100" in schema.validate_batch([])[0]
    many = [valid_statement(puid=f"tb-{i}") for i in range(101)]
    assert "between 1 and 100" in schema.validate_batch(many)[0]
    dup = schema.validate_batch([valid_statement(), valid_statement()])
    assert dup == ["statements.1.puid: repeated in the batch"]


# -- one statement per restriction -------------------------------------------------------------


@pytest.mark.parametrize("text, visibility, other", [
    ("vermin [hate=0.99]", ["DECISION_VISIBILITY_CONTENT_REMOVED"], None),
    ("buy now [spam=0.9]", ["DECISION_VISIBILITY_CONTENT_DEMOTED"], None),
    ("the moon is cheese [misinformation=0.9]", ["DECISION_VISIBILITY_CONTENT_LABELLED"], None),
    ("graphic [violence=0.9]", ["DECISION_VISIBILITY_OTHER"], "warning screen"),
])
def test_each_action_yields_one_statement_with_its_dsa_value(engine, clock, text, visibility,  # type: ignore[no-untyped-def]
                                                              other) -> None:
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    d = p.process(post("p1", text)).decision
    [row] = statements(engine)
    s = row.statement
    assert schema.validate(s) == []
    assert (row.decision_id, row.subject_id, s["puid"]) == (d.id, "p1", puid_for(d.id))
    assert s["decision_visibility"] == visibility
    assert other is None or other in s["decision_visibility_other"]
    assert s["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert s["automated_detection"] == "Yes" and s["source_type"] == "SOURCE_VOLUNTARY"
    assert s["application_date"] == "2026-11-03"
    # No personal data: neither the text nor the author appears anywhere in the statement.
    blob = json.dumps(s)
    assert "u1" not in blob and text.split(" [")[0] not in blob


def test_review_only_no_action_and_repeats_yield_no_statement(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "you fool [harassment=0.6]"))  # review only
    p.process(post("p2", "lovely tomatoes"))  # nothing
    p.process(post("p3", "vermin [hate=0.99]"))  # removed: one statement
    p.process(post("p3", "vermin [hate=0.99]"))  # the same event again
    p.process(post("p3", "vermin [hate=0.99]", type="report", event_id="r1",
                     reason="hate"))  # already removed
    rows = statements(engine)
    assert [r.subject_id for r in rows] == ["p3"]
    with Session(engine) as s:
        assert ledger.verify(s)[1] is None
        kinds = s.execute(select(LedgerEntryRow.kind)).scalars().all()
    assert kinds.count("statement_of_reasons") == 1


def test_a_human_decision_gets_its_own_statement_marked_not_automated(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "you fool [harassment=0.6]"))  # automation queues it for review
    clock.advance(minutes=10)
    d = p.decide_by_human("p1", reviewer="alice", actions=[Action(ActionType.REMOVE)],
                          category="harassment", ground="CS 2.1 Bullying and harassment",
                          notice="We removed this because it insults a person.").decision
    [row] = statements(engine)
    s = row.statement
    assert schema.validate(s) == []
    assert s["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert s["automated_detection"] == "Yes"  # automation flagged it for the reviewer
    assert s["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert "alice" not in json.dumps(s) and row.decision_id == d.id
    assert row.notice["detection_source"] == "automated"
    assert row.notice["automated_decision"] is False


def test_an_email_in_a_reviewer_notice_is_refused_and_nothing_is_stored(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "hello there"))
    with Session(engine) as s:
        before = (s.execute(select(func.count()).select_from(DecisionRow)).scalar_one(),
                  s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())
    with pytest.raises(StatementRefused) as err:
        p.decide_by_human("p1", reviewer="alice", actions=[Action(ActionType.REMOVE)],
                          category="harassment", ground="CS 2.1 Bullying and harassment",
                          notice="Questions? Write to moderator.jane@example.com")
    assert "incompatible_content_explanation: contains an e-mail address" in str(err.value)
    assert err.value.status == 422
    with Session(engine) as s:
        after = (s.execute(select(func.count()).select_from(DecisionRow)).scalar_one(),
                 s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())
        assert s.get(ContentRow, ("default", "p1")).state == "visible"
    assert after == before and statements(engine) == []


def test_the_notice_says_rule_ground_automation_duration_and_appeal_deadline(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "vermin [hate=0.99]"))
    [row] = statements(engine)
    n = row.notice
    assert n["subject"] == {"type": "content", "id": "p1", "kind": "post"}
    assert n["rules"] == ["hate-remove"] and n["ground"] == "CS 3.1 Hate speech"
    assert n["automated_decision"] is True and n["detection_source"] == "automated"
    assert n["restrictions"] == [{"restriction": "DECISION_VISIBILITY_CONTENT_REMOVED",
                                  "description": "removed", "until": None}]
    assert n["appeal"]["until"] == (date(2026, 11, 3) + timedelta(days=183)).isoformat()
    assert n["appeal"]["reference"] == row.puid
    text = render_notice(n)
    for part in ("Your post (p1)", "removed until further notice", "CS 3.1 Hate speech",
                 "decided automatically", "Appeal until 2027-05-05", "out-of-court"):
        assert part in text


def test_account_and_group_restrictions_get_statements_too(engine, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    with Session(engine) as s, s.begin():
        record_restriction(s, "default", Restriction(
            decision_id="d-acct-1", subject_type="account", subject_id="u7",
            kind="account_suspended", category="hate", ground="CS 3.1 Hate speech; CS 8.2 Strikes",
            explanation="Your account was suspended for 7 days after repeated hate speech.",
            decided_by="automation", facts="Three hate speech removals within 90 days.",
            until=now + timedelta(days=7)), now, CFG)
        record_restriction(s, "default", Restriction(
            decision_id="d-grp-1", subject_type="group", subject_id="g1", kind="group_shut_down",
            category="violence", ground="CS 7.3 Groups focused on violence",
            explanation="The group was shut down because it is focused on violence.",
            decided_by="reviewer:bob", facts="A reviewer found most recent posts incite violence."),
            now, CFG)
    acct, grp = sorted(statements(engine), key=lambda r: r.subject_type)
    assert schema.validate(acct.statement) == [] and schema.validate(grp.statement) == []
    assert acct.statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert acct.statement["end_date_account_restriction"] == "2026-11-10"
    assert acct.notice["restrictions"][0]["until"] == "2026-11-10"
    assert grp.statement["decision_provision"] == "DECISION_PROVISION_PARTIAL_TERMINATION"
    assert grp.statement["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert acct.puid == "tb-d-acct-1-account" and grp.puid == "tb-d-grp-1-group"


# -- export --------------------------------------------------------------------------------------


def _batches(directory: Path) -> list[list[dict]]:
    return [json.loads(f.read_text())["statements"] for f in sorted(directory.glob("sor-*.json"))]


def test_export_writes_batches_of_at_most_100_and_is_idempotent_by_puid(engine, clock,  # type: ignore[no-untyped-def]
                                                                        tmp_path) -> None:
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process_batch([post(f"p{i}", f"vermin {i} [hate=0.99]") for i in range(230)])
    out = tmp_path / "sor"
    with Session(engine) as s:
        first = export(s, "default", out)
    assert (first.written, first.skipped_existing, first.invalid) == (230, 0, [])
    assert [len(b) for b in _batches(out)] == [100, 100, 30]
    puids = [st["puid"] for b in _batches(out) for st in b]
    assert len(set(puids)) == 230 and all(schema.validate_batch(b) == [] for b in _batches(out))
    with Session(engine) as s:
        again = export(s, "default", out)
    assert (again.written, again.skipped_existing, again.files) == (0, 230, [])
    clock.advance(minutes=1)
    p.process_batch([post(f"q{i}", f"vermin {i} [hate=0.99]") for i in range(5)])
    with Session(engine) as s:
        more = export(s, "default", out)
    assert more.written == 5 and [f.name for f in more.files] == ["sor-000004.json"]
    csv_lines = (out / "statements.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:3] == ["puid", "decision_visibility", "decision_visibility_other"]
    assert len(csv_lines) == 1 + 235


def test_sor_export_cli(engine, clock, tmp_path, db_url) -> None:  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "vermin [hate=0.99]"))
    r = runner.invoke(app, ["sor", "export", "-o", str(tmp_path / "out"), "--db", db_url])
    assert r.exit_code == 0, r.output
    assert "exported 1 statements in 1 files" in r.stdout
    r = runner.invoke(app, ["sor", "validate", str(tmp_path / "out" / "sor-000001.json")])
    assert r.exit_code == 0 and "1 statements valid" in r.stdout
    (tmp_path / "file").write_text("x")
    r = runner.invoke(app, ["sor", "export", "-o", str(tmp_path / "file"), "--db", db_url])
    assert r.exit_code == 2 and r.stderr.strip() == f"error: {tmp_path / 'file'} is not a directory"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"statements": [valid_statement(puid="a b")]}))
    r = runner.invoke(app, ["sor", "validate", str(bad)])
    assert r.exit_code == 2 and "puid: at most 500 characters" in r.stderr


def test_statements_are_dated_in_utc(engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.now = datetime(2026, 11, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    p = acc_pipeline(engine, clock, PolicySet(ACTIONS_POLICY))
    p.process(post("p1", "vermin [hate=0.99]"))
    assert statements(engine)[0].statement["application_date"] == "2026-11-04"
