"""A server warms its detectors up before serving: what a detector loads on first use (the
claims model behind the election gate, the fact-check matcher's first match, the language
identifier) is loaded when the pipeline is built for the API, not by the first request that
needs it (which would stall its whole micro-batch for ~0.4 s each)."""

from __future__ import annotations

import asyncio
import time

import httpx

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.model import Item
from tidebreak.runtime import build_pipeline
from tidebreak.text import normalise

ELECTION = "the election is rigged, polls close at 9 and mail ballots are thrown away, dont vote"


def item(text: str) -> Item:
    return Item(parse_event({"id": "x", "text": text}).content, normalise(text))


def test_warming_up_loads_what_the_detectors_load_on_first_use(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.text import language

    pipeline = build_pipeline(engine, Settings(), clock=clock,
                              detector_names=["harm", "factcheck", "voting"])
    harm, factcheck, voting = pipeline.detectors
    pipeline.warm_up()
    assert language._IDENTIFIER is not None
    assert voting._model is not None  # type: ignore[attr-defined]
    assert factcheck._stance_model not in (None, False)  # type: ignore[attr-defined]
    # and a post that opens the gates is decided without loading anything
    for det in (voting, factcheck):
        t0 = time.perf_counter()
        det.detect([item(ELECTION)])
        assert time.perf_counter() - t0 < 0.25, det.name
    # warming up decides and stores nothing
    assert pipeline.process(parse_event({"id": "p1", "text": "hello"})).duplicate is False


def test_the_api_warms_a_tenants_pipeline_when_it_builds_it(engine, clock) -> None:  # type: ignore[no-untyped-def]
    warmed: list[str] = []

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        p = build_pipeline(engine, Settings(), tenant=tenant, clock=clock,
                           detector_names=["bank"])
        p.warm_up = lambda: warmed.append(tenant)  # type: ignore[method-assign]
        return p

    app = create_app(engine, Settings(), factory)
    key = create_key(engine, "platform")

    async def post(i: int) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/v1/content", json={"id": f"p{i}", "text": "hi"},
                                     headers={"Authorization": f"Bearer {key}"})

    assert [asyncio.run(post(i)).status_code for i in range(3)] == [201] * 3
    assert warmed == ["default"]  # once, when the tenant's pipeline was built
