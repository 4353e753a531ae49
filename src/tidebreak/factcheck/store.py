"""The fact-check store: imported fact-checks persisted per tenant (table `factchecks`).

Import is all-or-nothing: every record of a file or request is parsed first, and one bad record
(unparseable, no claim text, ...) stores nothing (`ImportRejected`). Duplicates never lose data:

- the same claim id twice in one import with identical content: the copy is reported, one kept;
- the same claim id twice in one import with different content: rejected (which one is meant is
  not ours to guess), nothing stored;
- a claim id already stored with identical content: reported as unchanged;
- a claim id already stored with different content (a revised rating, a corrected claim): the
  new record replaces it and the old one is appended to the row's `history`; the fact-check
  counts as new again, so the next backfill matches stored content against it;
- the same fact-check under another id (same review URL and same claim text, ignoring case and
  spacing: e.g. once with an `identifier` and once without, or from two aggregators) is the same
  fact-check: it takes the id seen first (stored, else earlier in the import) and is handled as
  above, so importing it again adds no row (`aliased` lists them).

Every import appends one ledger entry (kind "factcheck.import") with the ids it added and
replaced, even when nothing changed, so the audit trail shows each attempt that was accepted.
Unknown or missing rating scales are not errors: `normalise_rating` maps them to "unrated" with
a `rating_note`, keeping the fact-checker's words (see `claimreview`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.errors import BadInput
from tidebreak.factcheck.claimreview import (
    FactCheck,
    FactCheckError,
    from_dict,
    parse_record,
)
from tidebreak.store.schema import FactCheckRow


class ImportRejected(BadInput):
    """Input that is not imported at all; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass
class ImportResult:
    import_id: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already stored, identical
    duplicates: list[str] = field(default_factory=list)  # repeated inside this import
    aliased: list[tuple[str, str]] = field(default_factory=list)  # (id given, id used): same URL+claim

    def to_dict(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "added": len(self.added),
                "replaced": len(self.replaced), "unchanged": len(self.unchanged),
                "duplicates": len(self.duplicates), "aliased": len(self.aliased),
                "added_ids": self.added, "replaced_ids": self.replaced,
                "unchanged_ids": self.unchanged, "duplicate_ids": self.duplicates,
                "aliased_ids": [list(a) for a in self.aliased]}


def parse_records(records: Iterable[tuple[int, list[FactCheck] | FactCheckError]],
                  source: str = "input") -> list[FactCheck]:
    """Collect parsed records; the first bad one rejects the whole import (nothing stored)."""
    out: list[FactCheck] = []
    bad: list[tuple[int, FactCheckError]] = []
    for n, res in records:
        if isinstance(res, FactCheckError):
            bad.append((n, res))
        else:
            out.extend(res)
    if bad:
        n, err = bad[0]
        more = f" (and {len(bad) - 1} more bad records)" if len(bad) > 1 else ""
        raise ImportRejected(f"{source}: record {n}: {err}{more}; nothing imported")
    if not out:
        raise ImportRejected(f"{source}: no fact-checks found; nothing imported")
    return out


def parse_objects(objs: Sequence[Any], source: str = "body") -> list[FactCheck]:
    """JSON values (ClaimReview JSON-LD or flat records) -> fact-checks, all or nothing."""
    def each() -> Iterable[tuple[int, list[FactCheck] | FactCheckError]]:
        for i, obj in enumerate(objs, 1):
            try:
                yield i, parse_record(obj)
            except FactCheckError as e:
                yield i, e
    return parse_records(each(), source)


def _same_key(fc: FactCheck) -> tuple[str, str] | None:
    """What makes two records the same fact-check whatever their ids: review URL and claim."""
    if not fc.url:
        return None  # without a review URL, equal claim texts may be different fact-checks
    return fc.url.strip(), " ".join(fc.claim.casefold().split())


