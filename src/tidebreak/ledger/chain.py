"""Hash chain over the `ledger` table.

Each entry's hash covers its sequence number, time, kind, subject, actor, payload and the previous
entry's hash, so altering, deleting or reordering any past row breaks every later link, and
`verify` names the first bad entry. Appends lock the single `ledger_head` row, so concurrent
writers (API replicas, workers) serialise on PostgreSQL; SQLite's write lock does the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.store.schema import LedgerEntryRow, LedgerHeadRow

GENESIS = "0" * 64


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, created_at: str, kind: str, subject: str, actor: str, payload: str,
               prev_hash: str) -> str:
    h = hashlib.sha256()
    for part in (str(seq), created_at, kind, subject, actor, payload, prev_hash):
        # Length-prefix every field so no two different entries hash the same bytes.
        b = part.encode("utf-8")
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


def append(session: Session, *, tenant: str, kind: str, subject: str, actor: str,
           payload: dict[str, Any], at: datetime) -> LedgerEntryRow:
    """Append one entry inside the caller's transaction (it commits with the state change)."""
    head = session.execute(
        select(LedgerHeadRow).where(LedgerHeadRow.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:  # only a database created outside the migrations lacks the head row
        head = LedgerHeadRow(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    created = at.isoformat()
    body = canonical_json(payload)
    digest = entry_hash(seq, created, kind, subject, actor, body, head.hash)
    row = LedgerEntryRow(seq=seq, tenant=tenant, kind=kind, subject=subject, actor=actor,
                         created_at=created, payload=body, prev_hash=head.hash, hash=digest)
    session.add(row)
    head.seq, head.hash = seq, digest
    return row


@dataclass(frozen=True)
class LedgerBreak:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"ledger entry {self.seq}: {self.reason}"


def _rows(session: Session, batch: int = 5000) -> Iterator[LedgerEntryRow]:
    last = 0
    while True:
        rows = session.execute(
            select(LedgerEntryRow).where(LedgerEntryRow.seq > last)
            .order_by(LedgerEntryRow.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> tuple[int, LedgerBreak | None]:
    """Walk the chain; return (entries checked, first break or None)."""
    prev, expected_seq, n = GENESIS, 1, 0
    for row in _rows(session):
        if row.seq != expected_seq:
            return n, LedgerBreak(expected_seq, f"missing (next entry present is {row.seq})")
        if row.prev_hash != prev:
            return n, LedgerBreak(row.seq, "previous-hash link does not match the entry before it")
        digest = entry_hash(row.seq, row.created_at, row.kind, row.subject, row.actor,
                            row.payload, row.prev_hash)
        if digest != row.hash:
            return n, LedgerBreak(row.seq, "contents do not match its hash (altered)")
        prev, expected_seq, n = row.hash, expected_seq + 1, n + 1
    head = session.get(LedgerHeadRow, 1)
    if head is not None and (head.seq != n or head.hash != prev):
        return n, LedgerBreak(n + 1 if head.seq > n else head.seq,
                              f"chain head says {head.seq} entries but {n} are whole (deleted at the end?)")
    return n, None


# -- anchors: the chain head, for a third party to hold ------------------------------------------


def anchor(session: Session, now: datetime) -> dict[str, Any]:
    """The chain head (sequence number and hash) with a timestamp, after verifying the whole
    chain. Whoever holds anchors can later prove that no entry up to `seq` was changed, even if
    someone rewrote the chain and its head consistently. Raises ValueError on a broken chain."""
    n, broken = verify(session)
    if broken is not None:
        raise ValueError(f"ledger broken at {broken}: refusing to anchor it")
    head = session.get(LedgerHeadRow, 1)
    return {"anchor_version": 1, "seq": n, "hash": head.hash if head else GENESIS,
            "anchored_at": now.isoformat()}


def check_anchor(session: Session, anchor_: dict[str, Any]) -> LedgerBreak | None:
    """None when the entry the anchor names is still in the chain with the anchored hash."""
    try:
        seq, digest = int(anchor_["seq"]), str(anchor_["hash"])
    except (KeyError, TypeError, ValueError):
        return LedgerBreak(0, "not an anchor (needs 'seq' and 'hash')")
    if seq == 0:
        return None if digest == GENESIS else LedgerBreak(0, "anchor of an empty chain with a hash")
    row = session.get(LedgerEntryRow, seq)
    if row is None:
        return LedgerBreak(seq, "anchored entry is missing")
    if row.hash != digest:
        return LedgerBreak(seq, "hash differs from the anchored one (chain rewritten)")
    return None
