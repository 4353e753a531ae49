"""Throughput and peak memory of the harm classifier on 10,000 typical-length posts.

    .venv/bin/python bench/bench_classify.py [--n 10000] [--batch-size 256] [--threads N]

Posts are real test-split posts from ../shared/data/hate (Gab Hate Corpus and DynaHate, typical
social-media lengths), cycled to --n, so the length mix is realistic. Measures what `tidebreak
classify` does per batch (normalise, embed, heads). Prints posts/s and peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = Path(os.environ.get("TIDEBREAK_DATA_DIR", ROOT.parent / "shared" / "data")) / "hate"

FALLBACK = [
    "Just got back from the farmers market, the strawberries are incredible this year!",
    "Can anyone recommend a good plumber in the north end? Our sink has been leaking for days.",
    "I can't believe the council voted to close the library. Write to your representative.",
    "This album kills. Been on repeat all week.",
    "Honestly the refs were awful tonight, we deserved that win.",
]


def load_posts(n: int) -> list[str]:
    posts: list[str] = []
    csv.field_size_limit(10**8)
    ghc = DATA / "gab_hate_corpus" / "ghc_test.tsv"
    dyn = DATA / "dynahate" / "dynahate_v0.2.3_reconstructed.csv"
    if ghc.exists():
        with ghc.open(newline="", encoding="utf-8") as f:
            posts += [r["text"] for r in csv.DictReader(f, delimiter="\t")]
    if dyn.exists():
        with dyn.open(newline="", encoding="utf-8") as f:
            posts += [r["text"] for r in csv.DictReader(f) if r["split"] == "test"]
    posts = posts or FALLBACK
    return [posts[i % len(posts)] for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=256, help="texts per classify() call")
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    args = ap.parse_args()
    if args.threads:
        os.environ["TIDEBREAK_ORT_THREADS"] = str(args.threads)

    from tidebreak.detect.harm import get_classifier

    posts = load_posts(args.n)
    chars = sum(len(p) for p in posts) / len(posts)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    clf = get_classifier()
    clf.classify(posts[:32])  # warm-up
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    flagged = 0
    for i in range(0, len(posts), args.batch_size):
        for r in clf.classify(posts[i : i + args.batch_size]):
            flagged += bool(r["labels"])
    dt = time.perf_counter() - t0
    print(f"posts:            {len(posts)} (mean {chars:.0f} chars)")
    print(f"threads:          {clf.threads} (cpus available: {len(os.sched_getaffinity(0))})")
    print(f"load + warm-up:   {load_s:.2f} s")
    print(f"time:             {dt:.2f} s")
    print(f"throughput:       {len(posts) / dt:.0f} posts/s")
    print(f"latency/post:     {1000 * dt / len(posts):.2f} ms (batched)")
    print(f"flagged:          {flagged} ({100 * flagged / len(posts):.1f}%)")
    print(f"peak RSS:         {peak_rss_mb():.0f} MB (before loading the model: {rss0:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
