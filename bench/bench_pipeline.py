"""Pipeline benchmark on the embedded default (SQLite file, default detectors and policy).

Prints posts per second for batched ingest (as `tidebreak ingest` and `moderate` run) and
p50/p99 latency for one event at a time (as the HTTP API runs). Not a test: figures go in the
README with the command that made them:

    .venv/bin/python bench/bench_pipeline.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from prometheus_client import REGISTRY

from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.metrics import STAGES
from tidebreak.runtime import build_pipeline, bundled_data, open_store


def stage_seconds() -> dict[str, float]:
    return {s: REGISTRY.get_sample_value("tidebreak_stage_seconds_sum", {"stage": s}) or 0.0
            for s in STAGES}


def sample_posts(n: int, prefix: str) -> list[dict]:
    base = [json.loads(line) for line in bundled_data("sample_events.jsonl").open(encoding="utf-8")
            if line.strip()]
    base = [e for e in base if e.get("type", "content.create") == "content.create"]
    out = []
    for i in range(n):
        e = dict(base[i % len(base)])
        e["id"] = e["event_id"] = f"{prefix}-{i}"
        out.append(e)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="posts for the throughput run")
    ap.add_argument("--latency-n", type=int, default=500, help="posts for the latency run")
    args = ap.parse_args()
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        pipeline = build_pipeline(engine, settings)
        pipeline.process_batch([parse_event(e) for e in sample_posts(64, "warm")])

        events = [parse_event(e) for e in sample_posts(args.n, "tput")]
        before = stage_seconds()
        t0 = time.perf_counter()
        for i in range(0, len(events), 64):
            pipeline.process_batch(events[i:i + 64])
        wall = time.perf_counter() - t0
        tput = len(events) / wall
        spent = {k: v - before[k] for k, v in stage_seconds().items()}

        lat = []
        for e in sample_posts(args.latency_n, "lat"):
            t1 = time.perf_counter()
            pipeline.process(parse_event(e))
            lat.append((time.perf_counter() - t1) * 1000)
        lat.sort()
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"detectors: {', '.join(d.name for d in pipeline.detectors)}")
    print(f"batched ingest: {tput:.0f} posts/s over {args.n} posts (batches of 64)")
    # evidence is deferred (filled after the decision): its share here is 0 unless inline
    print("where the batched run's time went (tidebreak_stage_seconds), share of wall time, ms/post:")
    for name in STAGES:
        print(f"  {name:9s} {spent[name] / wall:6.1%}  {spent[name] * 1000 / len(events):7.2f}")
    print(f"one at a time: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {args.latency_n} posts")


if __name__ == "__main__":
    main()
