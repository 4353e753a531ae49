"""Helpers for the accountability tests: the real default policy (or a small test policy), the
scripted detector of test_pipeline, and the statement-of-reasons enforcer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.accountability.sor import AccountabilitySettings, StatementEnforcer
from tidebreak.detect.base import Detector
from tidebreak.pipeline import Pipeline
from tidebreak.policy import PolicySet, load_default_policy
from tidebreak.store.schema import StatementRow

from .test_pipeline import Scripted, post

CFG = AccountabilitySettings()


def acc_pipeline(engine, clock, policy: PolicySet | None = None,  # type: ignore[no-untyped-def]
                 detectors: Sequence[Detector] = ()) -> Pipeline:
    return Pipeline(engine, [Scripted(), *detectors], policy or PolicySet(load_default_policy()),
                    clock=clock, enforcers=[StatementEnforcer(CFG)])


def statements(engine) -> list[StatementRow]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.execute(select(StatementRow).order_by(StatementRow.created_at,
                                                            StatementRow.puid)).scalars())


__all__ = ["CFG", "acc_pipeline", "post", "statements"]
