"""Hash chain over the `ledger` table.

Each entry's hash covers its sequence number, time, kind, subject, actor, payload and the previous
entry's hash, so altering, deleting or reordering any past row breaks every later link, and
`verify` names the first bad entry.

Writers do not wait for each other while they work: `append` only notes the entry in the
caller's transaction, and the chain is linked when that transaction commits. Then, and only
then, the single `ledger_head` row is locked: the transaction's other writes are flushed first
(so it holds the head last and never waits for another row while holding it), its entries take
the next sequence numbers and hashes in the order they were appended, and the commit releases
the head. Concurrent writers (API replicas, workers) so serialise only for the few
milliseconds of linking and committing, not for their whole batch; an entry is in the chain
exactly when the state change it records is committed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tidebreak.store import insert_at_commit
from tidebreak.store.schema import LedgerEntryRow, LedgerHeadRow
from tidebreak.store.txcache import tx_cache

GENESIS = "0" * 64
_INSERT = LedgerEntryRow.__table__.insert()


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
           payload: dict[str, Any], at: datetime) -> None:
    """Append one entry inside the caller's transaction: it is linked into the chain, and
    written, when the transaction commits (with the state change it records), and not at all
    if it rolls back."""
    tx_cache(session, "ledger").setdefault("pending", []).append(
        {"tenant": tenant, "kind": kind, "subject": subject, "actor": actor,
         "created_at": at.isoformat(), "payload": canonical_json(payload)})


# Writers of rows a transaction keeps until commit (tidebreak.store.insert_at_commit,
# tidebreak.events.outbox): they run before the head is locked, so the head is still the last
# row the transaction takes.
BEFORE_LINK: list[Callable[[Session], None]] = [insert_at_commit.write_pending]


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    pending = tx_cache(session, "ledger").pop("pending", None)
    if not pending:
        return
    for write in BEFORE_LINK:
        write(session)
    session.flush()  # every other row this transaction writes is locked before the head
    head = session.execute(
        select(LedgerHeadRow).where(LedgerHeadRow.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:  # only a database created outside the migrations lacks the head row
        head = LedgerHeadRow(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev = head.seq, head.hash
    for row in pending:
        seq += 1
        row["seq"], row["prev_hash"] = seq, prev
        row["hash"] = prev = entry_hash(seq, row["created_at"], row["kind"], row["subject"],
                                        row["actor"], row["payload"], prev)
    # append-only rows nobody reads back in this transaction: one executemany, no ORM objects
    session.connection().execute(_INSERT, pending)
    head.seq, head.hash = seq, prev


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
