"""Distribution endpoint benchmark on the embedded default (SQLite file).

Fills a store with items, authors (some penalised), groups (some at restricted stages) and held
circuit breakers, then asks POST /v1/distribution for 500 random content ids per call (plus 50
accounts and 20 groups) through the real FastAPI app, in process, and prints p50/p99 latency;
also the library call alone. Not a test: figures go in the README with the command:

    .venv/bin/python bench/bench_distribution.py [--items 50000] [--calls 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.enforce.distribution import reach
from tidebreak.runtime import build_pipeline, open_store
from tidebreak.store.schema import (ActorRow, BreakerRow, ContentRow, GroupRow, GroupStandingRow,
                                    PenaltyRow)

NOW = datetime.now(timezone.utc)
STATES = ["visible"] * 80 + ["reduced"] * 6 + ["labelled"] * 5 + ["removed"] * 5 + \
    ["pending_review"] * 4


def fill(engine, items: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    actors, groups = max(items // 20, 10), max(items // 250, 5)
    with Session(engine) as s, s.begin():
        s.add_all(ActorRow(tenant="default", id=f"a{i}", status="active", first_seen=NOW, meta={})
                  for i in range(actors))
        s.add_all(GroupRow(tenant="default", id=f"g{i}", stage="healthy", health=1.0,
                           first_seen=NOW) for i in range(groups))
        for i in range(0, groups, 10):  # one group in ten is restricted
            s.add(GroupStandingRow(tenant="default", group_id=f"g{i}", stage="reduced", reach=0.3,
                                   recommendable=False, since=NOW))
        for i in range(0, actors, 25):  # one author in 25 is limited or suspended
            s.add(PenaltyRow(tenant="default", actor_id=f"a{i}",
                             penalty="suspended" if i % 50 else "limited",
                             limits=["group_posting"], reach=0.0 if i % 50 else 1.0,
                             starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=6),
                             rule="ladder", ground="bench", notice="", strike_ids=[], reasons={},
                             policy_version="bench", decided_by="automation"))
        s.add_all(ContentRow(tenant="default", id=f"c{i}", kind="post", text="t", norm_text="t",
                             norm_key="t", author_id=f"a{rng.randrange(actors)}",
                             group_id=f"g{rng.randrange(groups)}" if i % 3 == 0 else None,
                             urls=[], meta={}, created_at=NOW, updated_at=NOW, version=1,
                             state=(st := rng.choice(STATES)), reach=0.3 if st == "reduced" else 1.0,
                             labels=[], reports=0, views=0, shares=0) for i in range(items))
        s.add_all(BreakerRow(tenant="default", content_id=f"c{i}", cap=0.1, reasons={},
                             tripped_at=NOW) for i in range(0, items, 200))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--ids", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = open_store(url)
        t0 = time.perf_counter()
        fill(engine, args.items, rng)
        print(f"filled {args.items} items in {time.perf_counter() - t0:.1f} s")
        settings = Settings(database_url=url)
        app = create_app(engine, settings, lambda t: build_pipeline(engine, settings, tenant=t))
        client = TestClient(app)
        key = create_key(engine, "platform")
        headers = {"Authorization": f"Bearer {key}"}
        n_actors, n_groups = max(args.items // 20, 10), max(args.items // 250, 5)

        def body() -> dict:
            return {"content": [f"c{rng.randrange(args.items)}" for _ in range(args.ids)],
                    "accounts": [f"a{rng.randrange(n_actors)}" for _ in range(50)],
                    "groups": [f"g{rng.randrange(n_groups)}" for _ in range(20)]}

        client.post("/v1/distribution", headers=headers, json=body())  # warm up
        http, lib = [], []
        for _ in range(args.calls):
            b = body()
            t = time.perf_counter()
            r = client.post("/v1/distribution", headers=headers, json=b)
            http.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and len(r.json()["content"]) == len(set(b["content"]))
            t = time.perf_counter()
            with Session(engine) as s:
                reach(s, "default", NOW, **body())
            lib.append((time.perf_counter() - t) * 1000)
        print(f"POST /v1/distribution, {args.ids} content + 50 account + 20 group ids per call, "
              f"{args.calls} calls over {args.items} items (SQLite):")
        print(f"  HTTP (in-process FastAPI): p50 {statistics.median(http):.1f} ms, "
              f"p99 {pct(http, 0.99):.1f} ms")
        print(f"  library reach():          p50 {statistics.median(lib):.1f} ms, "
              f"p99 {pct(lib, 0.99):.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
