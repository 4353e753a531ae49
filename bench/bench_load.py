"""Load test: `tidebreak serve` in its own process, 32 concurrent clients from this one, over
loopback. Prints p50/p95/p99 latency, throughput, error rate and the count of 5xx answers. Not a
test: the figures go in the README with the command that made them:

    .venv/bin/python bench/bench_load.py [--clients 32] [--requests 3000] [--db URL] [--detectors bank]

Each request submits a new post (POST /v1/content, decided inline); every 10th repeats an
earlier one (the idempotent path) and every 20th reads a decision back (GET /v1/decisions/ID).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TIDEBREAK = [sys.executable, "-c", "from tidebreak.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KeepAliveClient:
    """A minimal HTTP/1.1 client over one keep-alive connection, for load generation: about
    0.1 CPU-ms a request, where httpx takes about 1.6, so on a small machine the clients take
    little of the cores they share with the server they measure."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        self.writer.write((f"{method} {path} HTTP/1.1\r\n{self.head}"
                           f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                           ).encode() + data)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def start_server(db: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*TIDEBREAK, "serve", "--port", str(port)], env={
        **env, "TIDEBREAK_DATABASE_URL": db}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


async def client(base: str, key: str, me: int, n: int, lat: list[float],
                 codes: dict[int, int]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        for i in range(n):
            if i % 20 == 19:
                req = c.build_request("GET", f"/v1/decisions/c{me}-{i - 1}")
            else:
                j = i - 1 if i % 10 == 9 else i  # every 10th: the same item again
                req = c.build_request("POST", "/v1/content", json={
                    "id": f"c{me}-{j}", "author": f"u{me}",
                    "text": f"client {me} post {j}: photos from the allotment this morning"})
            t0 = time.perf_counter()
            try:
                r = await c.send(req)
                status = r.status_code
            except httpx.HTTPError:
                status = 0  # connection-level failure
            lat.append(time.perf_counter() - t0)
            codes[status] = codes.get(status, 0) + 1


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=3000, help="total, spread over the clients")
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--detectors", default="bank", help="TIDEBREAK_DETECTORS for the server")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tb-load-"))
    db = args.db or f"sqlite:///{tmp}/load.db"
    env = {**os.environ, "TIDEBREAK_DETECTORS": args.detectors}
    env.pop("TIDEBREAK_NATS_URL", None)
    key = subprocess.run([*TIDEBREAK, "keys", "create", "--role", "platform", "--db", db],
                         env=env, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = start_server(db, port, env)
    lat: list[float] = []
    codes: dict[int, int] = {}
    per = max(1, args.requests // args.clients)
    try:
        t0 = time.perf_counter()
        asyncio.run(_all(f"http://127.0.0.1:{port}", key, args.clients, per, lat, codes))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(30)
    errors = sum(v for k, v in codes.items() if k == 0 or k >= 500)
    print(json.dumps({
        "clients": args.clients, "requests": len(lat), "db": db.split("?")[0],
        "detectors": args.detectors, "throughput_rps": round(len(lat) / wall, 1),
        "p50_ms": round(pct(lat, 0.50), 1), "p95_ms": round(pct(lat, 0.95), 1),
        "p99_ms": round(pct(lat, 0.99), 1), "max_ms": round(max(lat) * 1000, 1),
        "mean_ms": round(statistics.mean(lat) * 1000, 1),
        "error_rate": round(errors / len(lat), 4), "status_codes": dict(sorted(codes.items())),
        "5xx": sum(v for k, v in codes.items() if k >= 500)}, indent=1))


async def _all(base: str, key: str, clients: int, per: int, lat: list[float],
               codes: dict[int, int]) -> None:
    await asyncio.gather(*(client(base, key, me, per, lat, codes) for me in range(clients)))


if __name__ == "__main__":
    main()
