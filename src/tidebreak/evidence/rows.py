"""Stored evidence rows: read them for decisions, and write new ones skipping any that exist
(two fillers may race on the same decision; the second must not fail its batch)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidebreak.store.schema import DecisionEvidenceRow

Key = tuple[str, str, str]  # (decision id, detector, category)


@dataclass(frozen=True, slots=True)
class SpansRow:
    decision_id: str
    detector: str
    category: str
    spans: list[dict[str, Any]]
    detector_version: str

    @property
    def key(self) -> Key:
        return (self.decision_id, self.detector, self.category)


def stored(session: Session, tenant: str,
           decision_ids: Iterable[str]) -> dict[Key, DecisionEvidenceRow]:
    """The evidence rows of these decisions, by (decision id, detector, category)."""
    ids = sorted(set(decision_ids))
    out: dict[Key, DecisionEvidenceRow] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(DecisionEvidenceRow).where(
            DecisionEvidenceRow.tenant == tenant,
            DecisionEvidenceRow.decision_id.in_(ids[start:start + 500]))).scalars()
        for r in rows:
            out[(r.decision_id, r.detector, r.category)] = r
    return out


def insert_missing(session: Session, tenant: str, rows: Sequence[SpansRow],
                   now: datetime) -> list[SpansRow]:
    """Insert the rows, in key order (so concurrent fillers lock in the same order), skipping
    those another filler wrote first; returns the ones this call inserted."""
    dialect = session.get_bind().dialect.name
    inserted: list[SpansRow] = []
    for r in sorted(rows, key=lambda x: x.key):
        values = {"tenant": tenant, "decision_id": r.decision_id, "detector": r.detector,
                  "category": r.category, "spans": r.spans,
                  "detector_version": r.detector_version, "computed_at": now}
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            table = DecisionEvidenceRow.__table__
            # RETURNING says whether this statement inserted the row (rowcount is not reliable
            # for ON CONFLICT DO NOTHING across drivers)
            stmt = (insert(table).values(**values).on_conflict_do_nothing()
                    .returning(table.c.decision_id))
            if session.execute(stmt).first() is not None:
                inserted.append(r)
            continue
        try:  # any other database: one savepoint per row
            with session.begin_nested():
                session.add(DecisionEvidenceRow(**values))
            inserted.append(r)
        except IntegrityError:
            pass
    return inserted
