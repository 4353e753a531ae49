"""The audit ledger: an append-only, hash-chained record of every state change."""

from tidebreak.ledger.chain import LedgerBreak, append, canonical_json, entry_hash, verify

__all__ = ["LedgerBreak", "append", "canonical_json", "entry_hash", "verify"]
