"""The audit ledger: an append-only, hash-chained record of every state change."""

from tidebreak.ledger.chain import (
    LedgerBreak,
    anchor,
    append,
    canonical_json,
    check_anchor,
    entry_hash,
    verify,
)

__all__ = ["LedgerBreak", "anchor", "append", "canonical_json", "check_anchor", "entry_hash",
           "verify"]
