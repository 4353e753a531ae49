"""The held-out check's shape, end to end: `tidebreak serve` (a real process, with the default
detectors and policy) connected to a fake Mastodon instance through the three environment
variables. The instance is tests/mastodon_fake.py: a fake built from the API as
docs.joinmastodon.org documents it, serving HTTP on loopback and sending signed webhooks as
Mastodon does. It is not Mastodon.

A badly signed webhook gets 401 and stores nothing; a benign status leaves the instance
untouched; five clearly hateful statuses from one account are removed, each reported to the
instance once, and the account is suspended there; a redelivered webhook files nothing twice;
an instance that was down gets its report once it is back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidebreak.auth import create_key
from tidebreak.store.db import open_store

from .mastodon_fake import FakeMastodon

SECRET = "e2e-webhook-secret"
HATEFUL = [
    "All immigrants are vermin and should be exterminated.",
    "Muslims are subhuman filth and need to be wiped out.",
    "Jews are parasites who deserve to die.",
    "Black people are animals, not humans. Get rid of them all.",
    "Gay people are disgusting degenerates who should be purged.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    fake = FakeMastodon().start()
    db = f"sqlite:///{tmp_path}/tidebreak.db"
    engine = open_store(db)
    key = create_key(engine, "auditor")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "TIDEBREAK_DATABASE_URL": db,
           "TIDEBREAK_MASTODON_URL": fake.url, "TIDEBREAK_MASTODON_TOKEN": fake.admin_token,
           "TIDEBREAK_MASTODON_WEBHOOK_SECRET": SECRET, "TIDEBREAK_MASTODON_RULES": "hate=1",
           "TIDEBREAK_WEBHOOK_BACKOFF": "0.5", "TIDEBREAK_LOG_LEVEL": "WARNING"}
    for name in ("TIDEBREAK_WEBHOOK_URL", "TIDEBREAK_EVENT_SINKS", "TIDEBREAK_NATS_URL"):
        env.pop(name, None)
    exe = Path(sys.executable).with_name("tidebreak")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"tidebreak serve exited: {proc.stdout.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 60, "tidebreak serve to start")
        fake.subscribe(f"{base}/v1/adapters/mastodon/webhook", SECRET)
        yield {"fake": fake, "base": base, "key": key, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        fake.stop()


def decision(world: dict[str, Any], status_id: str) -> dict[str, Any] | None:
    r = httpx.get(f"{world['base']}/v1/decisions/mastodon:status:{status_id}",
                  headers={"Authorization": f"Bearer {world['key']}"}, timeout=10)
    return r.json() if r.status_code == 200 else None


@pytest.mark.slow  # ~15 s: a real server process loading the default models
def test_a_mastodon_instance_connected_to_tidebreak_serve(world: dict[str, Any]) -> None:
    fake: FakeMastodon = world["fake"]
    sub = fake.subscriptions[0]
    hook_url = sub.url
    bad = fake.create_account("hater")  # account.created, sent as Mastodon would
    good = fake.create_account("gardener")
    fake.wait_webhooks()
    assert sub.responses == [200, 200]

    # a badly signed webhook: 401, nothing stored
    forged = fake.post_status(bad["id"], f"<p>{HATEFUL[0]}</p>", notify=False)
    for kw in ({"secret": "wrong"}, {"secret": None}):
        r = FakeMastodon.send_webhook(hook_url, event="status.created", obj=forged, **kw)  # type: ignore[arg-type]
        assert r.status_code == 401
    assert decision(world, forged["id"]) is None

    # a benign status: decided, and the instance is left alone
    benign = fake.post_status(good["id"], "<p>Lovely <b>tomatoes</b> from the garden this "
                                          "year!</p>")
    assert decision(world, benign["id"])["action"] == "none"  # type: ignore[index]

    # five clearly hateful statuses from one account
    hateful = [fake.post_status(bad["id"], f"<p>{text}</p>") for text in HATEFUL]
    assert sub.responses[-5:] == [200] * 5
    for st in hateful:
        d = decision(world, st["id"])
        assert d is not None and d["action"] == "remove", d
        assert d["content_state"]["state"] == "removed"

    def suspended() -> bool:
        return bool(fake.accounts[bad["id"]]["suspended"])

    wait_for(suspended, 20, "the account to be suspended on the instance")
    wait_for(lambda: len(fake.filed_reports()) == 5, 20, "five reports")
    reported = [s for r in fake.filed_reports() for s in r["status_ids"]]
    assert sorted(reported) == sorted(st["id"] for st in hateful)  # each once, no other
    assert all(r["target"] == bad["id"] for r in fake.filed_reports())
    assert all(r["category"] == "violation" and r["rule_ids"] == ["1"]
               for r in fake.filed_reports())
    actions = [(a["account_id"], a["type"]) for a in fake.actions]
    assert (bad["id"], "suspend") in actions and all(a == bad["id"] for a, _ in actions)
    assert not fake.accounts[good["id"]]["suspended"]
    # nothing ever touched the benign status or its author
    assert not any(benign["id"] in c.body.decode(errors="replace") or good["id"] in c.path
                   for c in fake.calls)

    # a redelivered webhook files nothing twice
    calls_before = len(fake.calls_to("POST", "/api/v1/"))
    r = FakeMastodon.send_webhook(hook_url, SECRET, "status.created", hateful[0])
    assert r.status_code == 200 and r.json()["results"][0]["duplicate"] is True
    time.sleep(1.5)  # more than the dispatcher's idle wait
    assert len(fake.filed_reports()) == 5
    assert len(fake.calls_to("POST", "/api/v1/")) == calls_before
    # the report.created webhooks of tidebreak's own reports came back and were ignored
    fake.wait_webhooks()
    assert all(code == 200 for code in sub.responses)

    # the instance goes down: the removal's report is retried and filed once it is back
    other = fake.create_account("other")
    fake.down("503")
    late = fake.post_status(other["id"], f"<p>{HATEFUL[2]}</p>")
    assert decision(world, late["id"])["action"] == "remove"  # type: ignore[index]
    wait_for(lambda: any(c.status == 503 and c.path == "/api/v1/reports" for c in fake.calls),
             10, "a failed attempt")
    fake.up()
    wait_for(lambda: any(late["id"] in r["status_ids"] for r in fake.filed_reports()), 20,
             "the report after the outage")
    time.sleep(1.0)
    assert sum(late["id"] in r["status_ids"] for r in fake.filed_reports()) == 1
