"""The plug-in house: a package registered only by entry point adds a detector and an event
sink to a real `tidebreak` run, with no change to tidebreak; built-ins come through the same
manager, enforcers in their declared order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tidebreak.config import Settings
from tidebreak.plugins import manager
from tidebreak.runtime import adjusters, detector_factories, enforcers

EXAMPLE = Path(__file__).with_name("plugin_example")


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tidebreak.cli", *args], env=env, text=True,
                          capture_output=True, timeout=300)


def test_an_entry_point_package_adds_a_detector_and_an_event_sink(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    env = {**os.environ, "PYTHONPATH": str(EXAMPLE), "EXAMPLE_EVENTS_FILE": str(events),
           "TIDEBREAK_DETECTORS": "bank,marker"}
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(json.dumps(p) for p in [
        {"id": "a", "text": "PLUGIN-HARASS you again", "author": "x"},
        {"id": "b", "text": "a lovely day at the lake", "author": "y"}]) + "\n")
    db = f"sqlite:///{tmp_path}/t.db"
    done = run(["moderate", "-i", str(posts), "-o", str(tmp_path / "out.jsonl"), "--db", db], env)
    assert done.returncode == 0, done.stderr
    out = {d["id"]: d for d in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert out["a"]["action"] == "remove" and out["b"]["action"] == "none"
    delivered = run(["events", "deliver", "--once", "--db", db], env)
    assert delivered.returncode == 0, delivered.stderr
    got = [json.loads(line) for line in events.read_text().splitlines()]
    assert {(e["type"], e["subject"]) for e in got} == {
        ("decision.made", "a"), ("decision.made", "b"), ("account.penalty_imposed", "account:x")}
    # without the package on the path, the detector is unknown: one line, exit 2
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    missing = run(["moderate", "-i", str(posts), "-o", str(tmp_path / "o2.jsonl")], bare)
    assert missing.returncode == 2 and "unknown detector 'marker'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_built_ins_are_default_plug_ins() -> None:
    names = {name for name, _ in manager().list_name_plugin()}
    assert "tidebreak.plugins.builtin" in names and "tidebreak.events.plugin" in names
    assert {"bank", "harm", "factcheck", "voting", "political_ads"} <= set(detector_factories())
    order = [type(e).__name__ for e in enforcers(Settings())]
    assert order[:3] == ["StatementEnforcer", "ReviewEnforcer", "PenaltyEnforcer"]
    assert order.index("PenaltyEnforcer") < order.index("GroupEnforcer")
    assert [a.__name__ for a in adjusters(Settings())] == ["election_adjuster",
                                                           "exception_adjuster"]
