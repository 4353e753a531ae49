"""Wiring: open the store and assemble the pipeline from settings.

The library, the CLI, the API server and (later) workers all build their pipeline here, so they
run the same detectors and policies.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.detect import base as detectors
from tidebreak.detect.bank import BankDetector
from tidebreak.detect.base import Detector
from tidebreak.enforce.hooks import Enforcer
from tidebreak.pipeline import Adjuster, Clock, Pipeline, utcnow
from tidebreak.policy import PolicySet, default_policy_path, load_policy
from tidebreak.store import bank as bank_store
from tidebreak.store.db import open_store

__all__ = ["BankSync", "build_detectors", "build_pipeline", "bundled_data", "detector_options",
           "load_policies", "open_store"]


def load_policies(settings: Settings, engine: Engine | None = None,
                  tenant: str | None = None) -> PolicySet:
    """The file policy, unless `engine` holds a version published through the governance
    workflow (tidebreak.governance.versions): then that one is live, and drafts under review run
    in shadow beside it."""
    active, drafts = None, []
    if engine is not None:
        from tidebreak.governance.versions import draft_policies, live_policy

        active = live_policy(engine, tenant or settings.tenant)
        drafts = draft_policies(engine, tenant or settings.tenant)
    if active is None:
        active = load_policy(settings.policy_path or default_policy_path())
    return PolicySet(active, [load_policy(p) for p in settings.shadow_policy_paths] + drafts)


class BankSync:
    """Keeps a process's in-memory bank index in step with the bank table (other processes,
    reviewers and `tidebreak bank add` write to it)."""

    def __init__(self, detector: BankDetector, engine: Engine, tenant: str,
                 every_seconds: float = 5.0) -> None:
        self.detector, self.engine, self.tenant = detector, engine, tenant
        self.every = every_seconds
        self._seen: object = None
        self._checked = 0.0

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.every:
            return
        self._checked = now
        with Session(self.engine) as s:
            version = bank_store.bank_version(s, self.tenant)
            if version == self._seen:
                return
            entries = bank_store.load_entries(s, self.tenant)
        self.detector.load(entries)
        self._seen = version


# Where each built-in detector lives; importing a module registers its detector by name.
BUILTIN_DETECTORS = {
    "bank": "tidebreak.detect.bank",
    "harm": "tidebreak.detect.harm",
    "factcheck": "tidebreak.detect.factcheck",
    "voting": "tidebreak.detect.voting",
    "political_ads": "tidebreak.accountability.ads",
}


def detector_options(settings: Settings) -> dict[str, dict[str, object]]:
    """Constructor arguments pipelines give detectors by name. The harm detector defers its
    occlusion spans (`explain="deferred"`, TIDEBREAK_HARM_EXPLAIN): they are computed after the
    decision, for what a person will look at (tidebreak.evidence), not on the hot path."""
    return {"harm": {"explain": settings.harm_explain}}


def build_detectors(names: Sequence[str], engine: Engine, tenant: str, *,
                    options: Mapping[str, Mapping[str, object]] | None = None
                    ) -> tuple[list[Detector], list[Callable[[], None]]]:
    built: list[Detector] = []
    hooks: list[Callable[[], None]] = []
    for name in names:
        if name not in detectors.registered() and name in BUILTIN_DETECTORS:
            importlib.import_module(BUILTIN_DETECTORS[name])
        det = detectors.create(name, **dict((options or {}).get(name, {})))
        if hasattr(det, "bind_store"):  # detectors that read a table (e.g. ad authorisations)
            det.bind_store(engine, tenant)
        if isinstance(det, BankDetector):
            sync = BankSync(det, engine, tenant)
            sync.refresh(force=True)
            hooks.append(sync.refresh)
        built.append(det)
    return built, hooks


# Enforcers every pipeline runs, in order (see tidebreak.enforce.hooks). Each part of the system
# that reacts to decisions (penalties, group health, statements of reasons, webhooks) adds its
# factory here.
ENFORCERS: list[Callable[[Settings], Enforcer]] = []

# --- accountability: one statement of reasons (and user notice) per restriction ---
from tidebreak.accountability.sor import StatementEnforcer  # noqa: E402

ENFORCERS.append(lambda settings: StatementEnforcer())

# --- review: rank escalated tasks; record user reports and merge them into one task per item ---
from tidebreak.review.enforcer import review_enforcer  # noqa: E402

ENFORCERS.append(review_enforcer)

# --- accounts, groups, reach: penalties from strikes, group health and stages, breaker release ---
from tidebreak.enforce.breaker import BreakerEnforcer  # noqa: E402
from tidebreak.enforce.groups import GroupEnforcer  # noqa: E402
from tidebreak.enforce.penalties import PenaltyEnforcer  # noqa: E402

ENFORCERS.extend([lambda settings: PenaltyEnforcer(), lambda settings: GroupEnforcer(),
                  lambda settings: BreakerEnforcer()])

# --- accountability: statements of reasons for account and group restrictions too ---
from tidebreak.accountability.restrictions import register as register_restriction_statements  # noqa: E402

register_restriction_statements()


# --- scale-out: decisions to the platform's webhook, through an outbox in the same transaction ---
from tidebreak.scale.webhooks import webhook_enforcer  # noqa: E402

ENFORCERS.append(webhook_enforcer)

# Decide-step adjusters every pipeline runs, in order (see tidebreak.pipeline.Adjustment).
ADJUSTERS: list[Callable[[Settings], Adjuster]] = []

# --- governance: election mode and public-interest exceptions in the decide step; severe-
# harassment cases from reports; exceptions counted in the transparency report ---
from tidebreak.governance import register as register_governance  # noqa: E402

register_governance(ENFORCERS, ADJUSTERS)


def build_pipeline(engine: Engine, settings: Settings | None = None, *, tenant: str | None = None,
                   policy: PolicySet | None = None, clock: Clock = utcnow,
                   detector_names: Sequence[str] | None = None) -> Pipeline:
    settings = settings or Settings.from_env()
    tenant = tenant or settings.tenant
    dets, hooks = build_detectors(detector_names or settings.detectors, engine, tenant,
                                  options=detector_options(settings))
    return Pipeline(engine, dets, policy or load_policies(settings, engine, tenant), tenant=tenant,
                    strike_days=settings.strike_days, clock=clock, before_batch=hooks,
                    enforcers=[factory(settings) for factory in ENFORCERS],
                    adjusters=[factory(settings) for factory in ADJUSTERS])


def bundled_data(name: str) -> Path:
    return Path(__file__).with_name("data") / name
