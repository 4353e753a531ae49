"""The out-of-core (DuckDB) path finds the same groups, scores and evidence as the in-memory
one; the CLI picks it by size or by flag and stays a one-line error on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidebreak.coordination import DetectionParams, detect
from tidebreak.coordination.events import EventReader
from tidebreak.coordination.outofcore import detect_stream
from tidebreak.coordination.simulate import SimParams, simulate, write_events

runner = CliRunner()


@pytest.fixture(scope="module")
def small() -> tuple[list, dict]:  # type: ignore[type-arg]
    return simulate(SimParams(seed=4, organic_accounts=700, groups=4, bursts=1,
                              burst_size=(200, 400), fandom_size=(40, 80),
                              aggregator_posts=300, live_audience=(100, 200)))


def _same(a: list, b: list) -> None:  # type: ignore[type-arg]
    assert [g.group_id for g in a] == [g.group_id for g in b]
    for ga, gb in zip(a, b):
        assert ga.accounts == gb.accounts and ga.score == gb.score
        assert ga.evidence == gb.evidence


@pytest.mark.parametrize("params", [DetectionParams(), DetectionParams(window=60.0),
                                    DetectionParams(window=600.0, percentile=0.5)],
                         ids=["every-pace", "60s", "600s-percentile"])
def test_duckdb_and_memory_give_the_same_groups(small: tuple[list, dict],  # type: ignore[type-arg]
                                                params: DetectionParams) -> None:
    events, _ = small
    mem = detect(events, params)
    chunks = [events[k:k + 7000] for k in range(0, len(events), 7000)]  # several chunks
    ooc = detect_stream(chunks, params, threads=1, memory_limit="1GB")
    assert mem.groups, "the fixture must have groups to compare"
    _same(mem.groups, ooc.groups)
    _same(mem.below_threshold, ooc.below_threshold)
    assert ooc.stats["engine"] == "duckdb" and ooc.stats["co_actions"] == mem.stats["co_actions"]


def test_duckdb_on_nothing_and_on_one_event_finds_nothing() -> None:
    assert detect_stream([]).groups == []
    events, _ = simulate(SimParams(seed=1, organic_accounts=5, groups=0, bursts=0,
                                   fandom_size=(1, 2), idol_posts=0, aggregator_bots=0,
                                   outlet_bots=0, live_events=0))
    assert detect_stream([events[:1]]).groups == []


def test_the_compact_reader_still_tells_duplicates_from_conflicts() -> None:
    from tidebreak.coordination.events import parse_event

    reader = EventReader(compact=True)
    rec = {"event_id": "1", "account_id": "a", "object_type": "hashtag", "object_id": "#x",
           "timestamp": 5}
    assert reader.take(1, rec) == parse_event(rec)
    assert reader.take(2, dict(rec)) is None and reader.report.duplicates == 1
    assert reader.take(3, {**rec, "account_id": "b"}) is None
    assert reader.report.rejected["conflicting_duplicate"] == 1


@pytest.mark.slow
def test_cli_engine_duckdb_matches_memory_and_rejects_bad_lines(
        tmp_path: Path, small: tuple[list, dict]) -> None:  # type: ignore[type-arg]
    from tidebreak.cli import app

    events, _ = small
    src = tmp_path / "ev.jsonl"
    with src.open("w", encoding="utf-8") as f:
        write_events(events, f)
        f.write('{"event_id": "bad", "account_id": "\\ud800x", "object_type": "url", '
                '"object_id": "https://x.example/", "timestamp": 1}\n')
    with src.open("ab") as fb:
        fb.write(b"\xff\xfe not utf-8\n")
    outs = {}
    for engine in ("memory", "duckdb"):
        out = tmp_path / f"{engine}.jsonl"
        r = runner.invoke(app, ["coordination", "detect", "-i", str(src), "-o", str(out),
                                "--engine", engine])
        assert r.exit_code == 2, r.output
        assert "lone surrogate" in r.stderr and "invalid UTF-8" in r.stderr
        assert "Traceback" not in r.output
        outs[engine] = out.read_text(encoding="utf-8")
    assert outs["memory"] == outs["duckdb"] and outs["memory"]
    r = runner.invoke(app, ["coordination", "detect", "-i", str(src), "--engine", "spark"])
    assert r.exit_code == 2 and r.stderr.startswith("error: unknown --engine")


def test_cli_auto_engine_goes_out_of_core_above_the_size(
        tmp_path: Path, small: tuple[list, dict]) -> None:  # type: ignore[type-arg]
    from tidebreak.cli import app

    events, _ = small
    src = tmp_path / "ev.jsonl"
    with src.open("w", encoding="utf-8") as f:
        write_events(events[:3000], f)
    r = runner.invoke(app, ["coordination", "detect", "-i", str(src), "-o",
                            str(tmp_path / "g.jsonl"), "--out-of-core-above", "1000"])
    assert r.exit_code == 0, r.output
    assert "(duckdb)" in r.stderr
    r = runner.invoke(app, ["coordination", "detect", "-i", str(src), "-o",
                            str(tmp_path / "g.jsonl")])
    assert "(memory)" in r.stderr
    lines = [json.loads(x) for x in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert all(set(g) == {"group_id", "accounts", "score", "evidence"} for g in lines)
