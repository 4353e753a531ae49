"""Prometheus metrics (served at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("tidebreak_events_total", "Events received by the pipeline", ["type"])
DECISIONS = Counter("tidebreak_decisions_total", "Decisions recorded, by strongest action", ["action"])
REJECTED = Counter("tidebreak_rejected_total", "Inputs rejected at the boundary", ["where"])
DETECTOR_SECONDS = Histogram("tidebreak_detector_seconds", "Time per detector call (a batch)",
                             ["detector"])
PIPELINE_SECONDS = Histogram("tidebreak_decide_record_seconds",
                             "Time to decide, enforce and record one event")

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
