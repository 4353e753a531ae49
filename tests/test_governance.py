"""Governance and election integrity, on SQLite and PostgreSQL: equal application, audited
public-interest exceptions, the policy change workflow, the disparate-impact report, election mode
and severe-harassment escalation. A scripted detector stands in for the models ("[violence=0.9]"
in a text gives that score); the policy is the real default policy; the clock is the tests'.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.test_pipeline import Scripted
from tidebreak import ledger
from tidebreak.accountability.transparency import build_report
from tidebreak.config import Settings
from tidebreak.governance import elections, exceptions, harassment, impact, versions
from tidebreak.governance.errors import Conflict, Forbidden, GovernanceError
from tidebreak.ingest import parse_event
from tidebreak.model import ActionType
from tidebreak.pipeline import Pipeline
from tidebreak.policy import PolicySet, default_policy_path, load_default_policy
from tidebreak.runtime import adjusters, enforcers, load_policies
from tidebreak.store.schema import (
    AppealRow,
    ContentRow,
    LedgerEntryRow,
    PolicyExceptionRow,
)

SETTINGS = Settings()


def make(engine, clock, policy: PolicySet | None = None) -> Pipeline:  # type: ignore[no-untyped-def]
    """The runtime's pipeline (its enforcers and decide-step adjusters) with a scripted detector."""
    return Pipeline(engine, [Scripted()], policy or PolicySet(load_default_policy()), clock=clock,
                    enforcers=enforcers(SETTINGS), adjusters=adjusters(SETTINGS))


def post(id: str, text: str, author: str = "u1", **kw: object):  # type: ignore[no-untyped-def]
    return parse_event({"id": id, "text": text, "author": author, **kw})


def report(id: str, reason: str, n: int = 1):  # type: ignore[no-untyped-def]
    return parse_event({"type": "report", "event_id": f"r-{id}-{n}", "id": id, "reason": reason,
                        "reporter": f"reporter{n}"})


def entries(engine, kind: str) -> list[LedgerEntryRow]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.execute(select(LedgerEntryRow).where(LedgerEntryRow.kind == kind)
                              .order_by(LedgerEntryRow.seq)).scalars())


