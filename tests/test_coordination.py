"""Coordination detection, as a user of `tidebreak.coordination` meets it: events in, groups of
accounts with evidence out; bad input counted and reported; groups become review cases."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tidebreak.coordination import CoordEvent, DetectionParams, ObjectType, detect
from tidebreak.coordination.edges import directed_weights
from tidebreak.coordination.events import events_from_records
from tidebreak.coordination.evidence import edge_weights_from_evidence
from tidebreak.coordination.objects import build_table
from tidebreak.coordination.pairs import find_pairs
from tidebreak.text.urls import canonical_url
from tidebreak.coordination.window import estimate_window

T0 = 1_800_000_000.0
URL, TEXT = ObjectType.URL, ObjectType.TEXT


def ev(n: int | str, account: str, obj: str, t: float, otype: ObjectType = URL,
       text: str = "") -> CoordEvent:
    return CoordEvent(f"e{n}", account, otype, obj, text, T0 + t)


def lockstep(accounts: list[str], objects: int, start: int = 0, gap: float = 2.0,
             prefix: str = "camp") -> list[CoordEvent]:
    """Accounts sharing the same links a few seconds apart, four times a day (a campaign that
    persists: a burst of a few hours is a live audience's signature, see scoring)."""
    out = []
    for k in range(objects):
        for m, acc in enumerate(accounts):
            out.append(ev(f"{prefix}{start + k}-{acc}", acc, f"https://camp.example/{prefix}{k}",
                          k * 6 * 3600 + m * gap))
    return out


# --- pairs: a sliding window, not fixed bins ---------------------------------------------


def brute_force_pairs(events: list[CoordEvent], window: float) -> set[tuple[str, str]]:
    return {tuple(sorted((a.event_id, b.event_id)))  # type: ignore[misc]
            for a, b in itertools.combinations(events, 2)
            if a.object_id == b.object_id and a.account_id != b.account_id
            and abs(a.timestamp - b.timestamp) <= window}


def detected_pairs(events: list[CoordEvent], window: float) -> set[tuple[str, str]]:
    table = build_table(events)
    i, j = find_pairs(table.obj, table.t, table.account, window)
    return {tuple(sorted((events[a].event_id, events[b].event_id)))  # type: ignore[misc]
            for a, b in zip(i.tolist(), j.tolist())}


@pytest.mark.parametrize("offset", [0.0, 0.3, 29.9, 59.95])
def test_pairs_straddling_any_fixed_bin_boundary_are_found(offset: float) -> None:
    # Two shares 0.1 s apart, placed so that a 60 s bin edge falls between them for offset
    # 59.95: CooRnet's cut() would put them in different bins and miss the pair.
    events = [ev(1, "a", "https://x.example/1", offset), ev(2, "b", "https://x.example/1",
                                                              offset + 0.1)]
    assert detected_pairs(events, 60.0) == {("e1", "e2")}
    # ... and shares 60 s apart are still a pair (|dt| <= W), 60.01 s apart are not
    far = [ev(1, "a", "u.example/1", offset), ev(2, "b", "u.example/1", offset + 60.0),
           ev(3, "c", "u.example/1", offset + 120.01)]
    assert detected_pairs(far, 60.0) == {("e1", "e2")}


def test_pairs_equal_the_brute_force_oracle_and_obey_the_window_properties() -> None:
    rng = np.random.default_rng(7)
    events = [ev(n, f"acc{rng.integers(0, 12)}", f"https://o.example/{rng.integers(0, 6)}",
                 float(rng.uniform(0, 900))) for n in range(300)]
    for w in (0.0, 5.0, 60.0, 300.0):
        assert detected_pairs(events, w) == brute_force_pairs(events, w)
    # growing the window never removes a pair; shifting every timestamp changes nothing
    assert detected_pairs(events, 10.0) <= detected_pairs(events, 60.0)
    shifted = [CoordEvent(e.event_id, e.account_id, e.object_type, e.object_id, e.text,
                          e.timestamp + 12345.678) for e in events]
    assert detected_pairs(shifted, 60.0) == detected_pairs(events, 60.0)


# --- edges and groups -------------------------------------------------------------------


def test_directed_weights_count_each_sides_distinct_events() -> None:
    # "spam" posts the same link 5 times around b's single share: w(spam->b) = 5, w(b->spam) = 1
    events = [ev(f"s{k}", "spam", "https://x.example/1", k * 5.0) for k in range(5)]
    events.append(ev("b1", "b", "https://x.example/1", 10.0))
    table = build_table(events)
    i, j = find_pairs(table.obj, table.t, table.account, 60.0)
    edges = directed_weights(i, j, table.account, table.activity)
    names = [table.accounts[x] for x in (int(edges.a[0]), int(edges.b[0]))]
    w = dict(zip(names, (int(edges.w_ab[0]), int(edges.w_ba[0]))))
    assert w == {"spam": 5, "b": 1}
    assert int(edges.weight[0]) == 1 and float(edges.symmetry[0]) == pytest.approx(0.2)


def test_a_hyperactive_account_does_not_pull_a_quiet_one_into_a_group() -> None:
    group = [f"bot{n}" for n in range(5)]
    events = lockstep(group, objects=10)
    # "firehose" shares everything, seconds after everyone: 5,000 links over the day, among
    # them the campaign's and the four links "quiet" ever shared
    for k in range(5000):
        events.append(ev(f"f{k}", "firehose", f"https://news.example/{k}", k * 17.0))
    for k in range(10):
        events.append(ev(f"fc{k}", "firehose", f"https://camp.example/camp{k}",
                         k * 6 * 3600 + 1))
    for k in range(4):
        t = 1000.0 * (k + 1) * 17
        events.append(ev(f"q{k}", "quiet", f"https://news.example/{1000 * (k + 1)}", t + 3))
    result = detect(events, DetectionParams(min_score=0.0))
    flagged = {a for g in result.groups for a in g.accounts}
    assert flagged == set(group)
    # without the activity damping, "quiet" would be in a group with "firehose"
    undamped = detect(events, DetectionParams(min_score=0.0, min_association=0.0))
    assert any("quiet" in g.accounts for g in undamped.groups)


def test_edge_evidence_reproduces_every_edge_weight() -> None:
    from tidebreak.coordination.simulate import SimParams, simulate

    events, _ = simulate(SimParams(seed=11, organic_accounts=600, groups=3, bursts=1,
                                   burst_size=(200, 300), fandom_size=(40, 60),
                                   aggregator_posts=200))
    result = detect(events)
    assert len(result.groups) >= 2
    n_edges = 0
    for g in result.groups:
        window = g.evidence["summary"]["window_s"]  # each network at its own pace
        assert window in result.stats["windows_s"]
        for e in g.evidence["edges"]:
            n_edges += 1
            assert edge_weights_from_evidence(e) == (e["w_ab"], e["w_ba"], e["weight"])
            assert all(c["gap_s"] <= window for c in e["co_actions"])
    assert n_edges > 50


def test_a_url_with_tracking_parameters_joins_its_clean_twin() -> None:
    clean = "https://news.example/story/42"
    assert canonical_url("http://WWW.News.Example:80/story/42/?utm_source=tw&utm_campaign=x"
                         "&fbclid=IwAR0&gclid=abc#top") == canonical_url(clean)
    # parameters that pick the page stay, sorted
    assert canonical_url("https://v.example/watch?v=abc&t=10&utm_medium=s") == \
        "v.example/watch?t=10&v=abc"
    assert canonical_url("https://v.example/watch?v=abc") != canonical_url("https://v.example/watch?v=abd")
    events = []
    for k in range(4):  # three accounts, four links; two always add tracking parameters
        base = f"https://news.example/story/{k}"
        events += [ev(f"a{k}", "a", base, k * 600.0),
                   ev(f"b{k}", "b", base + f"?utm_source=b{k}&fbclid=x{k}", k * 600.0 + 2),
                   ev(f"c{k}", "c", base.replace("https://", "http://www.") + "/", k * 600.0 + 4)]
    result = detect(events, DetectionParams(min_score=0.0))
    assert [g.accounts for g in result.groups] == [["a", "b", "c"]]
    assert result.groups[0].evidence["summary"]["objects"] == 4


def test_near_duplicate_copypasta_is_one_object_but_short_texts_never_match() -> None:
    template = ("the election was stolen by the county machines share this before they delete "
                "it everyone needs to know the truth today")
    edits = [template, template.replace("county", "state"), template + " wake up",
             template.replace("everyone", "all patriots")]
    events = []
    for k in range(4):
        for m, acc in enumerate("abcd"):
            events.append(ev(f"{acc}{k}", acc, "", k * 900.0 + m, TEXT,
                             text=edits[(k + m) % 4] + f" #{k}"))
            events.append(ev(f"{acc}s{k}", acc, "", k * 900.0 + m + 300, TEXT, text="vote today!"))
    table = build_table(events)
    long_objects = {int(table.obj[i]) for i, e in enumerate(events) if "election" in e.text}
    assert len(long_objects) == 1  # all edited copies: one object
    assert table.unmatchable["text_too_short"] == 16  # counted, never paired
    result = detect(events, DetectionParams(min_score=0.0))
    assert [g.accounts for g in result.groups] == [["a", "b", "c", "d"]]
    assert result.groups[0].evidence["summary"]["objects"] == 1
    assert "sample" in result.groups[0].evidence["objects"][0]


def test_window_estimate_follows_the_fastest_objects() -> None:
    # ten objects reach half their shares within 5 s of the first; ninety take an hour
    events = []
    for k in range(100):
        step = 1.0 if k < 10 else 600.0
        events += [ev(f"{k}-{m}", f"acc{m}", f"https://w.example/{k}", k * 1e5 + m * step)
                   for m in range(8)]
    table = build_table(events)
    assert estimate_window(table.obj, table.t) == pytest.approx(4.0)


# --- bad input: counted and reported, never silently dropped ------------------------------


def test_bad_records_are_counted_by_reason_and_duplicates_counted_once() -> None:
    good = {"event_id": "1", "account_id": "a", "object_type": "url",
            "object_id": "https://x.example/1", "timestamp": "2026-11-03T12:00:00Z"}
    events, report = events_from_records([
        good,
        {**good, "event_id": "2", "timestamp": None},
        {**good, "event_id": "3", "object_type": "carrier_pigeon"},
        dict(good),  # re-delivered: same id, same data
        {**good, "account_id": "b"},  # same id, different data
        {**good, "event_id": "4", "object_type": "url", "object_id": "not a link"},
        {**good, "event_id": "5", "timestamp": 1793707200},
    ])
    assert [e.event_id for e in events] == ["1", "5"]
    assert events[0].timestamp == events[1].timestamp  # ISO and Unix seconds agree
    assert report.duplicates == 1
    assert dict(report.rejected) == {"missing_timestamp": 1, "unknown_object_type": 1,
                                     "conflicting_duplicate": 1, "bad_url": 1}
    assert [n for n, _ in report.errors] == [2, 3, 5, 6]


runner = CliRunner()


def test_cli_detect_reports_bad_lines_processes_good_ones_and_exits_2(tmp_path: Path) -> None:
    from tidebreak.cli import app

    rows = [json.dumps(e.to_dict()) for e in lockstep(["a", "b", "c"], objects=5)]
    rows[3:3] = ['{"event_id": "x", "account_id": "a", "object_type": "url", "object_id": "u.ex/1"}',
                 '{"event_id": "y", "account_id": "a", "object_type": "poll", "object_id": "p",'
                 ' "timestamp": 1}',
                 rows[0],
                 "{not json"]
    src = tmp_path / "events.jsonl"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "groups.jsonl"
    r = runner.invoke(app, ["coordination", "detect", "-i", str(src), "-o", str(out),
                            "--window", "60"])
    assert r.exit_code == 2
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert errors == ["error: line 4: missing timestamp",
                      "error: line 5: unknown object_type 'poll' (expected one of repost, reply, "
                      "url, text, hashtag, media_hash)",
                      "error: line 7: invalid JSON: Expecting property name enclosed in double "
                      "quotes at column 2"]
    assert "warning: line 6: duplicate of event" in r.stderr
    assert "1 exact duplicates counted once; 3 rejected" in r.stderr
    groups = [json.loads(x) for x in out.read_text().splitlines()]
    assert [list(g) for g in groups] == [["group_id", "accounts", "score", "evidence"]]
    assert groups[0]["accounts"] == ["a", "b", "c"]


def test_cli_simulate_detect_evaluate_round_trip(tmp_path: Path) -> None:
    from tidebreak.cli import app

    ev_path, truth, groups = tmp_path / "ev.jsonl", tmp_path / "truth.json", tmp_path / "g.jsonl"
    r = runner.invoke(app, ["coordination", "simulate", "--seed", "2", "-o", str(ev_path),
                            "--truth", str(truth), "--organic-accounts", "800", "--groups", "3"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["coordination", "detect", "-i", str(ev_path), "-o", str(groups)])
    assert r.exit_code == 0, r.stderr
    scores = [json.loads(x)["score"] for x in groups.read_text().splitlines()]
    assert scores == sorted(scores, reverse=True)  # strongest first
    r = runner.invoke(app, ["coordination", "evaluate", "-g", str(groups), "--truth", str(truth)])
    assert r.exit_code == 0
    metrics = json.loads(r.stdout)
    assert metrics["f1"] >= 0.9 and metrics["hard_negative_flagged_share"] < 0.01


def test_on_the_default_simulator_f1_is_high_and_hard_negatives_stay_unflagged() -> None:
    from tidebreak.coordination.evaluate import evaluate
    from tidebreak.coordination.simulate import SimParams, simulate

    events, truth = simulate(SimParams(seed=0))
    m = evaluate([g.to_output() for g in detect(events).groups], truth)
    assert m["f1"] >= 0.9, m
    assert m["hard_negative_flagged_share"] < 0.01, m
    assert m["hard_negative_flagged_share_by_kind"]["news_burst"] < 0.01
    assert m["hard_negative_flagged_share_by_kind"]["fandom"] < 0.01


# --- review cases, never automatic action ------------------------------------------------


def test_a_detected_group_becomes_a_review_case_and_only_confirmation_yields_actions(
        engine, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.coordination.review import (
        COORDINATED_HARM_GROUND,
        CaseNotConfirmed,
        decision_inputs,
        open_cases,
    )
    from tidebreak.ledger.chain import verify
    from tidebreak.store.schema import CoordinationCaseRow, LedgerEntryRow, ReviewTaskRow

    groups = detect(lockstep(["a", "b", "c", "d"], objects=6)).groups
    assert len(groups) == 1
    with Session(engine) as s, s.begin():
        open_cases(s, groups, tenant="t", now=clock())
    with Session(engine) as s, s.begin():  # detecting the same group again refreshes, not dupes
        open_cases(s, groups, tenant="t", now=clock())
    with Session(engine) as s:
        tasks = s.execute(select(ReviewTaskRow).where(ReviewTaskRow.queue == "coordination")
                          ).scalars().all()
        assert [t.content_id for t in tasks] == [f"coordination:{groups[0].group_id}"]
        case = s.get(CoordinationCaseRow, ("t", groups[0].group_id))
        assert case is not None and case.status == "open" and case.review_task_id == tasks[0].id
        kinds = s.execute(select(LedgerEntryRow.kind)).scalars().all()
        assert kinds.count("coordination.case_opened") == 2
        assert verify(s)[1] is None
        with pytest.raises(CaseNotConfirmed):
            decision_inputs(case)
        case.status = "confirmed"  # what the reviewer path does
        inputs = decision_inputs(case)
    assert inputs.account_ids == ("a", "b", "c", "d")
    assert inputs.ground == COORDINATED_HARM_GROUND
    assert inputs.evidence_summary["summary"]["objects"] == 6


def test_events_come_from_csv_files_and_from_pipeline_content() -> None:
    import io
    from datetime import datetime, timezone

    from tidebreak.coordination.events import events_from_content, read_events
    from tidebreak.model import Content, ContentKind

    csv_bytes = (b"timestamp,event_id,account_id,object_type,object_id,text\n"
                 b"1793707200,1,a,hashtag,#Vote,\n"
                 b",2,b,hashtag,#vote,\n")
    events, report = read_events(io.BytesIO(csv_bytes), "csv")
    assert [e.event_id for e in events] == ["1"] and report.errors == [(3, "missing timestamp")]

    post = Content("p1", ContentKind.POST, "Read this #Rigged https://x.example/a?utm_source=q",
                   author="acct", created_at=datetime(2026, 11, 3, tzinfo=timezone.utc),
                   parent_id="thread9", urls=("https://x.example/a?utm_source=q",))
    kinds = sorted((e.object_type.value, e.object_id) for e in events_from_content(post))
    assert kinds == [("hashtag", "rigged"), ("reply", "thread9"), ("text", ""),
                     ("url", "https://x.example/a?utm_source=q")]
