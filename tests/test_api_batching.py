"""Concurrent requests are decided together (micro-batching) and each still gets its own answer:
the same decisions as one request at a time, a repeated event answered with its first decision,
a refused event refused alone, and tenants kept apart."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.store.schema import DecisionRow

from .test_pipeline import make_pipeline


def batches_seen() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("tidebreak_api_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("tidebreak_api_batch_size_sum") or 0.0
    return count, total


async def post_all(app, key: str, bodies: list[dict]) -> list[httpx.Response]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await asyncio.gather(*[
            client.post("/v1/content", json=b, headers={"Authorization": f"Bearer {key}"})
            for b in bodies])


def test_concurrent_requests_share_batches_and_get_their_own_decisions(engine, clock) -> None:  # type: ignore[no-untyped-def]
    def factory(tenant: str):  # type: ignore[no-untyped-def]
        p = make_pipeline(engine, clock)
        p.tenant = tenant
        return p

    app = create_app(engine, Settings(), factory)
    key = create_key(engine, "platform")
    other = create_key(engine, "platform", tenant="other")
    bodies = [{"id": f"p{i}", "author": f"u{i % 5}",
               "text": "they are vermin [hate=0.99]" if i % 4 == 0 else f"hello {i}"}
              for i in range(24)]
    before = batches_seen()

    async def both() -> tuple[list[httpx.Response], list[httpx.Response]]:
        mine = post_all(app, key, bodies + [bodies[3]])  # the same event twice, concurrently
        theirs = post_all(app, other, [{"id": "p0", "text": "hello from another tenant"}])
        return await asyncio.gather(mine, theirs)

    mine, theirs = asyncio.run(both())
    count, total = (a - b for a, b in zip(batches_seen(), before))
    assert total == 26 and count < 26  # some requests were decided together

    answers = [r.json() for r in mine]
    assert all(r.status_code in (200, 201) for r in mine)
    for body, got in zip(bodies, answers):
        assert got["content_id"] == body["id"]
        assert got["action"] == ("remove" if "vermin" in body["text"] else "none")
    # the repeat got the first decision, marked as a duplicate
    assert answers[-1]["decision_id"] == answers[3]["decision_id"]
    assert sorted(r.status_code for r in (mine[3], mine[-1])) == [200, 201]
    assert theirs[0].status_code == 201 and theirs[0].json()["action"] == "none"
    with Session(engine) as s:
        by_tenant = dict(s.execute(select(DecisionRow.tenant, func.count())
                                   .group_by(DecisionRow.tenant)).all())
        assert by_tenant == {"default": 24, "other": 1}
        assert ledger.verify(s)[1] is None


def test_a_refused_event_in_a_batch_is_refused_alone(engine, clock) -> None:  # type: ignore[no-untyped-def]
    app = create_app(engine, Settings(), lambda tenant: make_pipeline(engine, clock))
    key = create_key(engine, "platform")
    first = asyncio.run(post_all(app, key, [{"id": "taken", "text": "first"}]))[0]
    assert first.status_code == 201
    answers = asyncio.run(post_all(app, key, [
        {"id": "n1", "text": "new one"},
        {"event_id": "e-retake", "id": "taken", "text": "re-created"},
        {"id": "n2", "text": "new two"}]))
    assert [r.status_code for r in answers] == [201, 409, 201]
    assert "already exists" in answers[1].json()["reason"]


def test_with_two_preparing_slots_both_take_a_share_of_the_waiting_requests() -> None:
    """With detector processes (prepare_ahead 2), a free slot takes its share of the queue at
    once: 10 waiting requests become two batches of 5 prepared side by side, not one of 10
    while the other process idles; results still come back in order, each to its caller."""
    import threading

    from tidebreak.api.batching import MicroBatcher
    from tidebreak.ingest import parse_event

    started: list[int] = []
    both_started = threading.Event()

    class SlowPipeline:
        prepare_ahead = 2

        def prepare(self, events, ahead):  # type: ignore[no-untyped-def]
            started.append(len(events))
            if len(started) == 2:
                both_started.set()
            assert both_started.wait(5), "the second slot never started"
            return events

        def record(self, prepared):  # type: ignore[no-untyped-def]
            return [f"decided {e.event_id}" for e in prepared]

    batcher = MicroBatcher(SlowPipeline(), wait_s=0.01)  # type: ignore[arg-type]
    events = [parse_event({"id": f"p{i}", "text": "hello"}) for i in range(10)]

    async def submit_all() -> list[object]:
        return await asyncio.gather(*(batcher.submit(e) for e in events))

    try:
        answers = asyncio.run(submit_all())
    finally:
        batcher.close()
    assert sorted(started) == [5, 5]
    assert answers == [f"decided {e.event_id}" for e in events]


def test_a_prepared_batch_waits_for_the_recorder_without_spinning(monkeypatch) -> None:
    """While the recorder holds a batch, the next one, prepared already, waits: the batcher
    sleeps until the recorder is free instead of looping on the finished preparation (which
    took the event loop's time from HTTP and the detectors)."""
    import time

    from tidebreak.api import batching
    from tidebreak.api.batching import MicroBatcher
    from tidebreak.ingest import parse_event

    class SlowRecorder:
        prepare_ahead = 1

        def prepare(self, events, ahead):  # type: ignore[no-untyped-def]
            return events

        def record(self, prepared):  # type: ignore[no-untyped-def]
            time.sleep(0.3)
            return [f"decided {e.event_id}" for e in prepared]

    waits = 0
    real_wait = asyncio.wait

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal waits
        waits += 1
        return await real_wait(*args, **kwargs)

    monkeypatch.setattr(batching.asyncio, "wait", counted)
    batcher = MicroBatcher(SlowRecorder(), wait_s=0.001)  # type: ignore[arg-type]

    async def two_batches() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(parse_event({"id": "a", "text": "x"})))
        await asyncio.sleep(0.05)  # the first batch is recording now
        later = asyncio.gather(*(batcher.submit(parse_event({"id": f"b{i}", "text": "x"}))
                                 for i in range(3)))  # prepared at once, then waiting
        return [await first, *await later]

    try:
        answers = asyncio.run(two_batches())
    finally:
        batcher.close()
    assert answers == ["decided a", "decided b0", "decided b1", "decided b2"]
    assert waits < 20, f"the batcher woke {waits} times for two batches"
