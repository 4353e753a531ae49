"""Images: PDQ hashing speed, OCR speed, and bank lookup latency and memory at 1M hashes.

    .venv/bin/python bench/bench_media.py [--bank-size 1000000] [--queries 2000] [--json]

Figures (README, models/media/CARD.md) were taken on the project's 2-core machine. Images are
generated (training/media/memes.py); banked hashes are random 256-bit strings (the worst case for
the multi-index is clustered hashes, see pdq_index.py), with planted near copies to check recall.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training" / "media"))
from memes import meme, photo  # noqa: E402

from tidebreak.media.decode import decode_image  # noqa: E402
from tidebreak.media.pdq import hash_image, query_hashes  # noqa: E402
from tidebreak.media.pdq_index import PdqIndex  # noqa: E402


def _jpegs(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        buf = io.BytesIO()
        photo(50_000 + i).save(buf, format="JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def _hash_bytes(data: bytes) -> str:
    return hash_image(decode_image(data, max_pixels=36_000_000).image, dihedral=False).pdq


def _ingest_bytes(data: bytes) -> int:
    return len(query_hashes(decode_image(data, max_pixels=36_000_000).image)[1])


def _rate(fn, items, workers: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    if workers == 1:
        for x in items:
            fn(x)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(fn, items, chunksize=8))
    return len(items) / (time.perf_counter() - t0)


def bench_hash(n: int) -> dict[str, float]:
    data = _jpegs(n)
    arrays = [decode_image(d, max_pixels=36_000_000).image for d in data]
    t0 = time.perf_counter()
    for img in arrays:
        hash_image(img, dihedral=False)
    pixels_only = n / (time.perf_counter() - t0)
    return {"images": n, "size": "640x480",
            "pdq_per_s_decoded_1core": round(pixels_only, 1),
            "pdq_per_s_from_jpeg_1core": round(_rate(_hash_bytes, data, 1), 1),
            "pdq_per_s_from_jpeg_2cores": round(_rate(_hash_bytes, data, 2), 1),
            "ingest_per_s_from_jpeg_2cores_12_variants": round(_rate(_ingest_bytes, data, 2), 1)}


def bench_ocr(n: int) -> dict[str, float]:
    from tidebreak.media.ocr import OcrEngine

    t0 = time.perf_counter()
    engine = OcrEngine.get()
    load = time.perf_counter() - t0
    memes = [meme("WHEN YOU FINALLY FIND|THE TV REMOTE", 60_000 + i) for i in range(n)]
    photos = [photo(61_000 + i) for i in range(n)]
    engine.read(memes[0], 0.8)  # warm
    t0 = time.perf_counter()
    for m in memes:
        engine.read(m, 0.8)
    with_text = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for p in photos:
        engine.read(p, 0.8)
    without = n / (time.perf_counter() - t0)
    return {"model_load_s": round(load, 2), "memes_per_s": round(with_text, 2),
            "photos_without_text_per_s": round(without, 2),
            "threads": os.environ.get("TIDEBREAK_OCR_THREADS", "onnxruntime default")}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _flip(raw: np.ndarray, n: int, rng: np.random.Generator) -> str:
    bits = np.unpackbits(raw.copy())
    bits[rng.choice(256, size=n, replace=False)] ^= 1
    return np.packbits(bits).tobytes().hex()


def bench_lookup(size: int, queries: int) -> dict[str, object]:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    hexes = [bytes(h).hex() for h in raw]
    ids = [f"e{i}" for i in range(size)]
    rss0 = _rss_mb()
    idx = PdqIndex()
    t0 = time.perf_counter()
    idx.add_many(ids, hexes)
    idx.build()
    build_s = time.perf_counter() - t0
    del hexes
    # each query: an image's 12 hashes (8 dihedral + 4 edge-extended); half of them are a
    # planted near copy (0-31 bits from a banked hash), half unrelated
    lat_image, lat_single, found = [], [], 0
    planted = 0
    for k in range(queries):
        qs = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(12)]
        if k % 2 == 0:
            target = int(rng.integers(size))
            qs[0] = _flip(raw[target], int(rng.integers(0, 32)), rng)
            planted += 1
        t0 = time.perf_counter()
        res = idx.query(qs)
        lat_image.append(time.perf_counter() - t0)
        if k % 2 == 0:
            found += any(r[0] == f"e{target}" for r in res)
        t0 = time.perf_counter()
        idx.query(qs[:1])
        lat_single.append(time.perf_counter() - t0)
    li, ls = np.array(lat_image) * 1000, np.array(lat_single) * 1000
    return {"banked": size, "queries": queries, "build_s": round(build_s, 2),
            "per_image_12_hashes_ms": {"p50": round(float(np.percentile(li, 50)), 2),
                                       "p99": round(float(np.percentile(li, 99)), 2)},
            "per_hash_ms": {"p50": round(float(np.percentile(ls, 50)), 2),
                            "p99": round(float(np.percentile(ls, 99)), 2)},
            "planted_copies_found": f"{found}/{planted}",
            "index_mb": round(idx.nbytes / 1e6, 1),
            "process_rss_growth_mb": round(_rss_mb() - rss0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bank-size", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--ocr-images", type=int, default=20)
    ap.add_argument("--only", choices=["hash", "ocr", "lookup"], default=None)
    ns = ap.parse_args()
    out: dict[str, object] = {"cpus": os.cpu_count()}
    if ns.only in (None, "hash"):
        out["pdq"] = bench_hash(ns.images)
    if ns.only in (None, "lookup"):
        out["lookup"] = bench_lookup(ns.bank_size, ns.queries)
    if ns.only in (None, "ocr"):
        out["ocr"] = bench_ocr(ns.ocr_images)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
