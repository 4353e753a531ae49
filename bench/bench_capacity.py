"""What one decision costs, part by part: the figures docs/capacity.md sizes machines from.

On the hate-heavy stream of bench_fastpath.py (DynaHate test posts from many authors, a third in
groups): each default detector's CPU per post (all cores it used), then the decide-enforce-record
path alone (the detectors' signals replayed, so only the pipeline's own work is timed) on SQLite
and on PostgreSQL: worker CPU per decision, PostgreSQL server CPU per decision (its processes'
CPU from /proc), statements and WAL bytes per decision, and how long each batch holds the
ledger's chain head (link + commit). Not a test:

    .venv/bin/python bench/bench_capacity.py [--n 3000] [--batch 64] [--pg URL]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent))
from bench_fastpath import DYNAHATE, stream  # noqa: E402

from tidebreak.config import Settings  # noqa: E402
from tidebreak.ingest import parse_event  # noqa: E402
from tidebreak.ledger import chain  # noqa: E402
from tidebreak.model import Item, Signal  # noqa: E402
from tidebreak.runtime import build_pipeline, open_store  # noqa: E402
from tidebreak.text import normalise  # noqa: E402

PG = os.environ.get("TIDEBREAK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Replay:
    """A detector that returns the signals another one gave (the models are timed apart)."""

    def __init__(self, name: str, version: str, signals: dict[str, list[Signal]]) -> None:
        self.name, self.version, self.signals = name, version, signals

    def detect(self, items: list[Item]) -> list[list[Signal]]:
        return [[s for s in self.signals[it.content.id] if s.detector == self.name]
                for it in items]


def postgres_cpu() -> float:
    """CPU seconds used so far by every postgres process on this machine."""
    total = 0
    for d in glob.glob("/proc/[0-9]*"):
        try:
            stat = Path(d, "stat").read_text()
        except OSError:
            continue
        if stat.split("(", 1)[1].split(")", 1)[0].startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def record_only(url: str, events: list, replays: list[Replay], batch: int) -> dict[str, float]:
    engine = open_store(url)
    pipeline = build_pipeline(engine, Settings.from_env(), detector_names=["bank"])
    pipeline.detectors = list(replays)  # type: ignore[assignment]
    statements = [0]
    held: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a: object) -> None:
        statements[0] += 1

    def link_timed(s: Session) -> None:
        if chain.tx_cache(s, "ledger").get("pending"):
            s.flush()
            s.info["bench_head_from"] = time.perf_counter()
        chain._link_pending(s)

    def committed(s: Session) -> None:
        t = s.info.pop("bench_head_from", None)
        if t is not None:
            held.append(time.perf_counter() - t)

    event.remove(Session, "before_commit", chain._link_pending)
    event.listen(Session, "before_commit", link_timed)
    event.listen(Session, "after_commit", committed)
    pg = engine.dialect.name == "postgresql"
    try:
        if pg:
            with engine.connect() as c:
                wal0 = c.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        server0, cpu0, t0 = postgres_cpu(), time.process_time(), time.perf_counter()
        for i in range(0, len(events), batch):
            pipeline.process_batch(events[i:i + batch])
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server = postgres_cpu() - server0
        wal = 0.0
        if pg:
            with engine.connect() as c:
                wal = float(c.execute(text(
                    f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal0}')")).scalar())
    finally:
        event.remove(Session, "before_commit", link_timed)
        event.remove(Session, "after_commit", committed)
        event.listen(Session, "before_commit", chain._link_pending)
        engine.dispose()
    n = len(events)
    held.sort()
    return {"decisions_per_s": n / wall, "worker_ms": cpu * 1000 / n,
            "server_ms": server * 1000 / n if pg else float("nan"),
            "statements": statements[0] / n, "wal_kib": wal / n / 1024,
            "head_ms_median": held[len(held) // 2] * 1000 if held else float("nan"),
            "head_ms_p90": held[int(len(held) * 0.9)] * 1000 if held else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DYNAHATE)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pg", default=PG, help="PostgreSQL URL ('' to skip)")
    args = ap.parse_args()
    posts, hateful = stream(args.data, args.n, 997)
    events = [parse_event(p) for p in posts]
    print(f"{len(posts)} DynaHate test posts ({hateful} hateful), batches of {args.batch}")

    tmp = Path(tempfile.mkdtemp(prefix="tb-capacity-"))
    pipeline = build_pipeline(open_store(f"sqlite:///{tmp}/detect.db"), Settings.from_env())
    items = [Item(e.content, normalise(e.content.text)) for e in events]
    signals: dict[str, list[Signal]] = {it.content.id: [] for it in items}
    for det in pipeline.detectors:
        det.detect(items[:64])  # warm
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(0, len(items), args.batch):
            for it, sigs in zip(items[i:i + args.batch], det.detect(items[i:i + args.batch])):
                signals[it.content.id].extend(sigs)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        print(f"detector {det.name:14s} {cpu * 1000 / len(items):5.2f} core-ms/post "
              f"({wall * 1000 / len(items):.2f} ms/post wall)")
    replays = [Replay(d.name, d.version, signals) for d in pipeline.detectors]

    targets = [("SQLite", f"sqlite:///{tmp}/record.db")]
    schema = None
    if args.pg:
        schema = f"tb_capacity_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg else "?"
        targets.append(("PostgreSQL", f"{args.pg}{sep}options=-csearch_path%3D{schema}"))
    try:
        for name, url in targets:
            r = record_only(url, events, replays, args.batch)
            print(f"record on {name}: {r['decisions_per_s']:.0f} decisions/s, worker "
                  f"{r['worker_ms']:.2f} core-ms/decision, {r['statements']:.1f} statements/"
                  f"decision, ledger head held {r['head_ms_median']:.1f} ms per batch (p90 "
                  f"{r['head_ms_p90']:.1f})"
                  + (f", server {r['server_ms']:.2f} core-ms/decision, WAL "
                     f"{r['wal_kib']:.1f} KiB/decision" if name == "PostgreSQL" else ""))
    finally:
        if schema:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
