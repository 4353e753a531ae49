"""A platform's side of tidebreak, in one file: send content, and act on the domain events
tidebreak sends back. Standard library plus httpx (which tidebreak's tests install).

    # send posts (JSON lines) for decisions
    TIDEBREAK_URL=http://127.0.0.1:8080 TIDEBREAK_KEY=... python examples/platform_client.py send posts.jsonl
    # receive events: point TIDEBREAK_WEBHOOK_URL at http://HOST:9000/hooks/tidebreak
    TIDEBREAK_WEBHOOK_SECRET=... python examples/platform_client.py receive --port 9000

The receiver checks every signature, ignores a delivery it has already handled (the
`Tidebreak-Delivery` key is the same on every retry), and turns each event into what the
platform must do. Replace `act` with calls into your own systems.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300) -> bool:
    """`Tidebreak-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - ts) > tolerance_s:
        return False
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts.get("v1", ""))


def act(event: dict[str, Any]) -> str | None:
    """What the platform does for one event (a description here; your API calls in real life)."""
    data, kind = event["data"], event["type"]
    if kind == "content.state_changed":
        to = data["to"]
        if to["state"] == "removed":
            return f"hide {data['content_id']} from everyone but its author"
        if to["reach"] < 1.0:
            return f"rank {data['content_id']} at {to['reach']:.0%} of normal reach"
        if to["warning"]:
            return f"put {data['content_id']} behind a warning screen: {to['warning']}"
        return f"show {data['content_id']} normally; labels: {to['labels']}"
    if kind == "account.penalty_imposed":
        return f"{data['penalty']} account {data['actor_id']} ({', '.join(data['limits']) or 'no limits'})"
    if kind == "account.penalty_lifted":
        return f"lift {data['penalty']} from account {data['actor_id']}"
    if kind == "group.stage_changed":
        return f"group {data['group_id']}: {data['from']} -> {data['to']} ({data['notice']})"
    if kind == "factcheck.label_applied":
        return f"label {data['content_id']}: {data['labels'][0]}"
    return None  # decision.made, strikes, review and appeal events: for records and dashboards


class Receiver(ThreadingHTTPServer):
    def __init__(self, secret: str, port: int, seen: set[str] | None = None) -> None:
        self.secret, self.seen, self.actions = secret, seen if seen is not None else set(), []
        super().__init__(("0.0.0.0", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(self.server.secret, body, self.headers.get("Tidebreak-Signature", "")):
            self.send_response(401)  # tidebreak dead-letters it: fix the secret, then replay
            self.end_headers()
            return
        key = self.headers.get("Tidebreak-Delivery", "")
        if key not in self.server.seen:  # a retry of what we already did: acknowledge only
            todo = act(json.loads(body))
            if todo:
                self.server.actions.append(todo)
                print(todo, flush=True)
            self.server.seen.add(key)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def send(path: str, url: str, key: str) -> None:
    import httpx

    with open(path, encoding="utf-8") as f, httpx.Client(base_url=url, timeout=30) as client:
        for line in f:
            if line.strip():
                r = client.post("/v1/content", content=line.encode(),
                                headers={"Authorization": f"Bearer {key}",
                                         "Content-Type": "application/json"})
                print(r.status_code, r.text, flush=True)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "send":
        send(argv[1], os.environ.get("TIDEBREAK_URL", "http://127.0.0.1:8080"),
             os.environ["TIDEBREAK_KEY"])
        return 0
    if argv and argv[0] == "receive":
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 9000
        Receiver(os.environ["TIDEBREAK_WEBHOOK_SECRET"], port).serve_forever()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
