"""`tidebreak demo` shows fact-checks at work: posts labelled with the fact-checker's link and
demoted, a voting lie removed, each with its rule and signals, and a fact-check that arrives
later labelling the earlier posts (only those) and listing who reshared them before it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.cli import app
from tidebreak.store.schema import ContentRow, DecisionRow

NEW_URL = "https://harborcountynews.example/fact-check/2026/11/riverton-streetlight-microphones"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    path = tmp_path_factory.mktemp("fcdemo") / "demo.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("TIDEBREAK_DETECTORS", "bank,factcheck")  # the harm model is not what this is about
    mp.delenv("TIDEBREAK_DATABASE_URL", raising=False)
    try:
        r = CliRunner().invoke(app, ["demo", "--db", f"sqlite:///{path}"])
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    return r.stdout, f"sqlite:///{path}"


def section(out: str, title: str) -> str:
    start = out.index(title)
    nxt = re.search(r"\n(?=\S)", out[start + len(title) + 1:])
    return out[start: start + len(title) + 1 + (nxt.start() if nxt else len(out))]


def test_demo_shows_a_fact_check_label_with_the_link_and_reduced_reach(demo) -> None:  # type: ignore[no-untyped-def]
    out, _ = demo
    part = section(out, "Labelled with the fact-check and demoted")
    assert "-> reduce" in part and "reduced distribution: reach x0.2" in part
    assert "rule misinfo-false-label" in part and "signal factcheck:misinformation = " in part
    labels = re.findall(r"label: Rated \w+ by independent fact-checkers \(.+\)\. See why: (https://\S+)", part)
    links = re.findall(r"fact-check: (https://\S+)", part)
    assert labels and labels == links  # the label carries the ClaimReview's URL, printed whole


def test_demo_shows_a_voting_lie_removed_with_its_reasons(demo) -> None:  # type: ignore[no-untyped-def]
    out, _ = demo
    part = section(out, "Removed as voting misinformation")
    assert "-> remove" in part and "rule voting-remove" in part
    assert re.search(r"signal factcheck:voting_misinformation = (0\.9\d\d|1\.000)", part)
    assert re.search(r"fact-check: https://\S+", part)


def test_demo_backfill_labels_the_earlier_posts_and_notifies_resharers(demo) -> None:  # type: ignore[no-untyped-def]
    out, db = demo
    assert "A new fact-check arrives" in out and "2 re-decided, 2 actioned" in out
    assert ("notice to 2 people who reshared c_0290 before the fact-check: u_0433, u_0612"
            in out) and NEW_URL in out
    eng = create_engine(db)
    with Session(eng) as s:
        rows = {r.id: r for r in s.execute(select(ContentRow)).scalars()}
        redecided = s.execute(select(DecisionRow.content_id).where(
            DecisionRow.event_id.like("fcbackfill:%"))).scalars().all()
    eng.dispose()
    assert sorted(redecided) == ["c_0290", "c_0294"]  # the two posts repeating it, nothing else
    for cid in ("c_0290", "c_0294"):
        assert rows[cid].state == "reduced" and any(NEW_URL in x for x in rows[cid].labels)
    assert rows["c_0291"].state == "visible"  # the reply asking for a source


def test_demo_refuses_nothing_and_counter_speech_is_not_removed(demo) -> None:  # type: ignore[no-untyped-def]
    out, db = demo
    assert re.search(r"\b0 refused", out)
    eng = create_engine(db)
    with Session(eng) as s:
        # "PSA: you CANNOT vote by text ..." links to PolitiFact's fact-check: it cites the debunk
        psa = s.get(ContentRow, ("default", "c_0085"))
    eng.dispose()
    # at most voting-review's pointer to official voting information, and a reviewer
    assert psa is not None and psa.state in ("visible", "labelled") and psa.reach == 1.0
    assert not any("fact-checkers" in x for x in psa.labels or [])
