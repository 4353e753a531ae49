"""Time `tidebreak coordination detect` with default parameters (every pace) at scale, and
score it on the held-out generator (not run by the tests).

    .venv/bin/python bench/bench_coordination.py --size 1M                  # in memory + DuckDB
    .venv/bin/python bench/bench_coordination.py --size 10M --engine duckdb  # out of core
    .venv/bin/python bench/bench_coordination.py --size 100k --window 60     # one fixed window

Events come from the held-out generator (bench/coordination_heldout.py), built in shards of
independent populations (each shard's accounts and objects prefixed with its number, so the
shards are one bigger platform, not copies of one), written to JSONL once under --data (reused
by later runs), then read and detected as the CLI does, in a child process whose peak resident
memory is measured alone (generation is not counted). Prints, per engine: events, seconds to
read and detect, co-actions, groups, peak RSS, and F1 / hard negatives flagged against the
truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coordination_heldout import HeldOutParams, generate  # noqa: E402

# shards, accounts a shard, stories a day (x1500): about 0.34M events a 20k-account shard
SIZES = {"100k": (1, 2_500, 1), "1M": (3, 20_000, 4), "10M": (30, 20_000, 4)}


def _shard_events(shard: int, accounts: int, stories: int, seed: int):  # type: ignore[no-untyped-def]
    events, truth = generate(HeldOutParams(seed=seed + shard, accounts=accounts,
                                           stories_per_day=1500 * stories))
    pre = f"s{shard}-"

    def obj(otype: str, oid: str) -> str:
        if not oid:
            return oid
        return oid + f"/{pre}" if otype == "url" else pre + oid

    rows = ({"event_id": pre + e.event_id, "account_id": pre + e.account_id,
             "object_type": e.object_type.value, "object_id": obj(e.object_type.value,
                                                                  e.object_id),
             "text": e.text, "timestamp": e.timestamp} for e in events)
    truth = {"coordinated_accounts": [pre + a for a in truth["coordinated_accounts"]],
             "hard_negatives": {k: [pre + a for a in v]
                                for k, v in truth["hard_negatives"].items()},
             "groups": {pre + g: {**d, "accounts": [pre + a for a in d["accounts"]]}
                        for g, d in truth["groups"].items()}}
    return rows, truth


def build(size: str, data: Path, seed: int) -> tuple[Path, Path]:
    shards, accounts, stories = SIZES[size]
    path, tpath = data / f"heldout-{size}-{seed}.jsonl", data / f"heldout-{size}-{seed}.truth.json"
    if path.exists() and tpath.exists():
        return path, tpath
    data.mkdir(parents=True, exist_ok=True)
    truth: dict = {"coordinated_accounts": [], "hard_negatives": {}, "groups": {}}
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as f:
        for shard in range(shards):
            rows, t = _shard_events(shard, accounts, stories, seed)
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
            truth["coordinated_accounts"] += t["coordinated_accounts"]
            truth["groups"].update(t["groups"])
            for k, v in t["hard_negatives"].items():
                truth["hard_negatives"].setdefault(k, []).extend(v)
            print(f"  generated shard {shard + 1}/{shards}", file=sys.stderr, flush=True)
    tpath.write_text(json.dumps(truth), encoding="utf-8")
    tmp.rename(path)
    return path, tpath


def detect_child(path: Path, engine: str, window: float | None, out: Path) -> None:
    """Runs in the child: read, detect, write groups and figures."""
    from tidebreak.coordination.detect import DetectionParams, detect
    from tidebreak.coordination.events import EventReader, read_events
    from tidebreak.coordination.outofcore import OutOfCore, read_chunks

    params = DetectionParams(window=window)
    t0 = time.perf_counter()
    if engine == "duckdb":
        reader = EventReader(compact=True)
        with OutOfCore(params) as ooc, path.open("rb") as f:
            for chunk in read_chunks(f, "jsonl", reader):
                ooc.add(chunk)
            t1 = time.perf_counter()
            result = ooc.run()
        report = reader.report
    else:
        with path.open("rb") as f:
            events, report = read_events(f)
        t1 = time.perf_counter()
        result = detect(events, params)
    t2 = time.perf_counter()
    with out.open("w", encoding="utf-8") as f:
        json.dump({"events": report.accepted, "read_s": t1 - t0, "detect_s": t2 - t1,
                   "co_actions": result.stats["co_actions"],
                   "stage_seconds": result.stats.get("seconds", {}),
                   "groups": [g.to_output() | {"evidence": {}} for g in result.groups]}, f)


def run(size: str, engine: str, window: float | None, data: Path, seed: int) -> None:
    from tidebreak.coordination.evaluate import evaluate

    path, tpath = build(size, data, seed)
    out = data / f"result-{size}-{engine}.json"
    cmd = [sys.executable, __file__, "--child", str(path), "--engine", engine,
           "--out", str(out)] + (["--window", str(window)] if window is not None else [])
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not every child's
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"detection failed with status {child.returncode}")
    wall = time.perf_counter() - t0
    peak = usage.ru_maxrss
    res = json.loads(out.read_text(encoding="utf-8"))
    m = evaluate(res["groups"], json.loads(tpath.read_text(encoding="utf-8")))
    label = f"W={window:g}s" if window is not None else "default (every pace)"
    print(f"{size} {engine} {label}: {res['events']} events; read {res['read_s']:.0f}s, "
          f"detect {res['detect_s']:.0f}s, total {wall:.0f}s wall; {res['co_actions']} "
          f"co-actions, {len(res['groups'])} groups; peak RSS "
          f"{peak / 2**20:.2f} GiB; held-out F1 {m['f1']:.3f} "
          f"(P {m['precision']:.3f}, R {m['recall']:.3f}), hard negatives flagged "
          f"{100 * m['hard_negative_flagged_share']:.2f}%; cores {os.cpu_count()}", flush=True)
    if res.get("stage_seconds"):
        print(f"  stages (s): {res['stage_seconds']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="1M")
    ap.add_argument("--engine", choices=["memory", "duckdb", "both"], default="both")
    ap.add_argument("--window", type=float, default=None,
                    help="one fixed window (default: every pace)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/tidebreak-bench-coordination"))
    ap.add_argument("--seed", type=int, default=7001)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        detect_child(args.child, args.engine, args.window, args.out)
        return
    engines = ["memory", "duckdb"] if args.engine == "both" else [args.engine]
    for engine in engines:
        run(args.size, engine, args.window, args.data, args.seed)


if __name__ == "__main__":
    main()
