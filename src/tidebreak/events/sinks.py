"""Where domain events go. A sink is anything with a name, the event types it takes, and
`deliver(event)`; the dispatcher (`tidebreak.events.dispatch`) calls it at least once per event
and retries with backoff.

A sink says how a delivery failed by the exception it raises: `RetryLater` (the destination is
down or busy: try again after the backoff) or `Rejected` (it can never accept this event: dead-
letter it at once). Any other exception counts as `RetryLater`. Returning means delivered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import httpx

from tidebreak import __version__
from tidebreak.events.signing import sign
from tidebreak.events.types import DomainEvent

SIGNATURE_HEADER = "Tidebreak-Signature"
DELIVERY_HEADER = "Tidebreak-Delivery"
EVENT_HEADER = "Tidebreak-Event"


class DeliveryError(Exception):
    """A delivery failed; the message is what operators see in the dead-letter list."""


class RetryLater(DeliveryError):
    pass


class Rejected(DeliveryError):
    pass


@runtime_checkable
class EventSink(Protocol):
    name: str  # unique among the sinks; deliveries are tracked per sink name
    types: frozenset[str] | None  # the event types it takes; None: every type

    def deliver(self, event: DomainEvent) -> None: ...


def body_bytes(event: DomainEvent) -> bytes:
    """The exact bytes a webhook signs and sends."""
    return json.dumps(event.to_dict(), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str).encode("utf-8")


@dataclass
class WebhookSink:
    """POSTs each event as JSON to one URL, signed as every tidebreak webhook is
    (`Tidebreak-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>")>`; receivers check it
    with `tidebreak.events.signing.verify_signature`). `Tidebreak-Delivery` carries the event's
    idempotency key, the same on every retry."""

    name: str
    url: str
    secret: str
    types: frozenset[str] | None = None
    timeout: float = 10.0
    client: httpx.Client | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError(f"webhook sink {self.name!r} needs a secret (receivers check the "
                             "HMAC signature with it)")
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    def deliver(self, event: DomainEvent) -> None:
        body = body_bytes(event)
        headers = {"Content-Type": "application/json", "User-Agent": f"tidebreak/{__version__}",
                   SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
                   DELIVERY_HEADER: event.key, EVENT_HEADER: event.type}
        assert self.client is not None
        try:
            r = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise RetryLater(f"{type(e).__name__}: {e}"[:500]) from None
        if 200 <= r.status_code < 300:
            return
        if r.status_code in (400, 401, 403, 404, 410, 422):
            # the receiver will never take this body as it is: no point hammering it, but keep
            # it replayable once the receiver is fixed
            raise Rejected(f"HTTP {r.status_code}")
        raise RetryLater(f"HTTP {r.status_code}")
