"""Persistence of the known-content banks; the matching itself is `tidebreak.detect.bank`."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.detect.bank import BankEntry, key_hash
from tidebreak.errors import BadInput
from tidebreak.model import CATEGORIES
from tidebreak.store.schema import BankEntryRow
from tidebreak.text import normalise


class BankError(BadInput):
    pass


def add_entry(session: Session, *, tenant: str, text: str, bank: str, category: str,
              added_by: str, now: datetime, source_content_id: str | None = None,
              note: str | None = None, entry_id: str | None = None) -> tuple[BankEntryRow, bool]:
    """Bank a text (returns (row, created)); the same normalised text is banked once per bank."""
    if category not in CATEGORIES:
        raise BankError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    norm = normalise(text)
    if not norm.key.strip():
        raise BankError("text has nothing to match on after normalisation")
    digest = key_hash(norm)
    existing = session.execute(
        select(BankEntryRow).where(BankEntryRow.tenant == tenant, BankEntryRow.key_hash == digest,
                                   BankEntryRow.bank == bank, BankEntryRow.active.is_(True))
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    entry_id = entry_id or "bank-" + hashlib.sha256(f"{bank}\x00{digest}".encode()).hexdigest()[:12]
    if session.get(BankEntryRow, (tenant, entry_id)) is not None:
        raise BankError(f"bank entry {entry_id!r} already exists")
    row = BankEntryRow(tenant=tenant, entry_id=entry_id, bank=bank, category=category,
                       key_hash=digest, key=norm.key, text=text,
                       source_content_id=source_content_id, added_by=added_by, note=note,
                       created_at=now, active=True)
    session.add(row)
    ledger.append(session, tenant=tenant, kind="bank.add", subject=entry_id, actor=added_by,
                  payload={"entry_id": entry_id, "bank": bank, "category": category,
                           "key_hash": digest, "source_content_id": source_content_id,
                           "note": note}, at=now)
    return row, True


def add_image_entry(session: Session, *, tenant: str, pdq: str, quality: int | None, bank: str,
                    category: str, added_by: str, now: datetime,
                    source_content_id: str | None = None, note: str | None = None,
                    entry_id: str | None = None,
                    min_quality: int = 50) -> tuple[BankEntryRow, bool]:
    """Bank an image by its PDQ hash (returns (row, created)); one entry per hash per bank.
    Hashes under `min_quality` are refused: featureless images (a flat colour, a gradient)
    would match unrelated pictures. `quality=None`: unknown (hash lists from an exchange often
    carry none; their publishers filter on quality before sharing)."""
    from tidebreak.media.pdq import is_pdq_hex

    if category not in CATEGORIES:
        raise BankError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    pdq = pdq.strip().lower()
    if not is_pdq_hex(pdq):
        raise BankError(f"not a PDQ hash (64 hex digits): {pdq[:70]!r}")
    if quality is not None and quality < min_quality:  # None: a shared list without qualities
        raise BankError(f"image quality {quality} is under {min_quality}: too featureless to bank")
    existing = session.execute(
        select(BankEntryRow).where(BankEntryRow.tenant == tenant, BankEntryRow.pdq == pdq,
                                   BankEntryRow.bank == bank, BankEntryRow.active.is_(True))
    ).scalars().first()
    if existing is not None:
        return existing, False
    entry_id = entry_id or "bank-img-" + hashlib.sha256(f"{bank}\x00{pdq}".encode()).hexdigest()[:12]
    if session.get(BankEntryRow, (tenant, entry_id)) is not None:
        raise BankError(f"bank entry {entry_id!r} already exists")
    digest = hashlib.sha256(f"pdq:{pdq}".encode()).hexdigest()  # never a text key's hash
    row = BankEntryRow(tenant=tenant, entry_id=entry_id, bank=bank, category=category,
                       key_hash=digest, key="", text="", source_content_id=source_content_id,
                       added_by=added_by, note=note, created_at=now, active=True, pdq=pdq,
                       pdq_quality=None if quality is None else int(quality))
    session.add(row)
    ledger.append(session, tenant=tenant, kind="bank.add", subject=entry_id, actor=added_by,
                  payload={"entry_id": entry_id, "bank": bank, "category": category,
                           "pdq": pdq, "quality": quality,
                           "source_content_id": source_content_id, "note": note}, at=now)
    return row, True


def bank_content_images(session: Session, *, tenant: str, media: object, bank: str,
                        category: str, added_by: str, now: datetime,
                        source_content_id: str | None, note: str | None) -> list[str]:
    """Bank the images of removed content (their stored summaries); featureless ones are
    skipped, not refused: a reviewer's removal must not fail on a blank picture."""
    added = []
    for m in media if isinstance(media, list) else []:
        if not isinstance(m, dict) or not m.get("pdq") or int(m.get("quality") or 0) < 50:
            continue
        row, _ = add_image_entry(session, tenant=tenant, pdq=str(m["pdq"]),
                                 quality=int(m["quality"]), bank=bank, category=category,
                                 added_by=added_by, now=now,
                                 source_content_id=source_content_id, note=note)
        added.append(row.entry_id)
    return added


def to_entry(row: BankEntryRow) -> BankEntry:
    return BankEntry(entry_id=row.entry_id, bank=row.bank, category=row.category, key=row.key,
                     source_content_id=row.source_content_id, added_by=row.added_by, note=row.note,
                     pdq=row.pdq, pdq_quality=row.pdq_quality)


def load_entries(session: Session, tenant: str) -> list[BankEntry]:
    rows = session.execute(
        select(BankEntryRow).where(BankEntryRow.tenant == tenant, BankEntryRow.active.is_(True))
        .order_by(BankEntryRow.created_at)
    ).scalars()
    return [to_entry(r) for r in rows]


def bank_version(session: Session, tenant: str) -> tuple[int, datetime | None]:
    """A cheap fingerprint of a tenant's banks, so long-lived processes notice new entries."""
    return tuple(session.execute(
        select(func.count(), func.max(BankEntryRow.created_at))
        .where(BankEntryRow.tenant == tenant)
    ).one())  # type: ignore[return-value]
