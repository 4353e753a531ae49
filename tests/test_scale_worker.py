"""Workers over a private NATS JetStream on PostgreSQL: the same pipeline, once per event id.

The scripted detector from test_pipeline decides by the scores written in the text, so each case
knows its expected action; events reach the pipeline only through the broker.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.scale.broker import BrokerConfig, Producer, event_message, msg_id
from tidebreak.scale.worker import Worker
from tidebreak.store.db import open_store
from tidebreak.store.schema import DecisionRow, EventFailureRow, EventRow

from .natsd import nats_server, running_worker, wait_until  # noqa: F401 - fixture
from .test_pipeline import counts, make_pipeline

pytestmark = pytest.mark.postgres


@pytest.fixture
def setup(pg_url, nats_server, clock):  # type: ignore[no-untyped-def]
    engine = open_store(pg_url)
    cfg = BrokerConfig(url=nats_server.url, ack_wait=5, max_deliver=4, retry_delay=0.2)
    producer = Producer(cfg)
    pipes: dict[str, object] = {}

    def pipeline_for(tenant: str):  # type: ignore[no-untyped-def]
        if tenant not in pipes:
            p = make_pipeline(engine, clock)
            p.tenant = tenant
            pipes[tenant] = p
        return pipes[tenant]

    yield engine, cfg, producer, pipeline_for
    producer.close()
    engine.dispose()


def send(producer: Producer, event: dict, tenant: str = "default") -> None:  # type: ignore[type-arg]
    eid = event.get("event_id", event["id"])
    producer.publish(producer.cfg.events_subject,
                     event_message(tenant, event, datetime.now(timezone.utc)), msg_id(tenant, eid))


def decided(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(DecisionRow)).scalar_one()


def failed(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(EventFailureRow)).scalar_one()


def test_events_through_the_broker_are_decided_once_each(setup) -> None:  # type: ignore[no-untyped-def]
    engine, cfg, producer, pipeline_for = setup
    send(producer, {"id": "p1", "text": "they are vermin [hate=0.99]", "author": "u1"})
    send(producer, {"id": "p2", "text": "nice garden", "author": "u2"})
    send(producer, {"id": "p3", "text": "hello", "author": "u3"}, tenant="other")
    with running_worker(Worker(engine, cfg, pipeline_for, batch=8)):
        wait_until(lambda: decided(engine) == 3, 30, "3 decisions")
    # The platform resends p1 much later (outside the broker's duplicate window, simulated by a
    # different message id): the events table answers with the first decision, nothing changes.
    before = counts(engine)
    producer.publish(cfg.events_subject,
                     event_message("default", {"id": "p1", "text": "they are vermin [hate=0.99]",
                                               "author": "u1"}, datetime.now(timezone.utc)),
                     "resent-later")
    worker = Worker(engine, cfg, pipeline_for, batch=8)
    with running_worker(worker):
        wait_until(lambda: worker.handled == 1, 30, "the resend")
    assert counts(engine) == before
    with Session(engine) as s:
        actions = dict(s.execute(select(DecisionRow.content_id, DecisionRow.action)
                                 .where(DecisionRow.tenant == "default")).all())
        assert actions == {"p1": "remove", "p2": "none"}
        assert ledger.verify(s) == (3, None)


def test_an_edit_that_overtakes_its_create_waits_for_it(setup) -> None:  # type: ignore[no-untyped-def]
    engine, cfg, producer, pipeline_for = setup
    # With several workers an edit can be taken before its create: it is nak'ed and retried.
    send(producer, {"type": "content.edit", "event_id": "e2", "id": "p1",
                    "text": "now [violence=0.99]", "author": "u1"})
    send(producer, {"id": "p1", "event_id": "e1", "text": "fine", "author": "u1"})
    with running_worker(Worker(engine, cfg, pipeline_for, batch=1)):
        wait_until(lambda: decided(engine) == 2, 30, "the edit after its create")
    with Session(engine) as s:
        last = s.execute(select(DecisionRow.action).where(DecisionRow.event_id == "e2")).scalar_one()
        assert last == "remove"
        assert s.execute(select(func.count()).select_from(EventFailureRow)).scalar_one() == 0


def test_what_can_never_apply_is_recorded_as_failed_and_not_retried_for_ever(setup) -> None:  # type: ignore[no-untyped-def]
    engine, cfg, producer, pipeline_for = setup
    producer.publish(cfg.events_subject, b"{not json", "junk-1")  # poison: dropped at once
    send(producer, {"type": "report", "event_id": "r1", "id": "ghost", "reason": "hate"})
    send(producer, {"id": "p1", "text": "ok", "author": "u1"})
    with running_worker(Worker(engine, cfg, pipeline_for, batch=4)):
        # The report is retried until max_deliver (4) deliveries, with growing delays, then
        # kept as a failure the async caller can read.
        wait_until(lambda: failed(engine) == 1, 30, "the report's failure record")
    with Session(engine) as s:
        failure = s.get(EventFailureRow, ("default", "r1"))
        assert (failure.status, failure.deliveries) == (404, 4)
        assert "unknown content 'ghost'" in failure.reason
        assert s.execute(select(EventRow.event_id)).scalars().all() == ["p1"]
    client = TestClient(create_app(engine, Settings(), lambda t: pipeline_for(t), producer=producer))
    h = {"Authorization": f"Bearer {create_key(engine, 'platform')}"}
    body = client.get("/v1/async/events/r1", headers=h).json()
    assert body["status"] == "failed" and body["error"]["status"] == 404
    assert client.get("/v1/async/events/p1", headers=h).json()["status"] == "decided"
