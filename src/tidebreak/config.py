"""Configuration from the environment: one table, documented in the README."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


DEFAULT_DETECTORS = ("bank", "harm", "factcheck", "voting", "political_ads")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    max_text_bytes: int = 65536
    key_cache_s: float = 2.0  # how long an API server trusts a verified key (tidebreak.auth.keys)
    policy_path: Path | None = None
    shadow_policy_paths: tuple[Path, ...] = ()
    detectors: tuple[str, ...] = DEFAULT_DETECTORS
    tenant: str = "default"
    strike_days: int = 90
    extra: dict[str, str] = field(default_factory=dict)
    # --- scale-out (tidebreak.scale): broker, workers, webhooks, logs ---
    nats_url: str | None = None  # set: async API mode and workers are available
    nats_stream: str = "TIDEBREAK"
    nats_subject: str = "tidebreak"
    publish_timeout: float = 5.0
    worker_batch: int = 64
    ack_wait: float = 30.0
    max_deliver: int = 10
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = 8
    webhook_backoff: float = 2.0
    webhook_backoff_max: float = 900.0
    webhook_timeout: float = 10.0
    log_level: str = "INFO"
    log_format: str = "json"
    # --- evidence (tidebreak.evidence): the harm detector's occlusion spans ---
    harm_explain: str = "deferred"  # deferred (after the decision) | inline | off
    # where detectors run: "thread" (this process) or "process" (a child of their own, so
    # detection and recording do not share one interpreter lock; tidebreak.detector_process)
    detect_in: str = "auto"  # auto: processes for large batch files (tidebreak.cli)
    detect_processes: int = 0  # with detect_in="process": how many (0: one per CPU)
    # where decisions are recorded: "thread" (this process) or "process" (a child of its own,
    # so recording and the API's detectors do not share one interpreter lock;
    # tidebreak.recorder_process)
    record_in: str = "auto"  # auto: a process for `tidebreak serve` on 2 or more CPUs
    # --- coordination (tidebreak.coordination.sweep): scheduled sweep in worker mode ---
    coordination_sweep_s: float = 3600.0  # seconds between sweeps; 0 turns it off
    coordination_sweep_since: str = "24h"  # how far back each sweep looks
    # --- media (tidebreak.media): images on content, PDQ banks, OCR ---
    media_fetch: bool = False  # fetch {"url"} media at all (off: such items are refused)
    media_fetch_hosts: tuple[str, ...] = ()  # allow-list ("cdn.example", ".example" = subdomains)
    media_fetch_private: bool = False  # allow private/loopback/link-local addresses (tests only)
    media_fetch_timeout: float = 5.0
    media_max_bytes: int = 8 * 1024 * 1024  # per image, encoded
    media_max_pixels: int = 36_000_000  # decoded; larger is refused as a decompression bomb
    media_max_items: int = 4
    ocr: bool = True  # read text in images (rapidocr's bundled PP-OCR models)
    ocr_min_score: float = 0.80  # fragments the recogniser is less sure of are dropped

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        shadows = tuple(Path(p) for p in env.get("TIDEBREAK_SHADOW_POLICIES", "").split(os.pathsep) if p)
        detectors = tuple(d.strip() for d in env.get("TIDEBREAK_DETECTORS", ",".join(DEFAULT_DETECTORS)).split(",")
                          if d.strip())
        return cls(
            database_url=env.get("TIDEBREAK_DATABASE_URL") or None,
            max_text_bytes=_int("TIDEBREAK_MAX_TEXT_BYTES", 65536),
            key_cache_s=_float("TIDEBREAK_KEY_CACHE_S", 2.0),
            policy_path=Path(env["TIDEBREAK_POLICY"]) if env.get("TIDEBREAK_POLICY") else None,
            shadow_policy_paths=shadows,
            detectors=detectors,
            tenant=env.get("TIDEBREAK_TENANT", "default"),
            strike_days=_int("TIDEBREAK_STRIKE_DAYS", 90),
            nats_url=env.get("TIDEBREAK_NATS_URL") or None,
            nats_stream=env.get("TIDEBREAK_NATS_STREAM") or "TIDEBREAK",
            nats_subject=env.get("TIDEBREAK_NATS_SUBJECT") or "tidebreak",
            publish_timeout=_float("TIDEBREAK_PUBLISH_TIMEOUT", 5.0),
            worker_batch=_int("TIDEBREAK_WORKER_BATCH", 64),
            ack_wait=_float("TIDEBREAK_ACK_WAIT", 30.0),
            max_deliver=_int("TIDEBREAK_MAX_DELIVER", 10),
            webhook_url=env.get("TIDEBREAK_WEBHOOK_URL") or None,
            webhook_secret=env.get("TIDEBREAK_WEBHOOK_SECRET") or None,
            webhook_max_attempts=_int("TIDEBREAK_WEBHOOK_MAX_ATTEMPTS", 8),
            webhook_backoff=_float("TIDEBREAK_WEBHOOK_BACKOFF", 2.0),
            webhook_backoff_max=_float("TIDEBREAK_WEBHOOK_BACKOFF_MAX", 900.0),
            webhook_timeout=_float("TIDEBREAK_WEBHOOK_TIMEOUT", 10.0),
            log_level=(env.get("TIDEBREAK_LOG_LEVEL") or "INFO").upper(),
            log_format=env.get("TIDEBREAK_LOG_FORMAT") or "json",
            harm_explain=_choice("TIDEBREAK_HARM_EXPLAIN", ("deferred", "inline", "off"),
                                 "deferred"),
            detect_in=_choice("TIDEBREAK_DETECT_IN", ("auto", "thread", "process"), "auto"),
            detect_processes=_int("TIDEBREAK_DETECT_PROCESSES", 0),
            record_in=_choice("TIDEBREAK_RECORD_IN", ("auto", "thread", "process"), "auto"),
            coordination_sweep_s=_float("TIDEBREAK_COORDINATION_SWEEP_S", 3600.0),
            coordination_sweep_since=env.get("TIDEBREAK_COORDINATION_SWEEP_SINCE") or "24h",
            media_fetch=_choice("TIDEBREAK_MEDIA_FETCH", ("0", "1"), "0") == "1",
            media_fetch_hosts=tuple(h.strip().lower() for h in
                                    env.get("TIDEBREAK_MEDIA_FETCH_HOSTS", "").split(",")
                                    if h.strip()),
            media_fetch_private=_choice("TIDEBREAK_MEDIA_FETCH_PRIVATE", ("0", "1"), "0") == "1",
            media_fetch_timeout=_float("TIDEBREAK_MEDIA_FETCH_TIMEOUT", 5.0),
            media_max_bytes=_int("TIDEBREAK_MEDIA_MAX_BYTES", 8 * 1024 * 1024),
            media_max_pixels=_int("TIDEBREAK_MEDIA_MAX_PIXELS", 36_000_000),
            media_max_items=_int("TIDEBREAK_MEDIA_MAX_ITEMS", 4),
            ocr=_choice("TIDEBREAK_OCR", ("0", "1"), "1") == "1",
            ocr_min_score=_float("TIDEBREAK_OCR_MIN_SCORE", 0.80),
        )
