"""Append-only rows written when their transaction commits (tidebreak.store.insert_at_commit):
all of them with the transaction, none without it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak.store import insert_at_commit
from tidebreak.store.schema import EventRow, ShadowDecisionRow

AT = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def event(i: int, **extra: object) -> dict:
    return {"tenant": "default", "event_id": f"e{i}", "type": "content.create",
            "content_id": f"c{i}", "received_at": AT, "payload": {"n": i}, **extra}


def count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_rows_are_written_at_commit_whatever_columns_each_gives(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        insert_at_commit.add(s, EventRow.__table__, event(1, decision_id="d1"))
        insert_at_commit.add(s, EventRow.__table__, event(2))  # no decision: the column's default
        insert_at_commit.add(s, ShadowDecisionRow.__table__, {
            "tenant": "default", "decision_id": "d1", "content_id": "c1", "rule_id": "r",
            "policy_version": "v", "action": "none", "created_at": AT, "payload": {}})
        # not visible in their own transaction: nothing may read them back there
        assert s.scalar(select(func.count()).select_from(EventRow)) == 0
    with Session(engine) as s:
        rows = {r.event_id: r for r in s.scalars(select(EventRow))}
    assert set(rows) == {"e1", "e2"}
    assert rows["e1"].decision_id == "d1" and rows["e2"].decision_id is None
    assert rows["e2"].payload == {"n": 2}
    assert count(engine, ShadowDecisionRow) == 1


def test_a_transaction_that_rolls_back_writes_none_of_them(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        insert_at_commit.add(s, EventRow.__table__, event(1))
        raise RuntimeError("the batch failed")
    assert count(engine, EventRow) == 0
    with Session(engine) as s, s.begin():  # and the next transaction starts with nothing queued
        insert_at_commit.add(s, EventRow.__table__, event(2))
    with Session(engine) as s:
        assert list(s.scalars(select(EventRow.event_id))) == ["e2"]
