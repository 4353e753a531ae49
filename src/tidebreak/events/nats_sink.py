"""Domain events to NATS JetStream: each event published to `<subject>.<event type>` in its own
stream (file storage), with the event key as `Nats-Msg-Id` so JetStream drops a redelivered
copy inside its duplicate window. Consumers subscribe to `<subject>.>` or to the types they take.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tidebreak.events.sinks import RetryLater, body_bytes
from tidebreak.events.types import DomainEvent
from tidebreak.scale.broker import BrokerConfig, BrokerUnavailable, Producer

EVENTS_STREAM = "TIDEBREAK_EVENTS"


@dataclass
class NatsSink:
    url: str
    subject: str
    name: str = "nats"
    types: frozenset[str] | None = None
    work_subject: str = "tidebreak"  # the workers' subject: the two streams must not overlap
    _producer: Producer | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.subject == self.work_subject or self.subject.startswith(self.work_subject + "."):
            raise ValueError(f"TIDEBREAK_EVENTS_NATS_SUBJECT {self.subject!r} overlaps the "
                             f"workers' subject {self.work_subject!r}.>: pick another, e.g. "
                             "tidebreak-events")

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(BrokerConfig(url=self.url, stream=EVENTS_STREAM,
                                                   subject=self.subject),
                                      name="tidebreak-events")
        return self._producer

    def deliver(self, event: DomainEvent) -> None:
        try:
            self.producer.publish(f"{self.subject}.{event.type}", body_bytes(event),
                                  f"{event.tenant}:{event.key}")
        except BrokerUnavailable as e:
            raise RetryLater(str(e)) from None
