"""Insert one row at once, before the rest of its transaction is flushed.

A few rows need their generated id while a batch is still being decided: a penalty names the
strikes it counts and its own id goes into its ledger entry. Flushing the session for that
writes every object the batch has added so far, a statement at a time, many times per batch;
this writes only the one row (with RETURNING) and puts it in the session as if it had been
loaded, so the batch's other rows are still written together when it commits.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Insert, Table, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")
_INSERTS: dict[Table, Insert] = {}


def insert_now(session: Session, row: T) -> T:
    """INSERT `row` (a new ORM object, added to the session or not) in the session's transaction
    now, fill in what the database generated (its id, defaults) and keep it in the session as
    persistent."""
    mapper = inspect(type(row))
    state = inspect(row)
    if state.pending:
        session.expunge(row)  # written here instead of by the next flush
    elif not state.transient:
        raise ValueError(f"insert_now takes a new object, not a {state!r}")
    table = mapper.local_table
    values = {}
    for prop in mapper.column_attrs:
        col = prop.columns[0]
        if prop.key in state.dict:
            values[col.key] = state.dict[prop.key]
    # one statement per table, its values as parameters: compiled once per set of columns
    # given (SQLAlchemy's cache), instead of built and compiled for every row
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = table.insert().returning(*table.c)
    got = session.connection().execute(stmt, values).one()._mapping
    for prop in mapper.column_attrs:
        setattr(row, prop.key, got[prop.columns[0]])
    make_transient_to_detached(row)
    session.add(row)
    return row
