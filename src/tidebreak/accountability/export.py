"""`tidebreak sor export`: statements as the Transparency Database's batch payload.

JSON files `sor-000001.json`, ... each hold `{"statements": [...]}` with at most 100 statements
(the API's batch limit), ready to POST to /api/v1/statements. Export is idempotent by puid: a
statement whose puid is already in a file of the directory is not written again, so running it
every hour only adds new files. `statements.csv` is rewritten with every statement exported to
the directory, in the public dumps' column order.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.accountability import sor_schema as schema
from tidebreak.store.schema import StatementRow

_BATCH_FILE = re.compile(r"^sor-(\d{6,})\.json$")


@dataclass(frozen=True)
class ExportResult:
    written: int
    skipped_existing: int
    invalid: list[str]  # "puid: problem; problem"
    files: list[Path]


def statements(session: Session, tenant: str, *, start: datetime | None = None,
               end: datetime | None = None, batch: int = 1000) -> Iterator[StatementRow]:
    """Statements oldest first, read in pages (keyset on created_at, puid)."""
    last: tuple[datetime, str] | None = None
    while True:
        q = select(StatementRow).where(StatementRow.tenant == tenant)
        if start is not None:
            q = q.where(StatementRow.created_at >= start)
        if end is not None:
            q = q.where(StatementRow.created_at < end)
        if last is not None:
            q = q.where((StatementRow.created_at > last[0])
                        | ((StatementRow.created_at == last[0]) & (StatementRow.puid > last[1])))
        rows = list(session.execute(q.order_by(StatementRow.created_at, StatementRow.puid)
                                    .limit(batch)).scalars())
        if not rows:
            return
        yield from rows
        last = (rows[-1].created_at, rows[-1].puid)


def _existing(directory: Path) -> tuple[list[dict[str, Any]], int]:
    """Statements already exported to `directory`, and the highest batch number used."""
    found: list[dict[str, Any]] = []
    top = 0
    for f in sorted(directory.glob("sor-*.json")):
        m = _BATCH_FILE.match(f.name)
        if not m:
            continue
        top = max(top, int(m.group(1)))
        try:
            payload = json.loads(f.read_text(encoding="utf-8"))
            found.extend(payload["statements"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{f}: not a statements batch ({e})") from None
    return found, top


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return json.dumps(v)  # the dumps write arrays as JSON text
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(schema.CSV_COLUMNS)
        for s in rows:
            w.writerow([_csv_value(s.get(c)) for c in schema.CSV_COLUMNS])


def export(session: Session, tenant: str, directory: Path, *, start: datetime | None = None,
           end: datetime | None = None) -> ExportResult:
    directory.mkdir(parents=True, exist_ok=True)
    done, top = _existing(directory)
    seen = {s.get("puid") for s in done}
    fresh: list[dict[str, Any]] = []
    invalid: list[str] = []
    skipped = 0
    for row in statements(session, tenant, start=start, end=end):
        if row.puid in seen:
            skipped += 1
            continue
        problems = schema.validate(row.statement)
        if problems:  # e.g. stored under an older schema version: never send it broken
            invalid.append(f"{row.puid}: {'; '.join(problems)}")
            continue
        seen.add(row.puid)
        fresh.append(row.statement)
    files: list[Path] = []
    for i in range(0, len(fresh), schema.BATCH_MAX):
        top += 1
        path = directory / f"sor-{top:06d}.json"
        chunk = fresh[i:i + schema.BATCH_MAX]
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"statements": chunk}, ensure_ascii=False, indent=1) + "\n",
                       encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a batch
        files.append(path)
    write_csv(directory / "statements.csv", done + fresh)
    return ExportResult(len(fresh), skipped, invalid, files)
