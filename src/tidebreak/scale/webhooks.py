"""Decisions to the platform by webhook: an outbox written with the decision, a sender that
signs, retries with exponential backoff, and a dead-letter list an operator can replay.

The enforcer writes the outbox row inside the decision's transaction, so a decision and its
notification commit together; the sender delivers at least once (a sender killed mid-POST
leaves its claim to expire and the row is sent again), and receivers deduplicate on the
`Tidebreak-Delivery` header (the outbox id) or on `decision.decision_id`.

Signature: `Tidebreak-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
`verify_signature` is the check a receiver runs (it also bounds replays by the timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tidebreak import __version__, metrics
from tidebreak.config import Settings
from tidebreak.enforce.hooks import Enforcement
from tidebreak.pipeline import Clock, utcnow
from tidebreak.store.schema import WebhookOutboxRow

log = logging.getLogger("tidebreak.webhooks")
SIGNATURE_HEADER = "Tidebreak-Signature"
DELIVERY_HEADER = "Tidebreak-Delivery"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, *, now: float | None = None,
                     tolerance_s: float = 300) -> bool:
    """What a receiving platform runs: the HMAC matches and the timestamp is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, ts), f"t={ts},v1={parts.get('v1', '')}")


class WebhookEnforcer:
    """Queues every decision (automated and human) for the platform's webhook, in the
    decision's transaction. Without a URL configured it does nothing."""

    name = "webhooks"

    def __init__(self, url: str | None) -> None:
        self.url = url

    def __call__(self, e: Enforcement) -> None:
        if not self.url:
            return
        body = {"type": "decision", "tenant": e.tenant, "event_id": e.event.event_id,
                "event_type": e.event.type.value, "content_id": e.content.id,
                "content_state": {"state": e.content.state, "reach": e.content.reach,
                                  "labels": list(e.content.labels or []),
                                  "warning": e.content.warning},
                "decision": e.decision.to_dict()}
        e.session.add(WebhookOutboxRow(
            tenant=e.tenant, decision_id=e.decision.id, event_id=e.event.event_id,
            content_id=e.content.id, url=self.url,
            body=json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            default=str),
            status="pending", attempts=0, next_attempt_at=e.now, created_at=e.now))


def webhook_enforcer(settings: Settings) -> WebhookEnforcer:
    return WebhookEnforcer(settings.webhook_url)


@dataclass(frozen=True)
class SenderConfig:
    secret: str
    max_attempts: int = 8
    backoff: float = 2.0  # seconds before the 2nd attempt; doubles each time
    backoff_max: float = 900.0
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "SenderConfig":
        if not settings.webhook_secret:
            raise ValueError("TIDEBREAK_WEBHOOK_SECRET is required to send webhooks "
                             "(receivers check the HMAC signature with it)")
        return cls(settings.webhook_secret, settings.webhook_max_attempts,
                   settings.webhook_backoff, settings.webhook_backoff_max,
                   settings.webhook_timeout)

    def delay(self, attempts: int) -> float:
        """Backoff after `attempts` failures, with up to 10% jitter so retries of many rows
        after an outage spread out."""
        base = min(self.backoff * 2 ** (attempts - 1), self.backoff_max)
        return base * (1 + 0.1 * random.random())


class WebhookSender:
    """Delivers due outbox rows. Several senders (one per worker) may run: each row is claimed
    by a conditional update that pushes its due time past the HTTP timeout, so only one sender
    sends it, and a sender that dies mid-send releases it when the claim expires."""

    def __init__(self, engine: Engine, cfg: SenderConfig, *, clock: Clock = utcnow,
                 client: httpx.Client | None = None) -> None:
        self.engine, self.cfg, self.clock = engine, cfg, clock
        self.client = client or httpx.Client(timeout=cfg.timeout, follow_redirects=False)
        self.claim_for = timedelta(seconds=cfg.timeout + 30)

    def run_once(self, limit: int = 100) -> dict[str, int]:
        """Attempt every due row once; returns counts by result."""
        now = self.clock()
        with Session(self.engine) as s:
            due = s.execute(select(WebhookOutboxRow.id)
                            .where(WebhookOutboxRow.status == "pending",
                                   WebhookOutboxRow.next_attempt_at <= now)
                            .order_by(WebhookOutboxRow.next_attempt_at).limit(limit)).scalars().all()
        counts = {"delivered": 0, "retry": 0, "dead": 0}
        for oid in due:
            row = self._claim(oid, now)
            if row is not None:
                counts[self._deliver(row)] += 1
        return counts

    def _claim(self, oid: int, now: datetime) -> WebhookOutboxRow | None:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            took = s.execute(update(WebhookOutboxRow)
                             .where(WebhookOutboxRow.id == oid, WebhookOutboxRow.status == "pending",
                                    WebhookOutboxRow.next_attempt_at <= now)
                             .values(next_attempt_at=now + self.claim_for)).rowcount
            return s.get(WebhookOutboxRow, oid) if took == 1 else None

    def _deliver(self, row: WebhookOutboxRow) -> str:
        body = row.body.encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": f"tidebreak/{__version__}",
                   SIGNATURE_HEADER: sign(self.cfg.secret, body, int(time.time())),
                   DELIVERY_HEADER: str(row.id), "Tidebreak-Event": "decision"}
        error: str | None = None
        try:
            r = self.client.post(row.url, content=body, headers=headers)
            if not 200 <= r.status_code < 300:
                error = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        now = self.clock()
        attempts = row.attempts + 1
        if error is None:
            values: dict[str, object] = {"status": "delivered", "delivered_at": now,
                                         "attempts": attempts, "last_error": None}
            result = "delivered"
        elif attempts >= self.cfg.max_attempts:
            values = {"status": "dead", "attempts": attempts, "last_error": error}
            result = "dead"
        else:
            values = {"attempts": attempts, "last_error": error,
                      "next_attempt_at": now + timedelta(seconds=self.cfg.delay(attempts))}
            result = "retry"
        with Session(self.engine) as s, s.begin():
            s.execute(update(WebhookOutboxRow).where(WebhookOutboxRow.id == row.id).values(**values))
        metrics.WEBHOOKS.labels(result).inc()
        log.log(logging.WARNING if result == "dead" else logging.INFO, "webhook %s", result,
                extra={"outbox_id": row.id, "decision_id": row.decision_id,
                       "attempts": attempts, "error": error})
        return result


def replay(engine: Engine, ids: Sequence[int] = (), *, now: datetime | None = None) -> int:
    """Put dead-lettered rows (all, or those in `ids`) back in line with fresh attempts."""
    q = update(WebhookOutboxRow).where(WebhookOutboxRow.status == "dead")
    if ids:
        q = q.where(WebhookOutboxRow.id.in_(list(ids)))
    with Session(engine) as s, s.begin():
        return s.execute(q.values(status="pending", attempts=0, last_error=None,
                                  next_attempt_at=now or utcnow())).rowcount


def list_outbox(engine: Engine, status: str | None = "dead",
                limit: int = 100) -> list[WebhookOutboxRow]:
    q = select(WebhookOutboxRow).order_by(WebhookOutboxRow.id).limit(limit)
    if status:
        q = q.where(WebhookOutboxRow.status == status)
    with Session(engine) as s:
        return list(s.execute(q).scalars().all())