def _alias(session: Session, tenant: str, factchecks: Sequence[FactCheck],
           result: ImportResult) -> list[FactCheck]:
    """Give each fact-check already known under another id (same URL and claim) that id."""
    urls = sorted({fc.url.strip() for fc in factchecks if fc.url})
    known: dict[tuple[str, str], str] = {}
    for i in range(0, len(urls), 500):
        for cid, url, rec in session.execute(select(
                FactCheckRow.claim_id, FactCheckRow.url, FactCheckRow.record).where(
                FactCheckRow.tenant == tenant, FactCheckRow.url.in_(urls[i:i + 500]))).all():
            key = _same_key(from_dict(rec))
            if key is not None:
                known.setdefault(key, cid)
    out = []
    for fc in factchecks:
        key = _same_key(fc)
        cid = fc.claim_id if key is None else known.setdefault(key, fc.claim_id)
        if cid != fc.claim_id:
            result.aliased.append((fc.claim_id, cid))
            fc = replace(fc, claim_id=cid)
        out.append(fc)
    return out


def import_factchecks(session: Session, *, tenant: str, factchecks: Sequence[FactCheck],
                      actor: str, now: datetime, source: str) -> ImportResult:
    """Store fact-checks in the caller's transaction (see the module docstring for duplicates)."""
    result = ImportResult(import_id=f"fci-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}")
    first: dict[str, FactCheck] = {}
    for fc in _alias(session, tenant, factchecks, result):
        seen = first.get(fc.claim_id)
        if seen is None:
            first[fc.claim_id] = fc
        elif seen == fc:
            result.duplicates.append(fc.claim_id)
        else:
            raise ImportRejected(f"{source}: claim id {fc.claim_id!r} appears twice with different "
                                 "content; nothing imported")
    ids = list(first)
    stored: dict[str, FactCheckRow] = {}
    for i in range(0, len(ids), 500):  # IN lists stay small for SQLite's variable limit
        for row in session.execute(select(FactCheckRow).where(
                FactCheckRow.tenant == tenant, FactCheckRow.claim_id.in_(ids[i:i + 500]))).scalars():
            stored[row.claim_id] = row
    for cid, fc in first.items():
        rec = fc.to_dict()
        row = stored.get(cid)
        if row is None:
            session.add(FactCheckRow(tenant=tenant, claim_id=cid, rating=fc.rating,
                                     language=fc.language, url=fc.url, record=rec, history=[],
                                     import_id=result.import_id, imported_at=now,
                                     backfill_id=None))
            result.added.append(cid)
        elif row.record == rec:
            result.unchanged.append(cid)
        else:
            # Keep the replaced record (nothing lost) and mark the fact-check new again.
            row.history = [*(row.history or []), {"record": row.record, "import_id": row.import_id,
                                                  "imported_at": row.imported_at.isoformat()}]
            row.record, row.rating, row.language, row.url = rec, fc.rating, fc.language, fc.url
            row.import_id, row.imported_at, row.backfill_id = result.import_id, now, None
            result.replaced.append(cid)
    ledger.append(session, tenant=tenant, kind="factcheck.import", subject=result.import_id,
                  actor=actor, payload={"import_id": result.import_id, "source": source,
                                        "added": result.added, "replaced": result.replaced,
                                        "unchanged": len(result.unchanged),
                                        "duplicates": result.duplicates,
                                        "aliased": [list(a) for a in result.aliased]}, at=now)
    return result


def load_factchecks(session: Session, tenant: str,
                    claim_ids: Sequence[str] | None = None) -> list[FactCheck]:
    """A tenant's stored fact-checks (or only `claim_ids`), in import order."""
    q = select(FactCheckRow.record).where(FactCheckRow.tenant == tenant)
    if claim_ids is not None:
        q = q.where(FactCheckRow.claim_id.in_(list(claim_ids)))
    q = q.order_by(FactCheckRow.imported_at, FactCheckRow.claim_id)
    return [from_dict(r) for r in session.execute(q).scalars()]


def store_version(session: Session, tenant: str) -> tuple[int, datetime | None]:
    """A cheap fingerprint of a tenant's fact-checks (like `detect.bank_store.bank_version`); a
    replacement moves `imported_at`, so it is noticed too."""
    return tuple(session.execute(
        select(func.count(), func.max(FactCheckRow.imported_at)).where(FactCheckRow.tenant == tenant)
    ).one())  # type: ignore[return-value]