def ledger_size(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one()


# -- equal application and exceptions ------------------------------------------------------------


def test_a_politician_gets_the_same_action_as_anyone(engine, clock) -> None:  # type: ignore[no-untyped-def]
    exceptions.flag_actor(engine, "default", "senator", "politician", by="ops", now=clock())
    p = make(engine, clock)
    text = "Go and burn down their office tonight [violence=0.9]"
    pol = p.process(post("p-pol", text, author="senator")).decision
    anyone = p.process(post("p-any", text, author="someone")).decision
    assert pol.action == anyone.action == ActionType.REMOVE
    assert pol.rules == anyone.rules
    vote = "Polls close Tuesday, vote Wednesday instead [voting_misinformation=0.95]"
    assert (p.process(post("v-pol", vote, author="senator")).decision.action
            == p.process(post("v-any", vote, author="someone")).decision.action
            == ActionType.REMOVE)


def test_exceptions_are_refused_without_the_role_or_a_justification(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make(engine, clock)
    p.process(post("p1", "Burn their office down [violence=0.9]", author="senator"))
    before = ledger_size(engine)
    why = "Head of state's statement on a matter of national debate; public must see it."
    until = clock() + timedelta(days=7)
    with pytest.raises(Forbidden, match="senior_reviewer or policy_admin"):
        exceptions.grant(p, content_id="p1", category="violence", justification=why,
                         expires_at=until, by="rita", role="reviewer")
    with pytest.raises(Forbidden):
        exceptions.grant(p, content_id="p1", category="violence", justification=why,
                         expires_at=until, by="root", role="admin")
    with pytest.raises(GovernanceError, match="justification"):
        exceptions.grant(p, content_id="p1", category="violence", justification="  ok ",
                         expires_at=until, by="sam", role="senior_reviewer")
    with pytest.raises(GovernanceError, match="expiry"):
        exceptions.grant(p, content_id="p1", category="violence", justification=why,
                         expires_at=clock() - timedelta(minutes=1), by="sam",
                         role="senior_reviewer")
    with pytest.raises(GovernanceError, match="never excepted"):
        exceptions.grant(p, content_id="p1", category="voting_misinformation",
                         justification=why, expires_at=until, by="sam", role="senior_reviewer")
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(PolicyExceptionRow)).scalar_one() == 0
        assert s.get(ContentRow, ("default", "p1")).state == "removed"
    assert ledger_size(engine) == before


def test_an_exception_is_ledgered_shown_in_reasons_counted_and_expires(engine, clock) -> None:  # type: ignore[no-untyped-def]
    exceptions.flag_actor(engine, "default", "senator", "politician", by="ops", now=clock())
    p = make(engine, clock)
    p.process(post("p1", "Burn their office down [violence=0.9]", author="senator"))
    why = "Statement by a sitting senator during a debate on the bill; newsworthy, kept with notice."
    g = exceptions.grant(p, content_id="p1", category="violence", justification=why,
                         expires_at=clock() + timedelta(days=7), by="sam", role="senior_reviewer")
    # The human decision that keeps it up cites the exception in its reasons.
    assert g.decision["action"] == "warn" and g.decision["decided_by"] == "reviewer:sam"
    assert why in g.decision["reasons"][0]["ground"]
    grant_entry = entries(engine, "exception.grant")[-1]
    assert (grant_entry.actor, grant_entry.subject) == ("sam", "p1")
    assert json.loads(grant_entry.payload)["granted_role"] == "senior_reviewer"
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "warning"
    # While it lasts, automated decisions on the item carry the exception instead of the rule.
    clock.advance(hours=1)
    d = p.process(report("p1", "violence")).decision
    assert d.rules == [f"exception:{g.exception['id']}"]
    assert "violence-remove" in d.reasons[0].ground and d.action == ActionType.WARN
    # Counted in the transparency report by category and actor type.
    with Session(engine) as s:
        rep = build_report(s, "default", clock() - timedelta(days=1), clock() + timedelta(days=1))
    assert rep["public_interest_exceptions"] == {
        "total": 1, "by_category": {"violence": 1}, "by_actor_type": {"politician": 1},
        "by_category_and_actor_type": {"violence": {"politician": 1}}}
    # After the expiry the rule applies again, on its own.
    clock.advance(days=8)
    assert exceptions.expire(p) == [g.exception["id"]]
    assert entries(engine, "exception.expire")
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "removed"
        assert ledger.verify(s)[1] is None


# -- policy change workflow ---------------------------------------------------------------------


def _draft_text(version: str, **thresholds: float) -> str:
    text = Path(default_policy_path()).read_text(encoding="utf-8")
    text = text.replace(f'version: "{load_default_policy().version}"', f'version: "{version}"', 1)
    for k, v in thresholds.items():
        old = f"  {k}: {load_default_policy().thresholds[k]:.2f}"
        assert old in text, old
        text = text.replace(old, f"  {k}: {v:.2f}", 1)
    return text


def test_publishing_needs_a_civil_rights_approval_then_goes_live(engine, clock) -> None:  # type: ignore[no-untyped-def]
    t = "default"
    v = versions.create_draft(engine, t, _draft_text("2026.12.0", hate_review=0.55), by="pat",
                              role="policy_admin", now=clock())
    assert v["status"] == "draft" and v["missing_roles"] == ["policy_admin", "civil_rights_reviewer"]
    with pytest.raises(Forbidden, match="author"):
        versions.approve(engine, t, "default", "2026.12.0", by="pat", role="policy_admin",
                         now=clock())
    with pytest.raises(Forbidden):  # a reviewer is not an approver
        versions.approve(engine, t, "default", "2026.12.0", by="rita", role="reviewer", now=clock())
    versions.approve(engine, t, "default", "2026.12.0", by="ada", role="policy_admin", now=clock())
    with pytest.raises(Forbidden, match="civil_rights_reviewer"):
        versions.publish(engine, t, "default", "2026.12.0", by="ada", role="policy_admin",
                         now=clock())
    assert load_policies(SETTINGS, engine, t).active.version == load_default_policy().version
    versions.approve(engine, t, "default", "2026.12.0", by="cora", role="civil_rights_reviewer",
                     now=clock(), note="no group-level regressions in the backtest")
    out = versions.publish(engine, t, "default", "2026.12.0", by="ada", role="policy_admin",
                           now=clock())
    assert out["status"] == "published"
    live = load_policies(SETTINGS, engine, t).active
    assert (live.version, live.thresholds["hate_review"]) == ("2026.12.0", 0.55)
    pub = json.loads(entries(engine, "policy.publish")[-1].payload)
    assert {(a["approver"], a["role"]) for a in pub["approved_by"]} == {
        ("ada", "policy_admin"), ("cora", "civil_rights_reviewer")}
    # A later version supersedes it; both stay readable.
    versions.create_draft(engine, t, _draft_text("2026.12.1"), by="pat", role="policy_admin",
                          now=clock())
    for who, role in (("ada", "policy_admin"), ("cora", "civil_rights_reviewer")):
        versions.approve(engine, t, "default", "2026.12.1", by=who, role=role, now=clock())
    versions.publish(engine, t, "default", "2026.12.1", by="ada", role="policy_admin", now=clock())
    shown = versions.show(engine, t, "default", "2026.12.0")
    assert shown["status"] == "superseded" and "hate_review: 0.55" in shown["source"]
    with pytest.raises(Conflict, match="never overwritten"):
        versions.create_draft(engine, t, _draft_text("2026.12.0"), by="pat", role="policy_admin",
                              now=clock())


def test_a_draft_with_mistakes_is_refused_and_nothing_is_stored(engine, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GovernanceError, match="error"):
        versions.create_draft(engine, "default", "policy: x\nversion: '1'\nrules: nope\n",
                              by="pat", role="policy_admin", now=clock())
    with pytest.raises(Forbidden):
        versions.create_draft(engine, "default", _draft_text("2027.1"), by="cora",
                              role="civil_rights_reviewer", now=clock())
    assert versions.list_versions(engine, "default") == []


def test_review_shows_diff_backtest_shadow_and_flags_a_widened_gap(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Labelled benign posts: dialect A scores a little higher on the hate classifier (the
    # known failure mode the report exists to catch).
    p = make(engine, clock)
    labels = []
    for i in range(10):
        for grp, score in (("dialect_a", 0.50), ("dialect_b", 0.10)):
            cid = f"{grp}-{i}"
            p.process(post(cid, f"Talking with my friends [hate={score}]", author=f"a{i}"))
            labels.append({"id": cid, "expected": [], "target_group": grp})
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in labels) + "\n")
    versions.create_draft(engine, "default", _draft_text("2026.12.0", hate_remove=0.45),
                          by="pat", role="policy_admin", now=clock())
    # The draft runs in shadow beside the live policy on new traffic.
    shadowed = make(engine, clock, load_policies(SETTINGS, engine, "default"))
    shadowed.process(post("new-1", "Hello there [hate=0.5]", author="z"))
    r = versions.review(engine, "default", "default", "2026.12.0", now=clock(), labels_path=path)
    assert r["diff"]["thresholds"] == {"hate_remove": {"from": 0.9, "to": 0.45}}
    assert "-  hate_remove: 0.90" in r["diff"]["unified"]
    assert r["backtest"]["live"]["false_positive_rate"] == 0.0
    assert r["backtest"]["draft"]["false_positive_rate"] == 0.5  # 10 of 20 benign
    assert r["backtest"]["changed_total"] == 10
    assert r["shadow"]["hits"] >= 1 and "hate-remove" in r["shadow"]["by_rule"]
    flags = {f["rate"]: f for f in r["impact"]["flags"] if f["dimension"] == "target_group"}
    fp = flags["false_positive_rate"]
    assert (fp["gap_before"], fp["gap_after"], fp["highest"], fp["lowest"]) == (
        0.0, 1.0, "dialect_a", "dialect_b")
    assert r["flagged"] is True


# -- disparate impact -----------------------------------------------------------------------------


def test_disparate_impact_figures_by_hand(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Group a: 4 decided, 2 restricted (one a false positive on a labelled-benign item), one
    appeal reversed of one decided. Group b: 4 decided, 1 restricted, no false positive, two
    appeals maintained. Gaps with min_n=1: enforcement 2/4 - 1/4 = 0.25; false positives
    1/2 - 0/2 = 0.5; overturn 1/1 - 0/2 = 1.0."""
    p = make(engine, clock)
    items = [("a1", "a", "[hate=0.95]", ["hate"]), ("a2", "a", "[hate=0.95]", []),
             ("a3", "a", "[hate=0.01]", []), ("a4", "a", "[hate=0.01]", None),
             ("b1", "b", "[hate=0.95]", ["hate"]), ("b2", "b", "[hate=0.01]", []),
             ("b3", "b", "[hate=0.01]", []), ("b4", "b", "[hate=0.01]", None)]
    labels = []
    for cid, grp, mark, expected in items:
        lang = "en" if grp == "a" else "es"
        p.process(post(cid, f"text {mark}", target_group=grp, language=lang))
        if expected is not None:
            labels.append({"id": cid, "expected": expected, "language": lang})
    impact.tag(engine, "default", "a4", "a", by="rita", now=clock())  # a reviewer names it
    with Session(engine) as s, s.begin():
        for cid, status in (("a1", "reversed"), ("b1", "maintained"), ("b2", "maintained")):
            s.add(AppealRow(tenant="default", content_id=cid, decision_id="d", appellant="u1",
                            first_decider="automation", appellant_role="author", statement="x",
                            status=status, decided_at=clock(), created_at=clock()))
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in labels))
    rep = impact.report(engine, "default", clock() - timedelta(hours=1),
                        clock() + timedelta(hours=1), labels_path=path, min_n=1)
    a, b = rep["target_group"]["groups"]["a"], rep["target_group"]["groups"]["b"]
    assert (a["decided"], a["enforced"], a["enforcement_rate"]) == (4, 2, 0.5)
    assert (b["decided"], b["enforced"], b["enforcement_rate"]) == (4, 1, 0.25)
    assert (a["labelled_benign"], a["false_positives"], a["false_positive_rate"]) == (2, 1, 0.5)
    assert (b["labelled_benign"], b["false_positives"], b["false_positive_rate"]) == (2, 0, 0.0)
    assert (a["overturn_rate"], b["overturn_rate"]) == (1.0, 0.0)
    gaps = rep["target_group"]["gaps"]
    assert (gaps["enforcement_rate"]["gap"], gaps["false_positive_rate"]["gap"],
            gaps["overturn_rate"]["gap"]) == (0.25, 0.5, 1.0)
    # Language is known from the labels here: en is group a's, es group b's.
    assert rep["language"]["groups"]["en"]["false_positive_rate"] == 0.5
    # With the default minimum group size the small groups are not compared.
    small = impact.report(engine, "default", clock() - timedelta(hours=1),
                          clock() + timedelta(hours=1), labels_path=path)
    assert small["target_group"]["gaps"]["enforcement_rate"]["gap"] is None


# -- election mode --------------------------------------------------------------------------------

TEST_ELECTION = {
    "id": "testland-2026", "name": "Testland general election", "jurisdiction": "TL",
    "registration_deadline": "2026-11-10", "early_voting_start": "2026-11-12",
    "election_day": "2026-11-17", "certification_date": "2026-11-24",
    "info_links": ["https://elections.testland.example/vote"],
}


def test_election_mode_tightens_and_relaxes_at_its_dates(engine, clock) -> None:  # type: ignore[no-untyped-def]
    elections.create(engine, "default", TEST_ELECTION, by="pat", now=clock())
    p = make(engine, clock)
    # a score between the election's tightened review bar and the everyday one
    between = round((elections.DEFAULT_TIGHTENING["voting_review"]
                     + load_default_policy().thresholds["voting_review"]) / 2, 4)
    claim = f"Polling places close at 5pm, vote early [voting_misinformation={between}]"
    before = p.process(post("c1", claim)).decision  # 3 Nov: before the window
    assert before.action == ActionType.NONE
    clock.now = datetime(2026, 11, 17, 9, tzinfo=timezone.utc)  # election day
    during = p.process(post("c2", claim)).decision
    assert "voting-review" in during.rules
    assert during.reasons[0].policy_version == f"{load_default_policy().version}+election"
    info = [h for h in during.reasons if h.rule_id == "election:testland-2026:info"][0]
    assert info.actions[0].label.endswith("https://elections.testland.example/vote")
    other = p.process(post("c3", "Lovely tomatoes [hate=0.01]")).decision
    assert other.action == ActionType.NONE  # not about voting: no label
    away = p.process(post("c4", claim, jurisdiction="XX")).decision  # another jurisdiction
    assert away.action == ActionType.NONE
    dash = elections.dashboard(engine, "default", "testland-2026", clock())
    assert dash["volume"]["in_window"] == 1 and dash["election"]["state"] == "active"
    assert dash["queues"]["elections"]["open"] == 1  # the policy's priority queue
    clock.now = datetime(2026, 11, 25, 0, 0, 1, tzinfo=timezone.utc)  # after certification
    after = p.process(post("c5", claim)).decision
    assert after.action == ActionType.NONE
    modes = [json.loads(e.payload) for e in entries(engine, "election.mode")]
    assert [(m["from"], m["to"]) for m in modes] == [("scheduled", "active"), ("active", "ended")]
    assert modes[0]["thresholds"]["voting_review"] == 0.25


def test_bad_election_records_are_refused(engine, clock) -> None:  # type: ignore[no-untyped-def]
    for bad, msg in (({"election_day": "2026-13-01"}, "date"),
                     ({"certification_date": "2026-11-01"}, "before election_day"),
                     ({"info_links": ["http://x"]}, "https"),
                     ({"thresholds": {"voting_review": 3}}, "thresholds"),
                     ({"extra": 1}, "unknown")):
        with pytest.raises(GovernanceError, match=msg):
            elections.create(engine, "default", {**TEST_ELECTION, **bad}, by="pat", now=clock())
    assert elections.sync(engine, "default", clock()) == []


# -- severe harassment ----------------------------------------------------------------------------


def test_a_severe_harassment_report_opens_a_case_and_a_missed_deadline_alerts(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.review.accounts import create_user

    create_user(engine, tenant="default", username="sena", role="senior_reviewer",
                password="a long password", by="admin", now=clock())
    p = make(engine, clock)
    p.process(post("h1", "You are worthless, I know where you live [harassment=0.8]",
                   target="u_target"))
    p.process(post("h2", "meh [harassment=0.1]"))
    p.process(report("h1", "harassment"))
    p.process(report("h1", "harassment", 2))  # joins the open case
    p.process(report("h2", "harassment"))  # not severe: no case
    (case,) = harassment.list_cases(engine, "default")
    assert (case["content_id"], case["assignee"], case["kind"], case["target"]) == (
        "h1", "sena", "severe_harassment", "u_target")
    assert case["contact_due"] == (clock() + timedelta(hours=24)).isoformat()
    clock.advance(hours=23)
    assert harassment.check_deadlines(engine, "default", clock()) == []
    clock.advance(hours=2)
    (missed,) = harassment.check_deadlines(engine, "default", clock())
    assert missed["id"] == case["id"]
    assert harassment.check_deadlines(engine, "default", clock()) == []  # alerted once
    assert harassment.stats(engine, "default")["deadlines_missed"] == 1
    assert entries(engine, "harassment.deadline_missed")
    harassment.record_contact(engine, "default", case["id"], by="sena",
                              note="Called the user; safety resources shared", now=clock())
    assert harassment.stats(engine, "default")["contacted"] == 1
