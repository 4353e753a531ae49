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
