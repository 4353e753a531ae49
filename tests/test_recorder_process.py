"""Decisions recorded in a process of their own (TIDEBREAK_RECORD_IN=process, what `tidebreak
serve` does on 2 or more cores) are the decisions this process would record: the same sample
outcomes and state, the model versions of the detectors that ran here, the stage timings on
this process's /metrics; a recorder that dies fails its batch with a 503 and the next batch
starts a new one, losing and duplicating nothing."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
from fastapi.testclient import TestClient
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.recorder_process import RecorderUnavailable, _portable
from tidebreak.runtime import build_pipeline
from tidebreak.store.schema import DecisionRow, EventRow

from .test_batched_recording import run

NAMES = ["bank", "harm", "voting"]


def stage_count(stage: str) -> float:
    return REGISTRY.get_sample_value("tidebreak_stage_seconds_count", {"stage": stage}) or 0.0


def test_the_sample_is_recorded_there_as_it_is_here(tmp_path) -> None:  # type: ignore[no-untyped-def]
    here, here_state = run(f"sqlite:///{tmp_path}/here.db", 64, at=None)
    there, there_state = run(f"sqlite:///{tmp_path}/there.db", 64, at=None, record_in="process")
    assert {k: v for k, v in there.items() if here[k] != v} == {}
    assert there_state == here_state
    assert there_state["strikes"] and there_state["tasks"] and there_state["statements"]


def test_a_decision_names_the_models_that_ran_here_and_its_stages_are_measured_here(engine) -> None:  # type: ignore[no-untyped-def]
    pipeline = build_pipeline(engine, Settings(record_in="process"), detector_names=NAMES)
    assert pipeline.recorder is not None
    try:
        pipeline.detectors[2].version = "voting-as-it-ran-here"  # what the child cannot know
        before = {s: stage_count(s) for s in ("policy", "record", "enforce", "commit")}
        out = pipeline.process_batch([
            parse_event({"id": "v", "text": "Muslims are vermin and should be driven out",
                         "author": "a"}),
            parse_event({"id": "c", "text": "lovely tomatoes today", "author": "b"})])
        assert [o.decision.action.value for o in out] == ["remove", "none"]
        # the child decides with the policy this process loaded
        assert {(o.decision.policy_id, o.decision.policy_version) for o in out} == \
               {(pipeline.policy.active.id, pipeline.policy.active.version)}
        assert out[0].decision.model_versions["voting"] == "voting-as-it-ran-here"
        assert out[0].decision.model_versions == pipeline.model_versions
        after = {s: stage_count(s) for s in before}
        assert after["policy"] - before["policy"] == 2  # one per event, measured in the child
        assert after["commit"] - before["commit"] == 1  # one transaction for the batch
        assert after["record"] > before["record"] and after["enforce"] > before["enforce"]
    finally:
        pipeline.recorder.close()


def test_a_dead_recorder_fails_its_batch_and_the_next_batch_gets_a_new_one(engine) -> None:  # type: ignore[no-untyped-def]
    pipeline = build_pipeline(engine, Settings(record_in="process"), detector_names=["bank"])
    recorder = pipeline.recorder
    assert recorder is not None
    try:
        first = pipeline.process(parse_event({"id": "p1", "text": "first post", "author": "a"}))
        old = recorder.pid  # type: ignore[attr-defined]
        os.kill(old, signal.SIGKILL)
        late = parse_event({"id": "p2", "text": "second post", "author": "a"})
        with pytest.raises(RecorderUnavailable) as refused:
            pipeline.process(late)
        assert refused.value.status == 503
        # the retry is decided once, by a new recorder; the first decision stands
        retried = pipeline.process(late)
        assert not retried.duplicate and recorder.pid not in (None, old)  # type: ignore[attr-defined]
        again = pipeline.process(parse_event({"id": "p1", "text": "first post", "author": "a"}))
        assert again.duplicate and again.decision.id == first.decision.id
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(EventRow)) == 2
            assert s.scalar(select(func.count()).select_from(DecisionRow)) == 2
            assert ledger.verify(s) == (2, None)
    finally:
        recorder.close()


def test_the_api_decides_through_its_recorder_and_restarts_it_with_the_app(engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(record_in="process")
    built = []

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        built.append(build_pipeline(engine, settings, tenant=tenant, detector_names=["bank"]))
        return built[-1]

    app = create_app(engine, settings, factory)
    key, other = create_key(engine, "platform"), create_key(engine, "platform", tenant="other")

    async def post(ids: list[str], as_key: str = key) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await asyncio.gather(*[client.post(
                "/v1/content", json={"id": i, "text": f"post {i}", "author": "u"},
                headers={"Authorization": f"Bearer {as_key}"}) for i in ids])

    async def both() -> tuple[list[httpx.Response], list[httpx.Response]]:
        return await asyncio.gather(post([f"p{i}" for i in range(12)]),
                                    post(["p0", "p1"], as_key=other))

    got, theirs = asyncio.run(both())
    assert [r.status_code for r in got + theirs] == [201] * 14
    recorder = built[0].recorder
    assert recorder is not None and recorder.pid is not None  # type: ignore[attr-defined]
    assert built[1].recorder is recorder  # one recorder process for every tenant of the store
    with Session(engine) as s:  # and each tenant's decisions are its own
        assert dict(s.execute(select(DecisionRow.tenant, func.count())
                              .group_by(DecisionRow.tenant)).all()) == {"default": 12, "other": 2}
    with TestClient(app):  # the app starts and stops: its recorder process with it
        pass
    assert recorder.pid is None  # type: ignore[attr-defined]
    got = asyncio.run(post(["p0", "p12"]))  # started again: a new recorder for the next batch
    assert sorted(r.status_code for r in got) == [200, 201]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 15
        assert ledger.verify(s)[1] is None
    recorder.close()


def test_serve_records_in_a_process_on_two_cores_or_more(monkeypatch, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak import cli
    from tidebreak.runtime import open_store

    monkeypatch.delenv("TIDEBREAK_RECORD_IN", raising=False)
    monkeypatch.setattr("tidebreak.runtime.cpu_count", lambda: 2)
    assert cli._serve_settings().record_in == "process"
    monkeypatch.setattr("tidebreak.runtime.cpu_count", lambda: 1)
    assert cli._serve_settings().record_in == "thread"
    monkeypatch.setenv("TIDEBREAK_RECORD_IN", "thread")
    monkeypatch.setattr("tidebreak.runtime.cpu_count", lambda: 2)
    assert cli._serve_settings().record_in == "thread"
    # a pipeline given its own clock (tests, the simulator) records where it is: the child
    # could not follow that clock
    engine = open_store(f"sqlite:///{tmp_path}/t.db")
    assert build_pipeline(engine, Settings(record_in="process"), clock=clock,
                          detector_names=["bank"]).recorder is None


def test_an_error_that_cannot_cross_the_pipe_is_named() -> None:
    class Holding(Exception):
        def __init__(self, handle: object) -> None:
            super().__init__("driver said no")
            self.handle = handle

        def __reduce__(self):  # type: ignore[no-untyped-def]
            raise TypeError("cannot pickle a connection")

    err = _portable(Holding(object()))
    assert isinstance(err, RuntimeError) and "Holding: driver said no" in str(err)
    plain = ValueError("fine")
    assert _portable(plain) is plain
