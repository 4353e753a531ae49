"""Append-only rows a transaction writes when it commits, one executemany per table.

A batch of decisions adds a decision row and an event row for every post. Nothing reads them
back in the transaction that writes them (readers are the API, reports and later transactions),
so they need no ORM objects: building, tracking and flushing those cost more than the decisions'
own policy work. They are kept as plain dicts and inserted together at commit, in the same
transaction (when it appends to the ledger, just before the ledger head is locked:
`tidebreak.ledger.chain.BEFORE_LINK`): a rollback writes none of them, and a duplicate event id
still fails the whole batch with IntegrityError, as before.

Only for rows no code reads in their own transaction: `Session.get` and queries do not see them
until the commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from tidebreak.store.txcache import tx_cache


def add(session: Session, table: Table, values: dict[str, Any]) -> None:
    """Insert `values` into `table` when the session's transaction commits."""
    tx_cache(session, "insert_at_commit").setdefault(table, []).append(values)


@event.listens_for(Session, "before_commit")
def write_pending(session: Session) -> None:
    pending = tx_cache(session, "insert_at_commit")
    if not pending:
        return
    conn = session.connection()
    for table, rows in list(pending.items()):
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:  # one statement per set of columns given (defaults fill the rest)
            by_keys.setdefault(tuple(row), []).append(row)
        for group in by_keys.values():
            conn.execute(table.insert(), group)
    pending.clear()
