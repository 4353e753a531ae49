"""Shared PDQ hash lists in and out, so a platform can load what HMA or ThreatExchange holds.

Read (`read_hash_list`), detected from the file itself:
- a header row naming the hash column `signal_value` (HMA's name for a signal beside
  `signal_type`), `signal`, `pdq`, `pdq_hash`, `hash` or `indicator` (ThreatExchange's
  indicator exports, beside `indicator_type`/`type`); comma or tab separated. Rows whose
  `signal_type`/`indicator_type` column says something other than `pdq` / `HASH_PDQ` (an MD5,
  a URL) are skipped; `quality` and `category` columns are used when present.
- no header: one hash per line, optionally followed by `,` or tab and more fields (Meta's
  `pdq-photo-hasher` prints `hash,quality,filename`; `threatexchange hash photo` prints
  `pdq <hash>`, also accepted).
Anything else (a line that is not a 64-hex hash where one is expected) is an error naming the
line, and nothing is imported.

Written (`write_hash_list`): CSV with the header `signal_type,signal_value,quality,bank,
category,entry_id` (HMA's column names first), or `lines`: `hash,quality` per line (the
pdq-photo-hasher shape; the first column alone is a plain ThreatExchange hash list).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from tidebreak.errors import BadInput
from tidebreak.media.pdq import is_pdq_hex

HASH_COLUMNS = ("signal_value", "signal", "pdq", "pdq_hash", "hash", "indicator")
TYPE_COLUMNS = ("signal_type", "indicator_type", "type")
PDQ_TYPES = {"pdq", "hash_pdq", "photo_pdq", "pdqhash"}
MAX_LINES = 5_000_000


class HashListError(BadInput):
    pass


@dataclass(frozen=True)
class ListedHash:
    pdq: str
    quality: int | None
    category: str | None
    line: int


def read_hash_list(text: str) -> tuple[list[ListedHash], int]:
    """(hashes, rows skipped as another signal type)."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise HashListError(f"more than {MAX_LINES} lines")
    first = next((ln for ln in lines if ln.strip()), "")
    delim = "\t" if "\t" in first else ","
    head = [c.strip().lower() for c in first.split(delim)]
    if any(c in HASH_COLUMNS for c in head) and not is_pdq_hex(head[0]):
        return _with_header(text, delim)
    out: list[ListedHash] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in (line.split("\t") if "\t" in line else
                                     line.split(",") if "," in line else line.split())]
        if len(parts) >= 2 and parts[0].lower() == "pdq" and is_pdq_hex(parts[1].lower()):
            parts = parts[1:]  # `threatexchange hash photo` output
        h = parts[0].lower()
        if not is_pdq_hex(h):
            raise HashListError(f"line {n}: not a PDQ hash (64 hex digits): {parts[0][:70]!r}")
        quality = _int(parts[1]) if len(parts) > 1 else None
        out.append(ListedHash(h, quality, None, n))
    return out, 0


def _with_header(text: str, delim: str) -> tuple[list[ListedHash], int]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delim)
    fields = {f.strip().lower(): f for f in reader.fieldnames or []}
    hash_col = next(fields[c] for c in HASH_COLUMNS if c in fields)
    type_col = next((fields[c] for c in TYPE_COLUMNS if c in fields), None)
    qual_col = fields.get("quality")
    cat_col = fields.get("category")
    out: list[ListedHash] = []
    skipped = 0
    for row in reader:
        n = reader.line_num
        if type_col and (row.get(type_col) or "").strip().lower() not in PDQ_TYPES:
            skipped += 1
            continue
        h = (row.get(hash_col) or "").strip().lower()
        if not h:
            continue
        if not is_pdq_hex(h):
            raise HashListError(f"line {n}: not a PDQ hash (64 hex digits): {h[:70]!r}")
        out.append(ListedHash(h, _int(row.get(qual_col)) if qual_col else None,
                              (row.get(cat_col) or "").strip() or None if cat_col else None, n))
    return out, skipped


def _int(v: object) -> int | None:
    try:
        q = int(str(v).strip())
    except (TypeError, ValueError):
        return None
    return q if 0 <= q <= 100 else None


def write_hash_list(rows: Iterable[tuple[str, int | None, str, str, str]], out: IO[str],
                    fmt: str = "csv") -> int:
    """rows: (pdq, quality, bank, category, entry_id). Returns how many were written."""
    n = 0
    if fmt == "lines":
        for pdq, quality, *_ in rows:
            out.write(f"{pdq},{'' if quality is None else quality}\n")
            n += 1
        return n
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["signal_type", "signal_value", "quality", "bank", "category", "entry_id"])
    for pdq, quality, bank, category, entry_id in rows:
        w.writerow(["pdq", pdq, "" if quality is None else quality, bank, category, entry_id])
        n += 1
    return n
