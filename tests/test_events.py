"""Domain events on SQLite and PostgreSQL: written with the change they describe, delivered to
each subscribed sink at least once (signed webhooks to a real HTTP receiver on loopback), with
backoff, dead letters, replay, a destination that comes back, and the CLI. One test per kind of
change a platform must hear about."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.cli import app
from tidebreak.config import Settings
from tidebreak.events.dispatch import Dispatcher, RetryPolicy, list_deliveries, replay, replay_since
from tidebreak.events.outbox import to_event
from tidebreak.events.plugin import SinkConfigError, tidebreak_event_sinks
from tidebreak.events.signing import verify_signature
from tidebreak.events.sinks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, WebhookSink
from tidebreak.events.types import parse_types
from tidebreak.model import Action, ActionType
from tidebreak.runtime import enforcers
from tidebreak.store.schema import DecisionRow, DomainEventRow

from .test_pipeline import make_pipeline, post

SECRET = "whsec-test"


class Receiver:
    """The platform's endpoint: records each request, answers with the next scripted status."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/tidebreak"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, type: str | None = None) -> list[dict]:
        got = [json.loads(b) for _, b in self.requests]
        return [e for e in got if type is None or e["type"] == type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def full_pipeline(engine, clock):  # type: ignore[no-untyped-def]
    """The scripted detector with every built-in enforcer (penalties, groups, statements...)."""
    p = make_pipeline(engine, clock)
    p.enforcers.extend(enforcers(Settings()))
    return p


@pytest.fixture
def hooked(engine, clock, receiver):  # type: ignore[no-untyped-def]
    # the sink registers before anything is decided: it gets every event from then on
    sink = WebhookSink("platform", receiver.url, SECRET)
    dispatcher = Dispatcher(engine, [sink], clock=clock,
                            retry=RetryPolicy(max_attempts=3, backoff=10, claim_s=35))
    return full_pipeline(engine, clock), dispatcher


def naive(dt: datetime) -> datetime:  # SQLite hands back naive UTC, PostgreSQL aware
    return dt.replace(tzinfo=None)


def test_each_event_is_delivered_signed_once(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    d = p.process(post("p1", "they are vermin [hate=0.99]")).decision
    sent = dispatcher.run_once()
    assert sent["delivered"] >= 2 and sent["retry"] == sent["dead"] == 0
    assert dispatcher.run_once() == {"delivered": 0, "retry": 0, "dead": 0}
    for headers, body in receiver.requests:
        assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
        assert not verify_signature("another-secret", body, headers[SIGNATURE_HEADER])
        assert headers[EVENT_HEADER] == json.loads(body)["type"]
    headers, body = next(r for r in receiver.requests if r[0][EVENT_HEADER] == "decision.made")
    assert not verify_signature(SECRET, body.replace(b"remove", b"none__"), headers[SIGNATURE_HEADER])
    made = json.loads(body)
    assert made["key"] == headers[DELIVERY_HEADER] == f"decision:{d.id}"
    assert made["data"]["decision"]["action"] == "remove" and made["data"]["content_id"] == "p1"
    assert made["data"]["content_state"]["state"] == "removed"
    [changed] = receiver.events("content.state_changed")
    assert (changed["data"]["from"]["state"], changed["data"]["to"]["state"]) == ("visible", "removed")
    [strike] = receiver.events("strike.added")
    assert strike["subject"] == "account:u1" and strike["data"]["category"] == "hate"


def test_a_decision_that_rolls_back_leaves_no_event(engine, hooked) -> None:  # type: ignore[no-untyped-def]
    p, _ = hooked

    class Broken:
        name = "broken"

        def __call__(self, e: object) -> None:
            raise RuntimeError("enforcer failed after the events were queued")

    p.enforcers.append(Broken())
    with pytest.raises(RuntimeError):
        p.process(post("p1", "hello"))
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(DomainEventRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(DecisionRow)).scalar_one() == 0


def test_failures_back_off_then_dead_letter_and_replay_delivers(engine, hooked, receiver, clock) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    p.process(post("p1", "hello"))  # one event: decision.made (nothing else changed)
    receiver.statuses = [500, 503, 500]
    assert dispatcher.run_once()["retry"] == 1
    [(row, _)] = list_deliveries(engine, "pending")
    wait = naive(row.next_attempt_at) - naive(clock.now)
    assert timedelta(seconds=10) <= wait <= timedelta(seconds=11)  # backoff, 10% jitter at most
    assert dispatcher.run_once() == {"delivered": 0, "retry": 0, "dead": 0}  # not due yet
    clock.advance(seconds=11)
    assert dispatcher.run_once()["retry"] == 1
    clock.advance(seconds=22)
    assert dispatcher.run_once()["dead"] == 1
    [(dead, ev)] = list_deliveries(engine, "dead")
    assert (dead.attempts, dead.last_error) == (3, "RetryLater: HTTP 500")
    assert replay(engine, keys=[ev.key], now=clock.now) == 1
    assert dispatcher.run_once()["delivered"] == 1
    assert len(receiver.requests) == 4
    assert {h[DELIVERY_HEADER] for h, _ in receiver.requests} == {ev.key}  # one idempotency key


def test_a_receiver_that_refuses_the_body_dead_letters_at_once(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    p.process(post("p1", "hello"))
    receiver.statuses = [422]
    assert dispatcher.run_once() == {"delivered": 0, "retry": 0, "dead": 1}
    [(dead, _)] = list_deliveries(engine, "dead")
    assert dead.last_error == "HTTP 422"


def test_a_destination_that_was_down_gets_every_event_once_it_is_back(engine, clock) -> None:  # type: ignore[no-untyped-def]
    down = Receiver()
    url = down.url
    down.server.shutdown()
    down.server.server_close()  # connection refused from now on
    dispatcher = Dispatcher(engine, [WebhookSink("platform", url, SECRET, timeout=2)], clock=clock,
                            retry=RetryPolicy(max_attempts=20, backoff=1, backoff_max=60))
    p = full_pipeline(engine, clock)
    for i in range(3):
        p.process(post(f"p{i}", f"they are vermin {i} [hate=0.99]", author="u9"))
    pending = len(list_deliveries(engine, "pending", limit=1000))
    assert pending >= 9  # decisions, states, strikes, penalties
    for _ in range(3):
        assert dispatcher.run_once()["delivered"] == 0
        clock.advance(minutes=2)
    port = int(url.split(":")[2].split("/")[0])
    again = _receiver_on(port)
    try:
        while dispatcher.run_once()["delivered"]:
            pass
        clock.advance(minutes=2)
        while dispatcher.run_once()["delivered"]:
            pass
        keys = [h[DELIVERY_HEADER] for h, _ in again.requests]
        assert len(keys) == len(set(keys)) == pending
        assert {"account.penalty_imposed", "strike.added", "decision.made"} <= {
            e["type"] for e in again.events()}
    finally:
        again.server.shutdown()


def _receiver_on(port: int) -> Receiver:
    r = Receiver.__new__(Receiver)
    r.requests, r.statuses = [], []
    recv = r

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recv.requests.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    r.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    r.url = f"http://127.0.0.1:{port}/hooks/tidebreak"
    threading.Thread(target=r.server.serve_forever, daemon=True).start()
    return r


def test_two_dispatchers_share_the_outbox_without_sending_twice(engine, hooked, receiver, clock) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    p.process_batch([post(f"p{i}", f"post {i}") for i in range(12)])
    other = Dispatcher(engine, list(dispatcher.sinks.values()), clock=clock)
    threads = [threading.Thread(target=d.run_once) for d in (dispatcher, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [h[DELIVERY_HEADER] for h, _ in receiver.requests]
    assert len(keys) == len(set(keys)) == 12


def test_account_penalties_imposed_and_lifted_reach_the_platform(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    for i in range(3):
        p.process(post(f"h{i}", f"they are vermin {i} [hate=0.99]", author="troll"))
    p.decide_by_human("h2", reviewer="rev", actions=[], category="hate",
                      ground="CS 1.1: not hate on a second look", key="task:h2")
    dispatcher.run_once()
    imposed = receiver.events("account.penalty_imposed")
    assert [e["data"]["penalty"] for e in imposed] == ["warning", "limited", "suspended"]
    assert all(e["subject"] == "account:troll" and e["data"]["rule"] for e in imposed)
    lifted = receiver.events("account.penalty_lifted")
    assert [e["data"]["penalty"] for e in lifted] == ["suspended"]
    [revoked] = receiver.events("strike.revoked")
    assert revoked["data"]["content_id"] == "h2"
    [decided] = receiver.events("review.task_decided") or [None]
    assert decided is None  # nothing was in review: no task was decided


def test_review_tasks_opened_and_decided(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    p.process(post("g1", "grey zone [hate=0.7]"))
    p.decide_by_human("g1", reviewer="rev", actions=[Action(ActionType.REMOVE)],
                      category="hate", ground="CS 1.1", key="task:g1")
    dispatcher.run_once()
    [opened] = receiver.events("review.task_opened")
    assert opened["subject"] == "g1" and opened["data"]["queue"]
    [decided] = receiver.events("review.task_decided")
    assert decided["data"]["decision"]["action"] == "remove"
    assert decided["data"]["reviewer"] == "rev"


def test_group_stage_changes_reach_the_platform(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    events = [post(f"q{i}", f"they are vermin {i} [hate=0.99]", author=f"a{i}", group="g_hate")
              for i in range(12)]
    p.process_batch(events)
    dispatcher.run_once()
    stages = receiver.events("group.stage_changed")
    assert stages and all(e["subject"] == "group:g_hate" for e in stages)
    assert stages[0]["data"]["from"] == "healthy" and stages[-1]["data"]["to"] != "healthy"


def test_a_sink_takes_only_the_types_it_chose(engine, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    sink = WebhookSink("crm", receiver.url, SECRET, parse_types("account.*"))
    dispatcher = Dispatcher(engine, [sink], clock=clock)
    p = full_pipeline(engine, clock)
    p.process(post("p1", "they are vermin [hate=0.99]"))
    dispatcher.run_once()
    assert {e["type"] for e in receiver.events()} == {"account.penalty_imposed"}
    with pytest.raises(ValueError, match="unknown event type 'acount.\\*'"):
        parse_types("acount.*")


def test_a_sink_added_later_can_be_given_the_past(engine, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    p = full_pipeline(engine, clock)
    p.process(post("p1", "hello"))
    dispatcher = Dispatcher(engine, [WebhookSink("late", receiver.url, SECRET)], clock=clock)
    assert dispatcher.run_once()["delivered"] == 0  # registered after the event
    assert replay_since(engine, "late", clock.now - timedelta(hours=1), now=clock.now) == 1
    assert replay_since(engine, "late", clock.now - timedelta(hours=1), now=clock.now) == 0
    assert dispatcher.run_once()["delivered"] == 1


def test_sinks_are_configured_from_the_environment(monkeypatch, tmp_path, receiver) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_SECRET", "s3cret")
    conf = tmp_path / "sinks.yaml"
    conf.write_text(f"- name: crm\n  url: {receiver.url}\n  secret_env: CRM_SECRET\n"
                    "  events: [group.*]\n")
    monkeypatch.setenv("TIDEBREAK_EVENT_SINKS", str(conf))
    settings = Settings(webhook_url=receiver.url, webhook_secret=SECRET)
    sinks = {s.name: s for s in tidebreak_event_sinks(settings, None)}
    assert sinks["webhook"].types is None and sinks["crm"].types == {"group.stage_changed"}
    conf.write_text(f"- name: crm\n  url: {receiver.url}\n  secret: inline-secret\n")
    with pytest.raises(SinkConfigError, match="secret_env must name"):
        tidebreak_event_sinks(settings, None)
    monkeypatch.delenv("TIDEBREAK_EVENT_SINKS")
    with pytest.raises(SinkConfigError, match="TIDEBREAK_WEBHOOK_SECRET is required"):
        tidebreak_event_sinks(Settings(webhook_url=receiver.url), None)


def test_operators_list_and_replay_dead_letters_from_the_cli(engine, hooked, receiver, clock, db_url) -> None:  # type: ignore[no-untyped-def]
    p, dispatcher = hooked
    p.process(post("p1", "hello"))
    receiver.statuses = [500] * 3
    for _ in range(3):
        dispatcher.run_once()
        clock.advance(minutes=5)
    runner = CliRunner()
    listed = runner.invoke(app, ["events", "list", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.splitlines()
    row = json.loads(line)
    assert (row["status"], row["sink"], row["type"]) == ("dead", "platform", "decision.made")
    replayed = runner.invoke(app, ["events", "replay", "--db", db_url])
    assert replayed.output.strip() == "1 delivery(ies) queued again"
    assert list_deliveries(engine, "dead") == []
    bad = runner.invoke(app, ["events", "list", "--status", "lost", "--db", db_url])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown status 'lost'")
    bad = runner.invoke(app, ["events", "replay", "--since", "yesterday", "--sink", "x",
                              "--db", db_url])
    assert bad.exit_code == 2 and "--since must look like" in bad.stderr


def test_the_example_platform_client_acts_once_per_event(engine, clock) -> None:  # type: ignore[no-untyped-def]
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "platform_client", Path(__file__).resolve().parents[1] / "examples" / "platform_client.py")
    assert spec and spec.loader
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    server = client.Receiver(SECRET, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tidebreak"
        dispatcher = Dispatcher(engine, [WebhookSink("platform", url, SECRET)], clock=clock)
        p = full_pipeline(engine, clock)
        p.process(post("p1", "they are vermin [hate=0.99]", author="u7"))
        dispatcher.run_once()
        assert server.actions == ["hide p1 from everyone but its author",
                                  "warning account u7 (no limits)"]
        replay_since(engine, "platform", clock.now - timedelta(hours=1))  # nothing new to queue
        # a redelivery of the same events (a replay after a receiver outage) changes nothing
        with Session(engine) as s, s.begin():
            from sqlalchemy import update

            from tidebreak.store.schema import EventDeliveryRow
            s.execute(update(EventDeliveryRow).values(status="pending", attempts=0,
                                                      next_attempt_at=clock.now))
        assert dispatcher.run_once()["delivered"] >= 2
        assert len(server.actions) == 2
        forged = WebhookSink("forged", url, "not-the-secret")
        assert Dispatcher(engine, [forged], clock=clock).run_once() == {
            "delivered": 0, "retry": 0, "dead": 0}  # registered after: nothing queued
        replay_since(engine, "forged", clock.now - timedelta(hours=1), now=clock.now)
        assert Dispatcher(engine, [forged], clock=clock).run_once()["dead"] >= 1  # 401
        assert len(server.actions) == 2
    finally:
        server.shutdown()


def test_events_reach_a_nats_subject_once_each(engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import nats

    from tidebreak.events.nats_sink import EVENTS_STREAM, NatsSink

    from .natsd import NatsServer, nats_available

    if nats_available():
        pytest.skip(nats_available())
    server = NatsServer(tmp_path / "js").start()
    sink = NatsSink(server.url, "tidebreak-events")
    try:
        dispatcher = Dispatcher(engine, [sink], clock=clock)
        p = full_pipeline(engine, clock)
        p.process(post("p1", "they are vermin [hate=0.99]", author="u3"))
        sent = dispatcher.run_once()["delivered"]
        assert sent >= 3
        # a redelivery (say, the dispatcher died before recording success) is dropped by
        # JetStream's duplicate window: the event key is the message id
        [(row, ev)] = [(d, e) for d, e in list_deliveries(engine, "delivered")
                       if e.type == "decision.made"]
        sink.deliver(to_event(ev))

        async def read() -> list[dict]:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            info = await js.stream_info(EVENTS_STREAM)
            sub = await js.pull_subscribe("tidebreak-events.>", durable="test", stream=EVENTS_STREAM)
            msgs = await sub.fetch(info.state.messages, timeout=5)
            await nc.close()
            return [json.loads(m.data) | {"subject_": m.subject} for m in msgs]

        got = asyncio.run(read())
        assert len(got) == sent
        made = [m for m in got if m["type"] == "decision.made"]
        assert len(made) == 1 and made[0]["subject_"] == "tidebreak-events.decision.made"
        assert {"account.penalty_imposed", "strike.added"} <= {m["type"] for m in got}
    finally:
        if sink._producer is not None:
            sink._producer.close()
        server.stop()
    with pytest.raises(ValueError, match="overlaps the workers' subject"):
        NatsSink(server.url, "tidebreak.domain")


def test_fact_check_labels_and_appeal_outcomes_reach_the_platform(engine, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.detect.factcheck import FactCheckDetector
    from tidebreak.factcheck.index import ClaimIndex
    from tidebreak.review.appeals import decide_appeal, file_appeal
    from tidebreak.review.leases import claim

    from .test_factcheck_index import CLAIMS

    dispatcher = Dispatcher(engine, [WebhookSink("platform", receiver.url, SECRET)], clock=clock)
    p = full_pipeline(engine, clock)
    p.detectors.append(FactCheckDetector(index=ClaimIndex(CLAIMS)))
    d = p.process(post("f1", "the new 5G towers are what's spreading covid, wake up")).decision
    assert d.rules == ["misinfo-false-label"]
    p.process(post("r1", "they are vermin [hate=0.99]", author="u5"))
    with Session(engine, expire_on_commit=False) as s, s.begin():
        appeal = file_appeal(s, tenant="default", content_id="r1", appellant="u5",
                             appellant_role="author", statement="a quote", now=clock.now)
    task = claim(engine, tenant="default", queue="appeals", reviewer="senior", now=clock.now)
    assert task is not None and task.id == appeal.task_id
    decide_appeal(p, task_id=task.id, reviewer="senior", outcome="reverse",
                  clause_id="hate-remove", note="a quotation, not an attack")
    dispatcher.run_once()
    [label] = receiver.events("factcheck.label_applied")
    assert label["subject"] == "f1" and "fullfact.org/health/5g-coronavirus" in label["data"]["labels"][0]
    assert label["data"]["fact_checks"][0]["fact_check_url"].startswith("https://fullfact.org")
    [decided] = receiver.events("appeal.decided")
    assert decided["subject"] == "r1" and decided["data"]["status"] == "reversed"


def test_upgrading_keeps_webhooks_that_were_waiting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The decision-only outbox (before migration 0012) becomes domain events: nothing queued
    is lost, nothing already delivered is sent again."""
    from sqlalchemy import text

    from tidebreak.store.db import make_engine, migrate
    from tidebreak.store.schema import EventDeliveryRow

    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    migrate(engine, "0006_scale")
    body = json.dumps({"type": "decision", "tenant": "default", "event_id": "p1",
                       "content_id": "p1", "decision": {"decision_id": "d1", "action": "remove"}})
    with engine.begin() as c:
        for decision, status in (("d1", "pending"), ("d0", "delivered")):
            c.execute(text("INSERT INTO webhook_outbox (tenant, decision_id, event_id, content_id,"
                           " url, body, status, attempts, next_attempt_at, created_at) VALUES "
                           "('default', :d, 'p1', 'p1', 'http://x', :b, :s, 0, "
                           "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"),
                      {"d": decision, "b": body, "s": status})
    migrate(engine, "heads")
    with Session(engine) as s:
        [ev] = s.execute(select(DomainEventRow)).scalars().all()
        assert (ev.key, ev.type, ev.subject) == ("decision:d1", "decision.made", "p1")
        assert ev.payload["decision"]["action"] == "remove" and "type" not in ev.payload
        [d] = s.execute(select(EventDeliveryRow)).scalars().all()
        assert (d.sink, d.status, d.event_id) == ("webhook", "pending", ev.id)
    engine.dispose()
