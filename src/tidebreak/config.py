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


DEFAULT_DETECTORS = ("bank", "harm", "factcheck", "political_ads")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    max_text_bytes: int = 65536
    policy_path: Path | None = None
    shadow_policy_paths: tuple[Path, ...] = ()
    detectors: tuple[str, ...] = DEFAULT_DETECTORS
    tenant: str = "default"
    strike_days: int = 90
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        shadows = tuple(Path(p) for p in env.get("TIDEBREAK_SHADOW_POLICIES", "").split(os.pathsep) if p)
        detectors = tuple(d.strip() for d in env.get("TIDEBREAK_DETECTORS", ",".join(DEFAULT_DETECTORS)).split(",")
                          if d.strip())
        return cls(
            database_url=env.get("TIDEBREAK_DATABASE_URL") or None,
            max_text_bytes=_int("TIDEBREAK_MAX_TEXT_BYTES", 65536),
            policy_path=Path(env["TIDEBREAK_POLICY"]) if env.get("TIDEBREAK_POLICY") else None,
            shadow_policy_paths=shadows,
            detectors=detectors,
            tenant=env.get("TIDEBREAK_TENANT", "default"),
            strike_days=_int("TIDEBREAK_STRIKE_DAYS", 90),
        )
