"""The transparency report on a small, hand-built history: every figure equals the value worked
out by hand below, and the HTML page is one self-contained file with its charts."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.accountability import transparency
from tidebreak.accountability.report_html import to_html
from tidebreak.accountability.sor import Restriction, record_restriction
from tidebreak.accountability.transparency import (
    AppealRecord,
    build_report,
    pseudonym,
    to_csv,
    wilson,
)
from tidebreak.cli import app
from tidebreak.ingest import parse_event
from tidebreak.model import Action, ActionType
from tidebreak.policy import PolicySet, parse_policy
from tidebreak.store.schema import ContentRow

from .accountability_helpers import CFG, acc_pipeline

runner = CliRunner()
DAY = datetime(2026, 11, 3, tzinfo=timezone.utc)
NEXT = DAY + timedelta(days=1)

POLICY = parse_policy("""
policy: transparency-test
version: "1"
thresholds: {}
rules:
  - id: hate-remove
    category: hate
    severity: high
    when: score.hate >= 0.9
    actions: [remove]
    ground: "CS 3.1 Hate speech"
    notice: "Removed: hate speech."
  - id: hate-reported
    category: hate
    severity: high
    when: reports >= 1 and score.hate >= 0.5
    actions: [remove]
    ground: "CS 3.1 Hate speech"
    notice: "Removed after a report: hate speech."
  - id: spam-reduce
    category: spam
    severity: low
    when: score.spam >= 0.8
    actions: [{reduce: 0.3}]
    ground: "CS 5.1 Spam"
    notice: "Shown to fewer people: spam."
  - id: misinfo-label
    category: misinformation
    severity: medium
    when: score.misinformation >= 0.8
    actions: [{label: "Rated false"}]
    ground: "CS 4.1 False information"
    notice: "Labelled: rated false."
  - id: violence-review
    category: violence
    severity: high
    when: score.violence >= 0.5
    actions: [review]
    ground: "CS 1.1 Violence"
