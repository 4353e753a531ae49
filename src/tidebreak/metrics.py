"""Prometheus metrics (served at GET /metrics)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

EVENTS = Counter("tidebreak_events_total", "Events received by the pipeline", ["type"])
DECISIONS = Counter("tidebreak_decisions_total", "Decisions recorded, by strongest action", ["action"])
REJECTED = Counter("tidebreak_rejected_total", "Inputs rejected at the boundary", ["where"])
DETECTOR_SECONDS = Histogram("tidebreak_detector_seconds", "Time per detector call (a batch)",
                             ["detector"])
PIPELINE_SECONDS = Histogram("tidebreak_decide_record_seconds",
                             "Time to decide, enforce and record one event")
# Where a decision's time goes, stage by stage. Per batch: ingest (duplicate check, the subject
# content), detect (every detector), evidence (occlusion spans: inside detect when the harm
# detector explains inline; per batch of tidebreak.evidence when deferred, off the decision's
# path). Per event: context (author standing, group stage, reach; once more per batch for the
# rows the batch reads up front), policy (rules and adjusters), content (the content row, its
# author and group), record (the decision, review tasks, strikes, event and ledger rows),
# enforce (the enforcers: distribution, notices, group health, the webhooks' outbox). Per
# batch: commit (a batch is one transaction).
STAGE_SECONDS = Histogram("tidebreak_stage_seconds", "Time per stage of a decision", ["stage"],
                          buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1.0,
                                   2.5, 5.0, 10.0))
API_BATCH_SIZE = Histogram("tidebreak_api_batch_size",
                           "Events decided together by the HTTP API's micro-batcher",
                           buckets=(1, 2, 4, 8, 16, 32, 64, 128))
STAGES = ("ingest", "detect", "evidence", "context", "policy", "content", "record", "enforce",
          "commit")


class stage:  # noqa: N801 - used as a function: `with metrics.stage("policy"):`
    """Time a block as one stage of a decision (`tidebreak_stage_seconds{stage=name}`). A class,
    not a generator: it runs about ten times per decision."""

    __slots__ = ("name", "t0")

    def __init__(self, name: str) -> None:
        self.name = name
        self.t0 = 0.0

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        observe(STAGE_SECONDS, time.perf_counter() - self.t0, self.name)


# A process that records decisions for another (tidebreak.recorder_process) sends back what it
# measured with each batch, so the /metrics of the process serving requests shows every stage.
Sample = tuple[str, tuple[str, ...], float]  # metric name, label values, value
_relay: list[Sample] | None = None
_children: dict[tuple[int, tuple[str, ...]], Counter | Histogram] = {}


def observe(metric: Counter | Histogram, value: float, *labels: str) -> None:
    """Observe `value` (a histogram) or add it (a counter), for a relay too when one listens."""
    child = _children.get((id(metric), labels))
    if child is None:  # looking a labelled child up costs more than observing it: keep it
        child = _children[(id(metric), labels)] = metric.labels(*labels) if labels else metric
    if isinstance(child, Counter):
        child.inc(value)
    else:
        child.observe(value)
    if _relay is not None:
        _relay.append((_NAMES[id(metric)], labels, value))


@contextmanager
def relayed() -> Iterator[list[Sample]]:
    """Collect what `observe` measures inside the block (in this process as well)."""
    global _relay
    samples: list[Sample] = []
    _relay = samples
    try:
        yield samples
    finally:
        _relay = None


def replay(samples: list[Sample]) -> None:
    """Measure here what another process measured (see `relayed`)."""
    for name, labels, value in samples:
        metric = _BY_NAME.get(name)
        if metric is not None:  # a newer child's metric this process does not know: skip it
            observe(metric, value, *labels)

# --- scale-out (tidebreak.scale): broker, workers, webhooks ---
from prometheus_client import Gauge  # noqa: E402

PUBLISHED = Counter("tidebreak_published_total",
                    "Events handed to the broker, by result (ok, unavailable)", ["result"])
WORKER_MESSAGES = Counter("tidebreak_worker_messages_total",
                          "Broker messages handled by workers, by outcome "
                          "(decided, duplicate, retried, failed, poison)", ["outcome"])
QUEUE_LAG = Gauge("tidebreak_queue_lag", "Messages in the broker not yet delivered to a worker")
QUEUE_UNACKED = Gauge("tidebreak_queue_unacked", "Messages delivered to workers but not yet acked")
WORKER_BATCH_SECONDS = Histogram("tidebreak_worker_batch_seconds",
                                 "Time for a worker to process and ack one fetched batch")
WEBHOOKS = Counter("tidebreak_webhook_deliveries_total",
                   "Webhook delivery attempts, by result (delivered, retry, dead)", ["result"])

_BY_NAME: dict[str, Counter | Histogram] = {
    m.describe()[0].name: m for m in list(globals().values()) if isinstance(m, (Counter, Histogram))}
_NAMES = {id(m): name for name, m in _BY_NAME.items()}
