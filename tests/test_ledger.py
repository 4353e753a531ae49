"""The ledger is a hash chain: any altered, deleted or reordered row is found and named."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.store.schema import LedgerEntryRow

T = datetime(2026, 11, 3, tzinfo=timezone.utc)


def _fill(engine, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        for i in range(n):
            ledger.append(s, tenant="default", kind="decision", subject=f"c{i}", actor="automation",
                          payload={"action": "none", "i": i}, at=T)


def test_a_whole_chain_verifies(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine)
    with Session(engine) as s:
        assert ledger.verify(s) == (5, None)


def test_an_altered_row_is_named(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine)
    with Session(engine) as s, s.begin():
        s.execute(update(LedgerEntryRow).where(LedgerEntryRow.seq == 3)
                  .values(payload='{"action":"remove","i":2}'))
    with Session(engine) as s:
        n, broken = ledger.verify(s)
    assert broken is not None and broken.seq == 3 and "altered" in broken.reason
    assert n == 2


def test_a_deleted_row_is_named(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine)
    with Session(engine) as s, s.begin():
        s.execute(delete(LedgerEntryRow).where(LedgerEntryRow.seq == 2))
    with Session(engine) as s:
        _, broken = ledger.verify(s)
    assert broken is not None and broken.seq == 2 and "missing" in broken.reason


def test_deleting_the_last_row_is_found_by_the_head(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine)
    with Session(engine) as s, s.begin():
        s.execute(delete(LedgerEntryRow).where(LedgerEntryRow.seq == 5))
    with Session(engine) as s:
        _, broken = ledger.verify(s)
    assert broken is not None and "chain head" in broken.reason


def test_a_rehashed_forgery_still_breaks_the_next_link(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine)
    with Session(engine) as s, s.begin():
        row = s.get(LedgerEntryRow, 2)
        row.payload = '{"action":"none","i":99}'
        row.hash = ledger.entry_hash(row.seq, row.created_at, row.kind, row.subject, row.actor,
                                     row.payload, row.prev_hash)
    with Session(engine) as s:
        _, broken = ledger.verify(s)
    assert broken is not None and broken.seq == 3


@pytest.mark.postgres
def test_writers_do_not_wait_for_each_other_until_commit(pg_url: str) -> None:
    """Two transactions append at once: the second commits while the first is still open (the
    head is locked only while a transaction links its entries and commits), and the chain
    orders entries by commit."""
    from tidebreak.store.db import open_store

    engine = open_store(pg_url)
    first = Session(engine)
    first.begin()
    ledger.append(first, tenant="default", kind="decision", subject="slow", actor="automation",
                  payload={"i": 1}, at=T)
    first.flush()
    with Session(engine) as second, second.begin():  # would block here if heads were held
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        ledger.append(second, tenant="default", kind="decision", subject="fast",
                      actor="automation", payload={"i": 2}, at=T)
    first.commit()
    first.close()
    with Session(engine) as s:
        assert ledger.verify(s) == (2, None)
        assert [r.subject for r in s.scalars(select(LedgerEntryRow).order_by(LedgerEntryRow.seq))] \
            == ["fast", "slow"]
    engine.dispose()


def test_an_entry_is_written_only_if_its_transaction_commits(engine) -> None:  # type: ignore[no-untyped-def]
    _fill(engine, 2)
    with Session(engine) as s:
        s.begin()
        ledger.append(s, tenant="default", kind="decision", subject="gone", actor="automation",
                      payload={}, at=T)
        s.rollback()
    _fill(engine, 1)
    with Session(engine) as s:
        assert ledger.verify(s) == (3, None)
        assert "gone" not in set(s.scalars(select(LedgerEntryRow.subject)))
