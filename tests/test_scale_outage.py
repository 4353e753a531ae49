"""Broker outage: a private NATS JetStream (its own port and store) is stopped for a while and
restarted under a running API and worker.

Documented behaviour under test: the producer never buffers. While the broker is down every
async submission is refused at once with 503 `broker_unavailable` (and /readyz says not ready);
a 202 means JetStream stored the event on disk, and every one of those is decided after the
restart. Refused events are not decided behind the caller's back.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.scale.broker import BrokerConfig, Producer
from tidebreak.scale.worker import Worker
from tidebreak.store.db import open_store
from tidebreak.store.schema import EventRow

from .natsd import nats_server, running_worker, wait_until  # noqa: F401 - fixture
from .test_pipeline import make_pipeline

pytestmark = pytest.mark.postgres


def test_nothing_accepted_is_lost_when_the_broker_goes_down(pg_url, nats_server, clock) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(pg_url)
    cfg = BrokerConfig(url=nats_server.url, publish_timeout=2, ack_wait=5)
    producer = Producer(cfg)
    pipeline = make_pipeline(engine, clock)
    client = TestClient(create_app(engine, Settings(), lambda tenant: pipeline, producer=producer))
    h = {"Authorization": f"Bearer {create_key(engine, 'platform')}"}
    accepted: set[str] = set()
    refused: set[str] = set()

    def submit(i: int) -> int:
        r = client.post("/v1/async/events", headers=h,
                        json={"id": f"p{i}", "text": f"post {i} [hate=0.{i % 10}]", "author": "u1"})
        if r.status_code == 202:
            assert r.json()["decision_url"] == f"/v1/async/events/p{i}"
            accepted.add(f"p{i}")
        else:
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "broker_unavailable" and r.headers["Retry-After"]
            assert "not accepted" in r.json()["reason"] or "cannot reach" in r.json()["reason"]
            refused.add(f"p{i}")
        return r.status_code

    worker = Worker(engine, cfg, lambda tenant: pipeline, batch=16)
    with running_worker(worker):
        assert all(submit(i) == 202 for i in range(20))
        nats_server.stop()
        assert client.get("/readyz").status_code == 503
        t0 = time.monotonic()
        assert all(submit(i) == 503 for i in range(20, 40))
        assert time.monotonic() - t0 < 10, "refusals must be prompt, not a timeout each"
        time.sleep(2)  # down for a while
        nats_server.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, 30, "readiness again")
        assert all(submit(i) == 202 for i in range(40, 60))
        # The worker lived through the outage and picks the stored events up again.
        wait_until(lambda: decided(engine) == accepted, 60, "every accepted event decided")
        ready = client.get("/readyz").json()
        assert (ready["database"], ready["broker"]) == ("ok", "ok")
    assert len(accepted) == 40 and len(refused) == 20
    assert decided(engine) == accepted  # and none of the refused ones
    r = client.get("/v1/async/events/p45", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "decided"
    assert client.get("/v1/async/events/p25", headers=h).json()["status"] == "pending"
    producer.close()
    engine.dispose()


def decided(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return set(s.execute(select(EventRow.event_id)).scalars().all())
