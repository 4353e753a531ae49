"""Time `tidebreak coordination detect` at W = 60 s on simulated events (not run by the tests).

    .venv/bin/python bench/bench_coordination.py            # 100k and 1M events
    .venv/bin/python bench/bench_coordination.py --sizes 100k

Events come from the planted-group simulator, scaled by its organic population (about 18 events
per account), written to JSONL, then read and detected as the CLI does. Prints, per size: events,
seconds to read and validate, seconds to detect (text clustering, pairs, edges, groups,
evidence), co-actions and groups, and the process's peak resident memory so far.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from tidebreak.coordination.detect import DetectionParams, detect
from tidebreak.coordination.events import read_events
from tidebreak.coordination.simulate import SimParams, simulate, write_events

SIZES = {"100k": 4_000, "1M": 55_000}  # organic accounts giving about that many events


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def run(label: str, organic: int, window: float) -> None:
    events, _ = simulate(SimParams(seed=0, organic_accounts=organic))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("w", encoding="utf-8") as f:
            write_events(events, f)
        del events
        t0 = time.perf_counter()
        with path.open("rb") as f:
            loaded, report = read_events(f)
        t1 = time.perf_counter()
        result = detect(loaded, DetectionParams(window=window))
        t2 = time.perf_counter()
    print(f"{label}: {report.accepted} events, W={window:g}s: read {t1 - t0:.1f}s, "
          f"detect {t2 - t1:.1f}s, total {t2 - t0:.1f}s; "
          f"{result.stats['co_actions']} co-actions, {result.stats['edges']} edges, "
          f"{len(result.groups)} groups; peak RSS {peak_rss_gib():.2f} GiB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--window", type=float, default=60.0)
    args = ap.parse_args()
    for label in args.sizes:
        run(label, SIZES[label], args.window)


if __name__ == "__main__":
    sys.exit(main())
