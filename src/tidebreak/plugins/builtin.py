"""tidebreak's own parts, registered as the default plug-in: the detectors, the enforcers in
their order, and the decide-step adjusters. Modules are imported when a pipeline is built, not
when the manager starts, so `tidebreak --help` loads no model code."""

from __future__ import annotations

import importlib
from typing import Any

from tidebreak.config import Settings
from tidebreak.governance import register_report_sections
from tidebreak.hookspecs import hookimpl

register_report_sections()


class _Lazy:
    """A detector factory that imports its module on first use."""

    def __init__(self, module: str, attr: str) -> None:
        self.module, self.attr = module, attr

    def __call__(self, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.attr)(**kwargs)


@hookimpl
def tidebreak_detectors() -> dict[str, Any]:
    return {
        "bank": _Lazy("tidebreak.detect.bank", "BankDetector"),
        "harm": _Lazy("tidebreak.detect.harm", "HarmClassifier"),
        "factcheck": _Lazy("tidebreak.detect.factcheck", "FactCheckDetector"),
        "voting": _Lazy("tidebreak.detect.voting", "VotingDetector"),
        "political_ads": _Lazy("tidebreak.accountability.ads", "PoliticalAdDetector"),
    }


@hookimpl
def tidebreak_enforcers(settings: Settings) -> list[tuple[int, Any]]:
    from tidebreak.accountability.restrictions import register as statements_for_restrictions
    from tidebreak.accountability.sor import StatementEnforcer
    from tidebreak.enforce.breaker import BreakerEnforcer
    from tidebreak.enforce.groups import GroupEnforcer
    from tidebreak.enforce.penalties import PenaltyEnforcer
    from tidebreak.governance.harassment import HarassmentEnforcer
    from tidebreak.review.enforcer import review_enforcer

    # statements of reasons for account and group restrictions, through the penalty, stage and
    # breaker listeners (idempotent)
    statements_for_restrictions()
    return [
        (100, StatementEnforcer()),  # one statement (and notice) per restriction of content
        (200, review_enforcer(settings)),  # rank tasks; user reports into one task per item
        (300, PenaltyEnforcer()),  # strikes -> account penalties
        (400, GroupEnforcer()),  # group health and stages
        (500, BreakerEnforcer()),  # a review, label or removal releases the breaker
        (600, HarassmentEnforcer()),  # severe-harassment cases from reports
    ]


@hookimpl
def tidebreak_adjusters(settings: Settings) -> list[tuple[int, Any]]:
    from tidebreak.governance import elections, exceptions

    # election mode first: an exception then applies to the tightened outcome too
    return [(100, elections.election_adjuster), (200, exceptions.exception_adjuster)]
