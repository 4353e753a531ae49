"""Crash test: 10,000 events through 2 worker processes on PostgreSQL; one is killed with SIGKILL
mid-stream and restarted. Afterwards every event has exactly one decision and the ledger chain
is whole, with one decision entry per event.

Runs the real `tidebreak worker` command (bank detector only: no model loading). PostgreSQL runs
with synchronous_commit=off for this test's connections: the test kills a worker, not the
database, and this saves a WAL flush per event on a shared machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.scale.broker import (
    DURABLE,
    BrokerConfig,
    Producer,
    connect,
    event_message,
    msg_id,
)
from tidebreak.detect.bank_store import add_entry
from tidebreak.store.db import open_store
from tidebreak.store.schema import DecisionRow, EventRow, LedgerEntryRow

from .natsd import nats_server, wait_until  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N = 10_000
BANKED = ("Breaking: the city water supply has been poisoned tonight, do not drink tap water "
          "and share this with everyone you know")


def worker_cmd(db: str, nats_url: str, name: str) -> list[str]:
    return [sys.executable, "-c", "from tidebreak.cli import main; main()", "worker",
            "--db", db, "--nats", nats_url, "--batch", "200", "--name", name]


def start_worker(db: str, nats_url: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TIDEBREAK_DETECTORS": "bank", "TIDEBREAK_ACK_WAIT": "3",
           "TIDEBREAK_LOG_FORMAT": "json"}
    with log.open("ab") as f:
        return subprocess.Popen(worker_cmd(db, nats_url, name), env=env, stdout=f, stderr=f)


def unacked(cfg: BrokerConfig) -> int:
    async def go() -> int:
        nc = await connect(cfg, "crash-test-probe")
        try:
            info = await nc.jetstream().consumer_info(cfg.stream, DURABLE)
            return int(info.num_ack_pending or 0)
        finally:
            await nc.close()

    return asyncio.run(go())


def test_killing_a_worker_mid_stream_loses_and_repeats_nothing(pg_url, nats_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = pg_url.replace("options=", "options=-csynchronous_commit%3Doff%20", 1)
    engine = open_store(db)
    with Session(engine) as s, s.begin():  # every 50th post copies banked content: removed
        add_entry(s, tenant="default", text=BANKED, bank="debunked", category="misinformation",
                  added_by="reviewer:r1", now=datetime.now(timezone.utc))
    cfg = BrokerConfig(url=nats_server.url)
    producer = Producer(cfg)
    now = datetime.now(timezone.utc)
    events = [{"id": f"c{i:05d}", "author": f"u{i % 300}",
               "text": BANKED if i % 50 == 0 else f"post {i}: photos from the allotment, day {i % 97}"}
              for i in range(N)]
    for start in range(0, N, 1000):
        producer.publish_many(cfg.events_subject,
                              [(msg_id("default", e["id"]), event_message("default", e, now))
                               for e in events[start:start + 1000]])
    producer.close()

    def decided() -> int:
        with Session(engine) as s:
            return s.execute(select(func.count()).select_from(DecisionRow)).scalar_one()

    logs = tmp_path / "workers.log"
    a = start_worker(db, nats_server.url, "a", logs)
    b = start_worker(db, nats_server.url, "b", logs)
    try:
        wait_until(lambda: decided() >= 1500, 180, "1,500 decisions before the kill")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        in_flight = unacked(cfg)  # the killed worker's batch (and b's) taken but not acked
        at_kill = decided()
        time.sleep(1)
        a = start_worker(db, nats_server.url, "a-restarted", logs)
        wait_until(lambda: decided() >= N, 600, f"{N} decisions")
        time.sleep(4)  # past ack_wait (3 s): any straggling redelivery would show up now
    finally:
        for p in (a, b):
            p.send_signal(signal.SIGTERM)
        for p in (a, b):
            p.wait(30)

    assert in_flight > 0 and at_kill < N, "the kill must catch work in flight"
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(EventRow)).scalar_one() == N
        per_event = Counter(s.execute(select(DecisionRow.event_id)).scalars().all())
        assert set(per_event) == {e["id"] for e in events}
        assert max(per_event.values()) == 1
        removed = s.execute(select(func.count()).select_from(DecisionRow)
                            .where(DecisionRow.action == "remove")).scalar_one()
        assert removed == N // 50
        checked, broken = ledger.verify(s)
        assert broken is None, str(broken)
        decision_entries = [json.loads(p)["event_id"] for p in s.execute(
            select(LedgerEntryRow.payload).where(LedgerEntryRow.kind == "decision")).scalars()]
        assert len(decision_entries) == len(set(decision_entries)) == N
        assert checked >= N
    exits = [json.loads(line) for line in logs.read_text().splitlines()
             if line.startswith("{") and '"worker stopped"' in line]
    assert {e["worker"] for e in exits} == {"a-restarted", "b"}  # the killed one never said bye
