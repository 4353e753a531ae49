"""Fact-check matcher speed: indexing 10k claims, and queries/s against a prebuilt index.

    .venv/bin/python bench/bench_factcheck.py [--claims 10000] [--queries 1000] [--with-titles]

Claims and queries are CLEF CheckThat! 2020 texts when ../shared/data/claims is there (verified
claims; train+dev tweets as queries), else synthetic sentences. Claims are indexed by their text
only (as ClaimReview records without a headline) unless --with-titles, which encodes headlines
too (twice the encoding). Targets (issue 4, on 2 cores): indexing < 60 s, >= 200 queries/s.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "claims" / "clef2020-task2-en"


def texts(n_claims: int, n_queries: int):
    if (DATA / "verified_claims.docs.tsv").is_file():
        def rows(p):
            with open(p, newline="", encoding="utf-8") as f:
                return list(csv.reader(f, delimiter="\t"))[1:]
        claims = [(r[0], r[1], r[2]) for r in rows(DATA / "verified_claims.docs.tsv")][:n_claims]
        qs = [r[1] for s in ("train", "dev") for r in rows(DATA / s / "tweets.queries.tsv")]
        return claims, (qs * (n_queries // max(1, len(qs)) + 1))[:n_queries]
    rnd = random.Random(0)
    words = ("vote ballot mail vaccine virus mask election poll count fraud text phone law state "
             "city doctor study shows claims people million percent police border tax").split()
    claims = [(str(i), " ".join(rnd.choices(words, k=12)), None) for i in range(n_claims)]
    return claims, [" ".join(rnd.choices(words, k=30)) for _ in range(n_queries)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--with-titles", action="store_true")
    args = ap.parse_args()

    from tidebreak.embed import get_encoder
    from tidebreak.factcheck.claimreview import FactCheck
    from tidebreak.factcheck.index import ClaimIndex

    claims, queries = texts(args.claims, args.queries)
    fcs = [FactCheck(cid, text, title=(title if args.with_titles else None))
           for cid, text, title in claims]
    enc = get_encoder()
    enc.encode(["warm up"])
    print(f"encoder threads: {enc.threads}")

    t0 = time.perf_counter()
    idx = ClaimIndex(fcs, encoder=enc)
    t_index = time.perf_counter() - t0
    print(f"index {len(idx)} claims: {t_index:.1f} s (encoding {idx.encode_seconds:.1f} s)"
          f"  target < 60 s")

    with tempfile.TemporaryDirectory() as d:
        idx.save(d)
        t0 = time.perf_counter()
        idx = ClaimIndex.load(d, encoder=enc)
        print(f"load prebuilt index: {time.perf_counter() - t0:.2f} s")

    idx.search(queries[:32], k=5)
    t0 = time.perf_counter()
    for i in range(0, len(queries), 256):
        idx.search(queries[i : i + 256], k=5)
    dt = time.perf_counter() - t0
    print(f"match {len(queries)} queries, k=5, batches of 256: {dt:.1f} s = "
          f"{len(queries) / dt:.0f} queries/s  target >= 200")


if __name__ == "__main__":
    main()
