"""Wiring: open the store and assemble the pipeline from settings.

The library, the CLI, the API server and (later) workers all build their pipeline here, so they
run the same detectors and policies.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.detect.bank import BankDetector
from tidebreak.detect.base import Detector, DetectorFactory
from tidebreak.enforce.hooks import Enforcer
from tidebreak.errors import ConfigError
from tidebreak.events.dispatch import Dispatcher, RetryPolicy, register_sinks
from tidebreak.events.sinks import EventSink
from tidebreak.pipeline import Adjuster, Clock, Pipeline, utcnow
from tidebreak.plugins import manager
from tidebreak.policy import PolicySet, default_policy_path, load_policy
from tidebreak.detect import bank_store
from tidebreak.store.db import open_store

if TYPE_CHECKING:
    from tidebreak.detector_process import DetectorProcess

__all__ = ["BankSync", "adjusters", "build_detectors", "build_pipeline", "bundled_data",
           "configured_sinks", "create_detector", "detector_factories", "detector_options",
           "dispatcher_for", "enforcers", "load_policies", "open_store"]


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


def detector_factories() -> dict[str, DetectorFactory]:
    """Every detector the plug-ins offer, by name (built-ins: tidebreak.plugins.builtin)."""
    merged: dict[str, DetectorFactory] = {}
    for offered in reversed(manager().hook.tidebreak_detectors()):
        merged.update(offered)  # pluggy calls the last registered first: built-ins lose ties
    return merged


def create_detector(name: str, **kwargs: object) -> Detector:
    factories = detector_factories()
    try:
        factory = factories[name]
    except KeyError:
        raise ConfigError(f"unknown detector {name!r} (TIDEBREAK_DETECTORS); known: "
                          f"{', '.join(sorted(factories))}") from None
    return factory(**kwargs)


def detector_options(settings: Settings) -> dict[str, dict[str, object]]:
    """Constructor arguments pipelines give detectors by name. The harm detector defers its
    occlusion spans (`explain="deferred"`, TIDEBREAK_HARM_EXPLAIN): they are computed after the
    decision, for what a person will look at (tidebreak.evidence), not on the hot path."""
    return {"harm": {"explain": settings.harm_explain}}


def build_detectors(names: Sequence[str], engine: Engine, tenant: str, *,
                    options: Mapping[str, Mapping[str, object]] | None = None
                    ) -> tuple[list[Detector], list[Callable[[], None]]]:
    """The named detectors, bound to the store; and the hooks to run before each batch."""
    built = create_detectors(names, options=options)
    return built, bind_detectors(built, engine, tenant)


def create_detectors(names: Sequence[str], *,
                     options: Mapping[str, Mapping[str, object]] | None = None) -> list[Detector]:
    """The named detectors with their models loaded, not yet bound to a store."""
    return [create_detector(name, **dict((options or {}).get(name, {}))) for name in names]


def bind_detectors(detectors: Sequence[Detector], engine: Engine,
                   tenant: str) -> list[Callable[[], None]]:
    """Give the detectors that read a table their store (ad authorisations; the bank, loaded
    now and followed before each batch); returns the hooks to run before each batch."""
    hooks: list[Callable[[], None]] = []
    for det in detectors:
        if hasattr(det, "bind_store"):
            det.bind_store(engine, tenant)
        if isinstance(det, BankDetector):
            sync = BankSync(det, engine, tenant)
            sync.refresh(force=True)
            hooks.append(sync.refresh)
    return hooks


def enforcers(settings: Settings) -> list[Enforcer]:
    """The enforcers every pipeline runs, in their declared order (tidebreak.enforce.hooks)."""
    ranked = [pair for group in manager().hook.tidebreak_enforcers(settings=settings)
              for pair in group]
    return [e for _, e in sorted(ranked, key=lambda pair: pair[0])]


def adjusters(settings: Settings) -> list[Adjuster]:
    """The decide-step adjusters, in order (tidebreak.pipeline.Adjustment)."""
    ranked = [pair for group in manager().hook.tidebreak_adjusters(settings=settings)
              for pair in group]
    return [a for _, a in sorted(ranked, key=lambda pair: pair[0])]


def configured_sinks(settings: Settings, engine: Engine) -> list[EventSink]:
    """Every event sink the plug-ins configure from `settings` (built-in webhooks and NATS,
    adapters, third parties), delivering from `engine`."""
    return [s for group in manager().hook.tidebreak_event_sinks(settings=settings, engine=engine)
            for s in group]


def dispatcher_for(engine: Engine, settings: Settings, *,
                   clock: Clock = utcnow) -> Dispatcher | None:
    """The dispatcher for the configured sinks, or None when nothing is configured."""
    sinks = configured_sinks(settings, engine)
    if not sinks:
        return None
    return Dispatcher(engine, sinks, clock=clock,
                      retry=RetryPolicy(max_attempts=settings.webhook_max_attempts,
                                        backoff=settings.webhook_backoff,
                                        backoff_max=settings.webhook_backoff_max,
                                        claim_s=settings.webhook_timeout + 30))


def build_pipeline(engine: Engine, settings: Settings | None = None, *, tenant: str | None = None,
                   policy: PolicySet | None = None, clock: Clock = utcnow,
                   detector_names: Sequence[str] | None = None,
                   detectors: Sequence[Detector] | None = None,
                   detector_host: DetectorProcess | None = None) -> Pipeline:
    """The one place a pipeline is assembled: detectors by name (`detector_names`, default the
    configured ones; empty for a pipeline that only records human decisions) or ready-made
    `detectors` (a simulator's), the policy, and every plug-in's enforcers and adjusters in
    their order. `detector_host`: detector processes started earlier for these settings
    (`start_detector_processes`), so their models loaded while the store was opened."""
    settings = settings or Settings.from_env()
    tenant = tenant or settings.tenant
    # the event sinks configured here subscribe now, so what this pipeline decides is queued
    # for them even before a dispatcher (serve, a worker, `tidebreak events deliver`) runs
    register_sinks(engine, configured_sinks(settings, engine), now=clock())
    names = settings.detectors if detector_names is None else detector_names
    host = None
    if detectors is None and settings.detect_in == "process" and names:
        host = detector_host or start_detector_processes(settings, names)
    elif detector_host is not None:
        detector_host.close()  # started for settings this pipeline does not use
    try:  # read while detector processes (if any) still load their models
        policies = policy or load_policies(settings, engine, tenant)
        enforcing, adjusting = enforcers(settings), adjusters(settings)
    except BaseException:
        if host is not None:
            host.close()
        raise
    if detectors is not None:
        dets, hooks = list(detectors), []
    elif host is not None:
        host.open(engine.url.render_as_string(hide_password=False), tenant)
        dets, hooks = list(host.detectors), []
    else:
        dets, hooks = build_detectors(names, engine, tenant, options=detector_options(settings))
    pipeline = Pipeline(engine, dets, policies, tenant=tenant, strike_days=settings.strike_days,
                        clock=clock, before_batch=hooks, enforcers=enforcing,
                        adjusters=adjusting)
    if host is not None:
        pipeline.prepare_ahead = host.size
    if settings.record_in == "process" and names and detectors is None and policy is None \
            and clock is utcnow:
        # the child builds this same pipeline from the settings (a policy or clock given here
        # could not follow it there: such a pipeline records in this process)
        from tidebreak.recorder_process import RecorderProcess

        pipeline.recorder = RecorderProcess.shared(settings, engine.url.render_as_string(
            hide_password=False))
    return pipeline


def start_detector_processes(settings: Settings,
                             names: Sequence[str] | None = None) -> DetectorProcess:
    """Start the detector processes for `settings` (TIDEBREAK_DETECT_IN=process): they load
    their models now, and wait for the store that `build_pipeline` opens them on."""
    from tidebreak.detector_process import DetectorProcess

    return DetectorProcess(settings.detectors if names is None else names,
                           detector_options(settings),
                           children=settings.detect_processes or cpu_count())


def cpu_count() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def bundled_data(name: str) -> Path:
    return Path(__file__).with_name("data") / name
