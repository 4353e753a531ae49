"""Worker throughput on PostgreSQL: events per second for 1 and 2 `tidebreak worker` processes
sharing one JetStream consumer. Each run gets a fresh PostgreSQL schema and a private
nats-server (own port and store; never the shared one on 4222). Not a test: the figures go in
the README with the command that made them:

    .venv/bin/python bench/bench_workers.py [--events 3000] [--workers 1 2] [--pg URL]

The clock starts when the workers are connected and the events are published, and stops when
the last decision is committed. Detectors: TIDEBREAK_DETECTORS (default here: bank).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from tidebreak.scale.broker import BrokerConfig, Producer, event_message, msg_id
from tidebreak.store.db import open_store
from tidebreak.store.schema import DecisionRow

PG = os.environ.get("TIDEBREAK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(n_workers: int, n_events: int, detectors: str,
        texts: list[str] | None = None, pin: bool = False) -> dict[str, float]:
    """`texts`: what the events say (cycled); default, short benign posts. `pin`: worker i runs
    on core i only (taskset), its models with one thread: a worker per core, as a platform
    sizes them, so adding workers adds cores and the figure shows what else limits scaling."""
    schema = f"tb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}"
    store = Path(tempfile.mkdtemp(prefix="tb-bench-js-"))
    port = free_port()
    nats = subprocess.Popen([shutil.which("nats-server") or "/usr/sbin/nats-server", "-a",
                             "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        engine = open_store(db)
        time.sleep(0.5)
        cfg = BrokerConfig(url=f"nats://127.0.0.1:{port}")
        env = {**os.environ, "TIDEBREAK_DETECTORS": detectors, "TIDEBREAK_LOG_FORMAT": "json"}
        logs = store / "workers.log"
        for i in range(n_workers):
            with logs.open("ab") as f:
                cores = ["taskset", "-c", str(i % (os.cpu_count() or 1))] if pin else []
                workers.append(subprocess.Popen(
                    [*cores, sys.executable, "-c", "from tidebreak.cli import main; main()", "worker",
                     "--db", db, "--nats", cfg.url, "--batch", "100", "--name", f"w{i}"],
                    env=env, stdout=f, stderr=f))
        deadline = time.monotonic() + 120
        while logs.read_text().count('"worker started"') < n_workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not start:\n{logs.read_text()[-2000:]}")
            time.sleep(0.2)
        producer = Producer(cfg)
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        for start in range(0, n_events, 1000):
            producer.publish_many(cfg.events_subject, [
                (msg_id("default", f"b{i}"), event_message("default", {
                    "id": f"b{i}", "author": f"u{i % 500}",
                    "text": texts[i % len(texts)] if texts else
                    f"post {i}: photos from the allotment, day {i % 97}"}, now))
                for i in range(start, min(n_events, start + 1000))])
        published = time.perf_counter() - t0
        producer.close()
        while True:
            with Session(engine) as s:
                done = s.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
            if done >= n_events:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        engine.dispose()
        return {"workers": n_workers, "events": n_events, "seconds": round(wall, 1),
                "events_per_s": round(n_events / wall, 1), "publish_s": round(published, 2)}
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(30)
        nats.terminate()
        nats.wait(10)
        shutil.rmtree(store, ignore_errors=True)
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--detectors", default=os.environ.get("TIDEBREAK_DETECTORS", "bank"))
    ap.add_argument("--pin", action="store_true", help="one core per worker (taskset)")
    args = ap.parse_args()
    for n in args.workers:
        print(json.dumps(run(n, args.events, args.detectors, pin=args.pin)), flush=True)


if __name__ == "__main__":
    main()