""", "t.yaml")


def ev(clock, id: str, text: str, **kw):  # type: ignore[no-untyped-def]
    return parse_event({"id": id, "text": text, "author": "u1", **kw}, now=clock())


@pytest.fixture
def history(engine, clock):  # type: ignore[no-untyped-def]
    """At 12:00 automation removes p1 and the ad p4, reduces p2, labels p8, queues p6 and p7
    for review and leaves p3 and p5. 12:10 a user reports p3, which is then removed. 12:30 carol
    leaves p6 up; 13:00 alice restores p1; 13:10 bob removes p5; 13:30 carol leaves p7 up.
    13:40 account u9 is suspended."""
    p = acc_pipeline(engine, clock, PolicySet(POLICY))
    p.process_batch([ev(clock, "p1", "[hate=0.99]"), ev(clock, "p2", "[spam=0.9]"),
                     ev(clock, "p3", "[hate=0.6]"), ev(clock, "p4", "[hate=0.99]", kind="ad"),
                     ev(clock, "p5", "fine"), ev(clock, "p6", "[violence=0.6]"),
                     ev(clock, "p7", "[violence=0.6]"), ev(clock, "p8", "[misinformation=0.9]")])
    clock.advance(minutes=10)
    p.process(ev(clock, "p3", "", type="report", event_id="rep1", reason="hate", reporter="r1"))

    def human(minutes: int, cid: str, who: str, acts: list[Action], cat: str) -> None:
        clock.now = DAY.replace(hour=12) + timedelta(minutes=minutes)
        p.decide_by_human(cid, reviewer=who, actions=acts, category=cat, ground="CS",
                          notice="Reviewed.", bank=False)

    human(30, "p6", "carol", [], "violence")
    human(60, "p1", "alice", [], "hate")
    human(70, "p5", "bob", [Action(ActionType.REMOVE)], "hate")
    human(90, "p7", "carol", [], "violence")
    clock.advance(minutes=10)
    with Session(engine) as s, s.begin():
        record_restriction(s, "default", Restriction(
            decision_id="acct-1", subject_type="account", subject_id="u9",
            kind="account_suspended", category="hate", ground="CS 8.2", explanation="Suspended.",
            decided_by="automation", facts="Repeated removals.", until=clock() + timedelta(days=3)),
            clock(), CFG)
        for cid, views in (("p1", 100), ("p2", 600), ("p3", 300), ("p5", 100)):
            s.execute(update(ContentRow).where(ContentRow.id == cid).values(views=views))
    return p


def report(engine, **kw):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return build_report(s, "default", DAY, NEXT, **kw)


def test_content_actioned_by_category_action_surface_and_source(engine, history) -> None:  # type: ignore[no-untyped-def]
    r = report(engine)
    assert r["statements_of_reasons"] == 7  # six items and one account
    a = r["content_actioned"]
    assert a["total"] == 6  # p1 p2 p3 p4 p5 p8
    assert a["by_category"] == {"hate": 4, "misinformation": 1, "spam": 1}
    assert a["by_action"] == {"label": 1, "reduce": 1, "remove": 4}
    assert a["by_surface"] == {"ad": 1, "post": 5}
    assert a["by_detection_source"] == {"automated": 4, "reviewer": 1, "user_report": 1}
    assert a["by_automated_decision"] == {"AUTOMATED_DECISION_FULLY": 5,
                                          "AUTOMATED_DECISION_NOT_AUTOMATED": 1}
    assert r["accounts_restricted"] == {"total": 1, "by_restriction": {"account_suspended": 1},
                                        "by_category": {"hate": 1}}
    assert r["groups_restricted"]["total"] == 0


def test_proactive_rate(engine, history) -> None:  # type: ignore[no-untyped-def]
    p = report(engine)["proactive_rate"]
    assert (p["proactive"], p["actioned"], p["rate"]) == (5, 6, 5 / 6)  # all but reported p3
    assert p["by_category"]["hate"] == {"proactive": 3, "actioned": 4, "rate": 0.75}


def test_restorations_and_overturns_without_an_appeal_source(engine, history) -> None:  # type: ignore[no-untyped-def]
    r = report(engine)
    assert r["appeals"] == {"available": False, "appealed": 0, "appealed_automated": 0,
                            "outcomes": {}, "restored": {"total": 1, "after_appeal": 0,
                                                         "without_appeal": 1}}
    # Only p1's review overturned an automated restriction (p6 and p7 were only queued).
    assert r["automated_overturned"] == {"overturned": 1, "reviewed": 1, "rate": 1.0,
                                         "by_original_action": {"remove": 1}}


def test_appeals_plug_in(engine, history, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def appeals(session, tenant, start, end):  # type: ignore[no-untyped-def]
        return [AppealRecord("p1", "d", DAY.replace(hour=12, minute=40), True, "reversed")]

    monkeypatch.setattr(transparency, "APPEAL_SOURCES", [appeals])
    ap = report(engine)["appeals"]
    assert (ap["available"], ap["appealed"], ap["appealed_automated"]) == (True, 1, 1)
    assert ap["outcomes"] == {"reversed": 1}
    assert ap["restored"] == {"total": 1, "after_appeal": 1, "without_appeal": 0}


def test_reviewer_volumes_and_times(engine, history) -> None:  # type: ignore[no-untyped-def]
    rv = report(engine)["reviewers"]
    assert rv["decisions"] == 4
    assert rv["by_reviewer"] == dict(sorted({pseudonym("default", "alice"): 1,
                                             pseudonym("default", "bob"): 1,
                                             pseudonym("default", "carol"): 2}.items()))
    assert rv["by_action"] == {"none": 3, "remove": 1}
    # p6's task: 12:00 -> 12:30; p7's: 12:00 -> 13:30.
    assert rv["handling_time"] == {"tasks": 2, "mean_s": 3600.0, "median_s": 3600.0,
                                   "p90_s": 5400.0}
    assert rv["handling_time_by_queue"] == {"violence": rv["handling_time"]}
    assert rv["handling_time_by_reviewer"] == {pseudonym("default", "carol"): rv["handling_time"]}
    assert "carol" not in json.dumps(rv)


def test_wilson_interval_by_hand() -> None:
    lo, hi = wilson(30, 100)
    assert (round(lo, 4), round(hi, 4)) == (0.2189, 0.3958)
    # k = 0: the upper bound is z^2 / (n + z^2) = 3.8415 / 53.8415
    assert wilson(0, 50)[0] == 0.0 and round(wilson(0, 50)[1], 4) == 0.0713


def test_prevalence_from_a_seeded_view_weighted_sample(engine, history) -> None:  # type: ignore[no-untyped-def]
    pv = report(engine, seed=7, sample_size=4000)["prevalence"]
    # Views: p1 100 (restored), p2 600, p3 300 (removed), p5 100 (removed): 400 of 1100.
    assert (pv["total_views"], pv["items"]) == (1100, 4)
    assert pv["census_share"] == 400 / 1100
    k, n = pv["violating_draws"], pv["sample_size"]
    assert pv["estimate"] == k / n and pv["ci95"] == list(wilson(k, n))
    assert pv["ci95"][0] <= 400 / 1100 <= pv["ci95"][1]
    assert report(engine, seed=7, sample_size=4000)["prevalence"] == pv  # same seed, same draw
    # A rare harm is reported as an upper bound only.
    rare = transparency.sample_prevalence([("a", 999, False), ("b", 1, True)], seed=1,
                                          sample_size=500)
    assert rare["estimate"] is None and rare["upper_bound"] == wilson(rare["violating_draws"], 500)[1]


def test_prevalence_without_views_says_so(engine, clock) -> None:  # type: ignore[no-untyped-def]
    assert report(engine)["prevalence"] == {"available": False,
                                            "reason": "no content views recorded for the period"}


def test_html_is_one_file_with_its_charts(engine, history) -> None:  # type: ignore[no-untyped-def]
    html = to_html(report(engine))
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 4
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    # Nothing outside the file: no external images, scripts, stylesheets or fonts.
    assert not re.search(r'(src|href)="(?!data:)', html) and "<script" not in html
    assert "Content actioned by category" in html and ">6<" in html


def test_cli_writes_json_csv_and_html(engine, history, db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r"
    r = runner.invoke(app, ["report", "transparency", "--from", "2026-11-03", "--to", "2026-11-04",
                            "-o", str(out / "t.json"), "-o", str(out / "t.csv"),
                            "-o", str(out / "t.html"), "--db", db_url])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "t.json").read_text())
    assert data["content_actioned"]["total"] == 6
    assert "content_actioned.total,6" in (out / "t.csv").read_text().splitlines()
    assert (out / "t.html").read_text().startswith("<!doctype html>")
    assert to_csv(data).splitlines()[0] == "metric,value"
    r = runner.invoke(app, ["report", "transparency", "--from", "2026-11-04", "--to", "2026-11-03",
                            "--db", db_url])
    assert r.exit_code == 2 and r.stderr.strip() == "error: --to must be after --from"
    r = runner.invoke(app, ["report", "transparency", "--from", "soon", "--to", "2026-11-03"])
    assert r.exit_code == 2 and "--from: not an ISO date" in r.stderr
    assert math.isfinite(data["proactive_rate"]["rate"])
