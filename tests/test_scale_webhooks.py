"""Decision webhooks on SQLite and PostgreSQL: outbox written with the decision, HMAC-signed
delivery to a real HTTP receiver on loopback, backoff, dead letters, replay, and the CLI."""

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
from tidebreak.scale.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SenderConfig,
    WebhookEnforcer,
    WebhookSender,
    list_outbox,
    replay,
    verify_signature,
)
from tidebreak.store.schema import DecisionRow, WebhookOutboxRow

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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def hooked(engine, clock, receiver):  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.enforcers.append(WebhookEnforcer(receiver.url))
    sender = WebhookSender(engine, SenderConfig(SECRET, max_attempts=3, backoff=10, timeout=5),
                           clock=clock)
    return p, sender


def naive(dt: datetime) -> datetime:  # SQLite hands back naive UTC, PostgreSQL aware
    return dt.replace(tzinfo=None)


def test_each_decision_is_delivered_signed_once(engine, hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    p, sender = hooked
    d = p.process(post("p1", "they are vermin [hate=0.99]")).decision
    assert sender.run_once() == {"delivered": 1, "retry": 0, "dead": 0}
    assert sender.run_once() == {"delivered": 0, "retry": 0, "dead": 0}
    [(headers, body)] = receiver.requests
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
    assert not verify_signature("another-secret", body, headers[SIGNATURE_HEADER])
    assert not verify_signature(SECRET, body.replace(b"remove", b"none__"), headers[SIGNATURE_HEADER])
    sent = json.loads(body)
    assert sent["decision"]["decision_id"] == d.id and sent["decision"]["action"] == "remove"
    assert sent["content_state"]["state"] == "removed" and sent["event_id"] == "p1"
    [row] = list_outbox(engine, "delivered")
    assert headers[DELIVERY_HEADER] == str(row.id) and row.attempts == 1


def test_a_decision_that_rolls_back_leaves_no_webhook(engine, hooked) -> None:  # type: ignore[no-untyped-def]
    p, _ = hooked

    class Broken:
        name = "broken"

        def __call__(self, e: object) -> None:
            raise RuntimeError("enforcer failed after the webhook was queued")

    p.enforcers.append(Broken())
    with pytest.raises(RuntimeError):
        p.process(post("p1", "hello"))
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(WebhookOutboxRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(DecisionRow)).scalar_one() == 0


def test_failures_back_off_then_dead_letter_and_replay_delivers(engine, hooked, receiver, clock) -> None:  # type: ignore[no-untyped-def]
    p, sender = hooked
    p.process(post("p1", "hello"))
    receiver.statuses = [500, 503, 500]
    assert sender.run_once()["retry"] == 1
    [row] = list_outbox(engine, "pending")
    wait = naive(row.next_attempt_at) - naive(clock.now)
    assert timedelta(seconds=10) <= wait <= timedelta(seconds=11)  # backoff, 10% jitter at most
    assert sender.run_once() == {"delivered": 0, "retry": 0, "dead": 0}  # not due yet
    clock.advance(seconds=11)
    assert sender.run_once()["retry"] == 1
    [row] = list_outbox(engine, "pending")
    assert timedelta(seconds=20) <= naive(row.next_attempt_at) - naive(clock.now) <= timedelta(seconds=22)
    clock.advance(seconds=22)
    assert sender.run_once()["dead"] == 1
    [dead] = list_outbox(engine, "dead")
    assert (dead.attempts, dead.last_error) == (3, "HTTP 500")
    assert replay(engine, [dead.id], now=clock.now) == 1
    assert sender.run_once()["delivered"] == 1
    assert len(receiver.requests) == 4
    assert {h[DELIVERY_HEADER] for h, _ in receiver.requests} == {str(dead.id)}  # one delivery id


def test_two_senders_share_the_outbox_without_sending_twice(engine, hooked, receiver, clock) -> None:  # type: ignore[no-untyped-def]
    p, sender = hooked
    p.process_batch([post(f"p{i}", f"post {i}") for i in range(12)])
    other = WebhookSender(engine, sender.cfg, clock=clock)
    threads = [threading.Thread(target=s.run_once) for s in (sender, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [h[DELIVERY_HEADER] for h, _ in receiver.requests]
    assert len(ids) == len(set(ids)) == 12


def test_operators_list_and_replay_dead_letters_from_the_cli(engine, hooked, receiver, clock, db_url) -> None:  # type: ignore[no-untyped-def]
    p, sender = hooked
    p.process(post("p1", "hello"))
    receiver.statuses = [500] * 3
    for _ in range(3):
        sender.run_once()
        clock.advance(minutes=5)
    runner = CliRunner()
    listed = runner.invoke(app, ["webhooks", "list", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.splitlines()
    assert json.loads(line)["status"] == "dead" and json.loads(line)["last_error"] == "HTTP 500"
    replayed = runner.invoke(app, ["webhooks", "replay", "--db", db_url])
    assert replayed.output.strip() == "1 webhook(s) queued again"
    assert list_outbox(engine, "dead") == []
    bad = runner.invoke(app, ["webhooks", "list", "--status", "lost", "--db", db_url])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown status 'lost'")
