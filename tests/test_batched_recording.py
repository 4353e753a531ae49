"""A batch of events is recorded in one transaction, and decides exactly as one event at a time.

The bundled sample (posts, edits and reports by 92 authors in 15 groups) goes through the real
default detectors and policy twice: in batches of 64, as `tidebreak moderate` and the workers run
it, and one event at a time, as the HTTP API does. Every decision and everything it changed
(content states, strikes, account penalties and statuses, group stages, review tasks,
statements of reasons, ledger entries) must come out the same.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.clock import utcnow
from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.pipeline import OutOfOrder, overlapped
from tidebreak.runtime import build_pipeline, bundled_data, open_store
from tidebreak.store.schema import (
    ActorRow,
    ContentRow,
    EventRow,
    GroupRow,
    LedgerEntryRow,
    PenaltyRow,
    ReviewTaskRow,
    StatementRow,
    StrikeRow,
)

AT = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)


def sample_events() -> list[dict]:
    return [json.loads(line) for line in bundled_data("sample_events.jsonl").open(encoding="utf-8")
            if line.strip()]


def run(url: str, batch: int, *, at: datetime | None = AT,
        record_in: str = "thread") -> tuple[dict, dict]:
    """Batches of `batch` events, the next one detected while this one records (as `moderate`
    runs them, through pipeline.overlapped); batch=1 is one event at a time. `at`: the time
    decisions are made (None: the real clock, as a recorder process has); `record_in`: where
    they are recorded (tidebreak.recorder_process)."""
    engine = open_store(url)
    settings = dataclasses.replace(Settings.from_env(), record_in=record_in)
    pipeline = build_pipeline(engine, settings, clock=utcnow if at is None else lambda: at)
    assert (pipeline.recorder is not None) == (record_in == "process")
    events = [parse_event(e) for e in sample_events()]
    batches = [(i, events[i:i + batch]) for i in range(0, len(events), batch)]
    if batch == 1:
        processed = ((i, evs, pipeline.process_batch(evs)) for i, evs in batches)
    else:
        processed = overlapped(pipeline, batches)
    decided = {}
    for _, evs, results in processed:
        for ev, res in zip(evs, results):
            d = res.decision
            decided[ev.event_id] = (d.action.value, [a.to_dict() for a in d.actions],
                                    list(d.categories), d.rules,
                                    # scores to 4 places: a batched matrix product may
                                    # differ from a single one in the 7th
                                    [(s.detector, s.category, round(s.score, 4))
                                     for s in d.signals])
    with Session(engine) as s:
        state = {
            "contents": sorted((r.id, r.state, r.reach, tuple(r.labels or ()))
                               for r in s.scalars(select(ContentRow))),
            "actors": sorted((r.id, r.status) for r in s.scalars(select(ActorRow))),
            "groups": sorted((r.id, r.stage, r.health) for r in s.scalars(select(GroupRow))),
            "strikes": sorted((r.actor_id, r.content_id, r.category, r.severity)
                              for r in s.scalars(select(StrikeRow))),
            "penalties": sorted((r.actor_id, r.penalty, r.rule)
                                for r in s.scalars(select(PenaltyRow))),
            "tasks": sorted((r.content_id, r.queue, r.status, round(r.priority, 4))
                            for r in s.scalars(select(ReviewTaskRow))),
            "statements": s.scalar(select(func.count()).select_from(StatementRow)),
            "ledger": Counter(s.scalars(select(LedgerEntryRow.kind))),
        }
        assert ledger.verify(s)[1] is None
    if pipeline.recorder is not None:
        pipeline.recorder.close()
    engine.dispose()
    return decided, state


@pytest.mark.parametrize("batch", [64, 7])  # 7: posts and their reports in different batches
def test_the_sample_decides_the_same_in_batches_and_one_at_a_time(tmp_path, batch) -> None:  # type: ignore[no-untyped-def]
    batched, batched_state = run(f"sqlite:///{tmp_path}/batched.db", batch=batch)
    single, single_state = run(f"sqlite:///{tmp_path}/single.db", batch=1)
    assert {k: v for k, v in batched.items() if single[k] != v} == {}
    assert batched_state == single_state
    # the sample exercises what a batch must keep consistent between its events
    assert batched_state["strikes"] and batched_state["tasks"] and batched_state["statements"]
    assert any(stage != "healthy" for _, stage, _ in batched_state["groups"])


def test_an_event_that_cannot_apply_is_refused_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(f"sqlite:///{tmp_path}/t.db")
    pipeline = build_pipeline(engine, Settings.from_env(), clock=lambda: AT,
                              detector_names=["bank"])
    pipeline.process(parse_event({"id": "p1", "text": "first post"}))
    results = pipeline.process_batch([
        parse_event({"id": "p2", "text": "a new post"}),
        parse_event({"event_id": "again", "id": "p1", "text": "p1 re-created"}),
        parse_event({"id": "p3", "text": "another new post"}),
    ])
    assert isinstance(results[1], OutOfOrder)
    assert [r.duplicate for r in (results[0], results[2])] == [False, False]
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).text == "first post"
        assert s.get(EventRow, ("default", "again")) is None
        assert {r.id for r in s.scalars(select(ContentRow))} == {"p1", "p2", "p3"}
        assert ledger.verify(s) == (3, None)


def test_a_batch_that_races_another_process_falls_back_to_one_at_a_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/t.db"
    first = build_pipeline(open_store(url), Settings.from_env(), detector_names=["bank"])
    second = build_pipeline(open_store(url), Settings.from_env(), detector_names=["bank"])
    events = [parse_event({"id": f"p{i}", "text": f"post {i}"}) for i in range(4)]
    # the second process looked before the first recorded p2: it believes every event is new
    real_look = second._known_events

    def looked_too_early(ids: list[str]) -> dict:
        second._known_events = real_look  # type: ignore[method-assign]
        return {}

    second._known_events = looked_too_early  # type: ignore[method-assign]
    taken = first.process(events[2])
    results = second.process_batch(events)
    assert [r.duplicate for r in results] == [False, False, True, False]
    assert results[2].decision.id == taken.decision.id
    with Session(first.engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 4
        assert ledger.verify(s) == (4, None)


@pytest.mark.postgres
def test_batches_record_on_postgres_too(pg_url: str) -> None:
    engine = open_store(pg_url)
    pipeline = build_pipeline(engine, Settings.from_env(), clock=lambda: AT,
                              detector_names=["bank"])
    events = [parse_event({"id": f"p{i}", "text": f"post {i}", "author": f"u{i % 3}",
                           "group": "g1"}) for i in range(20)]
    assert all(not r.duplicate for r in pipeline.process_batch(events))
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 20
        assert s.scalar(select(func.count()).select_from(ActorRow)) == 3
        assert ledger.verify(s) == (20, None)
    engine.dispose()


@pytest.mark.postgres
def test_a_race_found_only_at_commit_falls_back_to_one_at_a_time(pg_url: str) -> None:
    """Another process records one of the batch's events while the batch is being decided: the
    batch's decision and event rows, written together at commit, collide with it; nothing of
    the batch is kept, and its events are recorded again one at a time."""
    first = build_pipeline(open_store(pg_url), Settings.from_env(), detector_names=["bank"])
    second = build_pipeline(open_store(pg_url), Settings.from_env(), detector_names=["bank"])
    events = [parse_event({"id": f"p{i}", "text": f"post {i}"}) for i in range(4)]
    taken: list = []

    def meanwhile(e) -> None:  # type: ignore[no-untyped-def]
        if not taken:  # while the second is deciding its first event
            taken.append(first.process(events[2]))

    second.enforcers.append(meanwhile)
    results = second.process_batch(events)
    assert [r.duplicate for r in results] == [False, False, True, False]
    assert results[2].decision.id == taken[0].decision.id
    with Session(first.engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 4
        assert ledger.verify(s) == (4, None)
    first.engine.dispose()
    second.engine.dispose()
