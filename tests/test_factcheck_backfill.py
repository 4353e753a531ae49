"""Retroactive matching: a backfill after a new fact-check labels the earlier posts that repeat
it, and only those; people who reshared them get a notice; an interrupted run resumes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.factcheck.backfill import continue_run, run_backfill, start_run
from tidebreak.factcheck.store import import_factchecks, parse_objects
from tidebreak.ingest import parse_event
from tidebreak.runtime import build_pipeline
from tidebreak.store.schema import (
    ContentRow,
    DecisionRow,
    EventRow,
    FactCheckBackfillRow,
    LedgerEntryRow,
)

OLD = {"id": "fc-magnet", "text": "Vaccines make your arm magnetic.", "rating": "False",
       "url": "https://factcheck.example.org/magnets", "publisher": "Example Fact Check"}
NEW = {"id": "fc-lemon", "text": "Drinking hot water with lemon kills the coronavirus.",
       "rating": "False", "url": "https://factcheck.example.org/lemon-water",
       "publisher": "Example Fact Check"}


def add_factchecks(engine: Engine, clock, *records: dict) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        import_factchecks(s, tenant="default", factchecks=parse_objects(list(records)),
                          actor="test", now=clock(), source="test")


def post(pipeline, clock, id: str, text: str, **kw: object):  # type: ignore[no-untyped-def]
    created = kw.pop("created_at", clock())
    return pipeline.process(parse_event({"id": id, "text": text, "author": kw.pop("author", "u1"),
                                         "created_at": created.isoformat(), **kw}))


def state(engine: Engine, cid: str) -> tuple[str, list[str]]:
    with Session(engine) as s:
        row = s.get(ContentRow, ("default", cid))
        assert row is not None
        return row.state, list(row.labels or [])


def decisions(engine: Engine, cid: str) -> int:
    with Session(engine) as s:
        return len(s.execute(select(DecisionRow.id).where(DecisionRow.content_id == cid)).all())


@pytest.fixture
def setup(engine, clock):  # type: ignore[no-untyped-def]
    add_factchecks(engine, clock, OLD)
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["factcheck"])
    assert run_backfill(engine, p)[0].matched == 0  # the first fact-check, nothing stored yet
    clock.advance(hours=1)
    post(p, clock, "old", "drinking hot water with lemon kills the coronavirus",
         created_at=clock() - timedelta(days=45))  # outside the 30-day window
    post(p, clock, "magnet", "vaccines make your arm magnetic!!")  # decided at creation
    post(p, clock, "lemon", "Drinking hot water with lemon kills the coronavirus. Share!",
         author="alice")
    post(p, clock, "share", "look at this", author="bob", parent_id="lemon")
    post(p, clock, "reply", "so true", author="carol", parent_id="lemon", kind="comment")
    post(p, clock, "tomato", "My tomatoes are finally ripe")
    clock.advance(hours=2)
    add_factchecks(engine, clock, NEW)  # the new fact-check arrives after the posts
    clock.advance(minutes=5)
    return p


def test_backfill_labels_earlier_matching_posts_and_only_those(engine, clock, setup) -> None:  # type: ignore[no-untyped-def]
    assert state(engine, "lemon") == ("visible", [])
    magnet_before = decisions(engine, "magnet")
    assert state(engine, "magnet")[0] != "visible"  # the old fact-check applied at creation

    [report] = run_backfill(engine, setup, since_days=30, chunk=2)
    assert report.claim_ids == ("fc-lemon",)  # only the new fact-check
    assert (report.matched, report.actioned, report.notices) == (1, 1, 1)

    st, labels = state(engine, "lemon")
    assert st == "reduced" and any(NEW["url"] in label for label in labels)
    assert state(engine, "old") == ("visible", [])  # outside the window
    assert state(engine, "tomato") == ("visible", [])
    assert decisions(engine, "magnet") == magnet_before  # matched only an old fact-check
    with Session(engine) as s:
        rescans = s.execute(select(EventRow.content_id).where(
            EventRow.event_id.startswith("fcbackfill:"))).scalars().all()
        notice = s.execute(select(LedgerEntryRow).where(
            LedgerEntryRow.kind == "factcheck.notice")).scalar_one()
    assert rescans == ["lemon"]
    import json

    body = json.loads(notice.payload)
    assert body["recipients"] == ["bob"]  # the resharer; not the commenter, not the author
    assert body["fact_check_url"] == NEW["url"]

    assert run_backfill(engine, setup) == []  # nothing new: nothing to do


def test_backfill_leaves_posts_decided_after_the_fact_check_arrived(engine, clock, setup) -> None:  # type: ignore[no-untyped-def]
    setup.detectors[0].sync_seconds = 0  # sees the import at once (within seconds in production)
    clock.advance(minutes=1)
    # posted after the fact-check: the pipeline matched it at creation already
    post(setup, clock, "later", "Hot water with lemon kills the coronavirus, drink up!!", author="dave")
    assert state(engine, "later")[0] == "reduced" and decisions(engine, "later") == 1
    clock.advance(minutes=5)  # inside the backfill's window

    [report] = run_backfill(engine, setup, since_days=30)
    assert report.matched == 1  # the earlier post only
    assert decisions(engine, "later") == 1  # not re-decided: its author gets no second notice
    assert state(engine, "lemon")[0] == "reduced"


def test_interrupted_backfill_resumes_from_its_cursor(engine, clock, setup) -> None:  # type: ignore[no-untyped-def]
    run_id = start_run(engine, "default", 30, clock())
    assert run_id is not None

    class Crash(Exception):
        pass

    def crash(n: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        continue_run(engine, setup, run_id, chunk=1, on_chunk=crash)
    with Session(engine) as s:
        run = s.get(FactCheckBackfillRow, run_id)
        assert run is not None and run.status == "running" and run.cursor is not None

    [report] = run_backfill(engine, setup, chunk=1)
    assert report.run_id == run_id and report.resumed
    assert state(engine, "lemon")[0] == "reduced"
    assert decisions(engine, "lemon") == 2  # creation + one rescan, whatever the crash


def test_backfill_matches_each_post_to_the_fact_check_of_its_own_month(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A hoax fact-checked in October resurfaces and is fact-checked again in November: the
    backfill for the November fact-check takes the November post, not the October one."""
    def london(month: str) -> dict:
        return {"id": f"fc-{month.lower()}", "rating": "False",
                "url": f"https://factcheck.example.org/london-{month.lower()}",
                "text": f"A video shows a crowd chanting 'We love Trump' in London in {month} 2026."}

    add_factchecks(engine, clock, london("October"))
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["factcheck"])
    assert run_backfill(engine, p)[0].matched == 0
    clock.advance(hours=1)  # the clock reads early November 2026
    post(p, clock, "in-october", "Huge crowd in London chanting we love Trump!",
         created_at=clock() - timedelta(days=14))
    post(p, clock, "in-november", "Huge crowd in London chanting we love Trump!!")
    clock.advance(hours=2)
    add_factchecks(engine, clock, london("November"))
    clock.advance(minutes=5)

    [report] = run_backfill(engine, p, since_days=30)
    assert report.claim_ids == ("fc-november",) and report.matched == 1
    assert any("london-november" in label for label in state(engine, "in-november")[1])
    assert not any("london-november" in label for label in state(engine, "in-october")[1])


def test_backfill_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tidebreak.factcheck.cli import factcheck_app

    db = f"sqlite:///{tmp_path}/b.db"
    r = CliRunner().invoke(factcheck_app, ["backfill", "--db", db, "--since", "7"])
    assert r.exit_code == 0 and "nothing to do" in r.stderr
    r = CliRunner().invoke(factcheck_app, ["backfill", "--db", db, "--since", "-1"])
    assert r.exit_code == 2
