"""Memos that live exactly as long as one database transaction.

A batch of decisions runs in one transaction and asks the same questions for many events (the
ledger head, an author's strikes, the elections in force). Within the transaction the answer can
only change through this process's own writes, which invalidate the memo; a new transaction (a
new batch, or after a rollback) starts empty, so nothing read here outlives what it was read in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def tx_cache(session: Session, name: str) -> dict[Any, Any]:
    """The memo `name` of the session's current transaction (a new one starts empty)."""
    tx = session.get_transaction()
    memos = session.info.get("tx_cache")
    if memos is None or memos[0] is not tx:
        memos = (tx, {})
        session.info["tx_cache"] = memos
    return memos[1].setdefault(name, {})  # type: ignore[no-any-return]


def announce(session: Session, tenant: str, what: str, keys: set[Any]) -> None:
    """Say what the transaction's batch is about (its authors, groups), so a part that must
    read something per author or per group can read it for all of them with one query."""
    tx_cache(session, "batch").setdefault((tenant, what), set()).update(keys)


def announced(session: Session, tenant: str, what: str) -> set[Any]:
    return set(tx_cache(session, "batch").get((tenant, what), ()))


def mark_new(session: Session, what: str, key: Any, row: Any = None) -> None:
    """Note that this transaction created `key` (e.g. a content item): what others attach to
    it (exceptions, tasks, breakers) can then only have been made in this same transaction.
    `row` is the new ORM object, found by `added` before the session flushes it (until then
    `Session.get` does not see it and would query)."""
    tx_cache(session, f"new:{what}")[key] = row


def is_new(session: Session, what: str, key: Any) -> bool:
    return key in tx_cache(session, f"new:{what}")


def added(session: Session, what: str, key: Any) -> Any:
    """The object this transaction created under `key`, or None."""
    return tx_cache(session, f"new:{what}").get(key)
