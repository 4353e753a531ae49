"""The fast path, in one run: what a decision costs beyond its models, on a hate-heavy stream.

Builds a stream of DynaHate test posts (about half hateful) from many authors, a third of them in
groups, and measures in the same run, on the same texts:

1. `tidebreak classify` (the harm model alone) and `tidebreak moderate` (every default detector,
   policy, enforcement, recording, ledger) as a user runs them: wall time of each command,
   model loading included; printed as moderate / classify throughput.
2. `tidebreak serve` with the default detectors on a fresh SQLite store, `--clients` concurrent
   clients each posting its share of the stream (POST /v1/content, decided inline) over a
   keep-alive connection of its own (bench_load.KeepAliveClient, so the clients take little of
   the cores they share with the server): p50/p99, throughput, 5xx; printed as API / classify
   throughput.
3. With `--workers`, `tidebreak worker` on PostgreSQL with the default detectors, 1 then 2
   workers sharing one JetStream consumer (bench_workers.py): printed as 2 / 1 workers.

It first prints how fast the machine runs the harm model itself (CPU-ms a text on one core): the
ratios hold across machines, the API's latencies in ms scale with it. After the API's figures it
prints the wait a closed loop of `--clients` would see if the server ran at `classify`'s own
rate (clients / classify throughput, by Little's law): no server can answer faster than that on
average, so a p99 bar in ms is met only on machines where it is well under the bar.

Not a test; the figures go in the README with the command that made them:

    .venv/bin/python bench/bench_fastpath.py [--n 3000] [--authors 997] [--clients 32] [--workers]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))
from bench_load import TIDEBREAK, KeepAliveClient, free_port, pct, start_server  # noqa: E402

DYNAHATE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "hate" / "dynahate"
            / "dynahate_v0.2.3_reconstructed.csv")


def stream(path: Path, n: int, authors: int) -> tuple[list[dict], int]:
    """The first `n` DynaHate test posts and how many are hateful, from `authors` authors in
    turn (so each writes about n / authors posts and repeat offenders collect strikes), every
    third post in one of 40 groups."""
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"][:n]
    out = []
    for i, r in enumerate(rows):
        a = i % authors
        post = {"id": f"dh-{i}", "text": r["text"].strip(), "author": f"u{a}"}
        if i % 3 == 0:
            post["group"] = f"g{a % 40}"
        out.append(post)
    return out, sum(r["label"] == "1" for r in rows)


def model_reference(texts: list[str], n: int = 400) -> tuple[float, float]:
    """How fast this machine runs the harm model itself: CPU-ms a text on one core (best of 3
    passes over the first `n` texts, one at a time, as the detector runs them) and their mean
    length in tokens. The ratios below hold across machines; the API's latencies in ms scale
    with this figure, so it says what machine a p99 was measured on."""
    import numpy as np
    from tokenizers import Tokenizer

    from tidebreak.detect.harm import default_model_dir
    from tidebreak.embed.runner import cpu_session

    model = default_model_dir()
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    sess = cpu_session(model / "harm.int8.onnx", 1)
    names = {i.name for i in sess.get_inputs()}
    feeds = []
    for enc in tok.encode_batch(texts[:n]):
        ids = np.asarray([enc.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids)}
        feeds.append({k: v for k, v in feed.items() if k in names})
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for feed in feeds:
            sess.run(None, feed)
        best = min(best, (time.process_time() - t0) / len(feeds))
    return best * 1000, float(np.mean([f["input_ids"].shape[1] for f in feeds]))


def timed(args: list[str], env: dict[str, str], stdin: Path) -> float:
    t0 = time.perf_counter()
    with stdin.open("rb") as f:
        subprocess.run(args, env=env, stdin=f, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


async def load(port: int, key: str, posts: list[dict], clients: int) -> tuple[list[float], dict]:
    """`clients` keep-alive connections, each posting its share of `posts` one after another."""
    lat: list[float] = []
    codes: dict[int, int] = {}
    shares = [posts[i::clients] for i in range(clients)]

    async def client(mine: list[dict]) -> None:
        c = KeepAliveClient("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
        try:
            for post in mine:
                t0 = time.perf_counter()
                try:
                    status = (await c.request("POST", "/v1/content", post))[0]
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    status = 0
                    await c.close()
                    c = KeepAliveClient("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
                lat.append(time.perf_counter() - t0)
                codes[status] = codes.get(status, 0) + 1
        finally:
            await c.close()

    await asyncio.gather(*(client(s) for s in shares))
    return lat, codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DYNAHATE)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--authors", type=int, default=997)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", action="store_true", help="also 1 vs 2 workers on PostgreSQL")
    args = ap.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"no DynaHate at {args.data} (pass --data)")
    posts, hateful = stream(args.data, args.n, args.authors)
    tmp = Path(tempfile.mkdtemp(prefix="tb-fastpath-"))
    src = tmp / "stream.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TIDEBREAK_DETECTORS", "TIDEBREAK_NATS_URL", "TIDEBREAK_DATABASE_URL")}
    print(f"stream: {len(posts)} DynaHate test posts from {len({p['author'] for p in posts})} "
          f"authors, {sum('group' in p for p in posts)} in groups, {hateful} hateful")

    from tidebreak.embed.int8 import int8_sums_saturate

    ms, tokens = model_reference([p["text"] for p in posts])
    # on CPUs whose u8 x s8 sums saturate (AVX2 without VNNI) the graphs run u8 x u8, slower
    kernels = "u8 x u8 (this CPU's u8 x s8 sums saturate)" if int8_sums_saturate() else "u8 x s8"
    print(f"machine: the harm model alone takes {ms:.2f} CPU-ms a text on one core "
          f"(first 400 texts, mean {tokens:.0f} tokens; int8 products {kernels})")

    classify = timed([*TIDEBREAK, "classify"], env, src)
    moderate = timed([*TIDEBREAK, "moderate"], env, src)
    c_rate, m_rate = len(posts) / classify, len(posts) / moderate
    print(f"classify: {classify:.1f} s, {c_rate:.0f} posts/s (harm model alone, load included)")
    print(f"moderate: {moderate:.1f} s, {m_rate:.0f} posts/s (all default detectors, policy, "
          f"enforcement, store, ledger)")
    print(f"  moderate / classify = {m_rate / c_rate:.2f}")

    db = f"sqlite:///{tmp}/serve.db"
    key = subprocess.run([*TIDEBREAK, "keys", "create", "--role", "platform", "--db", db],
                         env=env, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = start_server(db, port, env)
    try:
        # the first request of a tenant loads its models: not part of a platform's steady state
        asyncio.run(load(port, key, [{"id": f"warm-{i}", "text": "warming up"} for i in range(64)],
                         args.clients))
        t0 = time.perf_counter()
        lat, codes = asyncio.run(load(port, key, [{**p, "id": f"api-{p['id']}"} for p in posts],
                                      args.clients))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(30)
    rps = len(lat) / wall
    print(f"serve, {args.clients} clients: {rps:.0f} requests/s, p50 {pct(lat, 0.5):.0f} ms, "
          f"p99 {pct(lat, 0.99):.0f} ms, max {max(lat) * 1000:.0f} ms, "
          f"5xx {sum(v for k, v in codes.items() if k >= 500)}, "
          f"failed connections {codes.get(0, 0)}, codes {dict(sorted(codes.items()))}")
    print(f"  serve / classify = {rps / c_rate:.2f}")
    # Little's law: a closed loop of N clients waits N / throughput a request on average, so
    # even a server that did nothing but run the harm model would answer in N / classify's rate
    floor = 1000 * args.clients / c_rate
    print(f"  {args.clients} clients at classify's own rate would wait {floor:.0f} ms a request; "
          f"p99 / that = {pct(lat, 0.99) / floor:.2f}")

    if args.workers:
        from bench_workers import run as run_workers

        texts = [p["text"] for p in posts]
        default = "bank,harm,factcheck,voting,political_ads"
        one = run_workers(1, len(posts), default, texts, pin=True)
        two = run_workers(2, len(posts), default, texts, pin=True)
        print(f"workers on PostgreSQL, default detectors, one core each: 1 -> "
              f"{one['events_per_s']:.0f} events/s, 2 -> {two['events_per_s']:.0f} events/s")
        print(f"  2 workers / 1 worker = {two['events_per_s'] / one['events_per_s']:.2f}")


if __name__ == "__main__":
    main()
