"""Shared by the accounts, groups and reach tests: a pipeline with the real default policy, a
scripted detector (a text containing "[hate=0.97]" gets that hate score) and this part's
enforcers (penalties, group health, breaker release)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak.detect.bank import BankDetector
from tidebreak.enforce.breaker import BreakerEnforcer
from tidebreak.enforce.groups import GroupEnforcer
from tidebreak.enforce.penalties import PenaltyEnforcer
from tidebreak.ingest import parse_event
from tidebreak.ledger import verify
from tidebreak.model import Event
from tidebreak.pipeline import Pipeline
from tidebreak.accountability.restrictions import register as statements_for_restrictions
from tidebreak.policy import PolicySet, load_default_policy
from tidebreak.runtime import BankSync
from tidebreak.store.schema import LedgerEntryRow

from .test_pipeline import Scripted


def reach_pipeline(engine: Engine, clock: Any) -> Pipeline:
    # statements of reasons for penalties, group stages and breaker trips come with the built-in
    # enforcers (tidebreak.plugins.builtin); this pipeline names its own, so it asks for them
    # too (the tests of this file then pass alone, not only after a test that built the default)
    statements_for_restrictions()
    bank = BankDetector()
    sync = BankSync(bank, engine, "default", every_seconds=0)
    return Pipeline(engine, [Scripted(), bank], PolicySet(load_default_policy()), clock=clock,
                    before_batch=[sync.refresh],
                    enforcers=[PenaltyEnforcer(), GroupEnforcer(), BreakerEnforcer()])


def post(id: str, text: str, author: str = "u1", **kw: Any) -> Event:
    return parse_event({"id": id, "text": text, "author": author, **kw})


def ledger_kinds(engine: Engine, subject: str | None = None) -> list[str]:
    with Session(engine) as s:
        q = select(LedgerEntryRow.kind).order_by(LedgerEntryRow.seq)
        if subject is not None:
            q = q.where(LedgerEntryRow.subject == subject)
        kinds = list(s.execute(q).scalars())
        assert verify(s)[1] is None  # every change above is on a whole chain
    return kinds
