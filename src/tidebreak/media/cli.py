"""Command bodies for images: `tidebreak hash`, `bank add --image`, `bank import|export`.

Registered on the main app by `register` (tidebreak.cli keeps one line for it). Bad input exits
2 with one `error: ...` line (tidebreak.cli_io.fail) and changes nothing stored.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from tidebreak.cli_io import fail, open_engine, open_output
from tidebreak.config import Settings


def hash_image_file(path: Path, settings: Settings) -> tuple[str, int]:
    """(pdq, quality) of one image file, or a MediaError."""
    from tidebreak.media.decode import decode_image
    from tidebreak.media.load import read_path
    from tidebreak.media.pdq import hash_image

    data = read_path(path, settings.media_max_bytes, str(path))
    decoded = decode_image(data, max_pixels=settings.media_max_pixels, label=str(path))
    h = hash_image(decoded.image, dihedral=False)
    return h.pdq, h.quality


def hash_cmd(paths: Annotated[list[Path], typer.Argument(help="Image files.")]) -> None:
    """Print the PDQ hash of each image, one JSON line each: {"path", "pdq", "quality"} (the
    hash HMA and ThreatExchange compute; quality under 50 is too featureless to match on)."""
    from tidebreak.ingest import InvalidInput

    settings = Settings.from_env()
    bad = 0
    for path in paths:
        try:
            pdq, quality = hash_image_file(path, settings)
        except InvalidInput as e:
            bad += 1
            print(f"error: {e}", file=sys.stderr)
            continue
        print(json.dumps({"path": str(path), "pdq": pdq, "quality": quality}), flush=True)
    if bad:
        raise typer.Exit(2)


def bank_add_image(image: Path, *, bank: str, category: str, note: str | None, added_by: str,
                   db: str | None) -> tuple[str, bool]:
    """`tidebreak bank add --image PATH`: (entry id, created)."""
    from sqlalchemy.orm import Session

    from tidebreak.ingest import InvalidInput
    from tidebreak.detect.bank_store import BankError, add_image_entry

    settings = Settings.from_env()
    try:
        pdq, quality = hash_image_file(image, settings)
    except InvalidInput as e:
        fail(str(e))
    engine = open_engine(db)
    try:
        with Session(engine) as s, s.begin():
            row, created = add_image_entry(s, tenant=settings.tenant, pdq=pdq, quality=quality,
                                           bank=bank, category=category, added_by=added_by,
                                           now=datetime.now(timezone.utc), note=note)
            entry_id = row.entry_id
    except BankError as e:
        fail(str(e))
    return entry_id, created


def bank_import(file: Annotated[Path, typer.Argument(help="Hash list (CSV, TSV or one hash "
                                                          "per line).")],
                bank: Annotated[str, typer.Option(help="Bank to add them to.")] = "imported",
                category: Annotated[str, typer.Option(help="Category for rows without one.")]
                = "known_violating",
                added_by: Annotated[str, typer.Option("--by", help="Who imports it.")] = "import",
                db: Annotated[Optional[str], typer.Option("--db", help="Database URL.")] = None,
                ) -> None:
    """Import a shared PDQ hash list (HMA / ThreatExchange formats; see README). All or
    nothing: one bad line refuses the whole file."""
    from sqlalchemy.orm import Session

    from tidebreak.media.banklists import HashListError, read_hash_list
    from tidebreak.model import CATEGORIES
    from tidebreak.detect.bank_store import BankError, add_image_entry

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    try:
        rows, skipped = read_hash_list(text)
    except HashListError as e:
        fail(f"{file}: {e}")
    for r in rows:
        if r.category and r.category not in CATEGORIES:
            fail(f"{file}: line {r.line}: unknown category {r.category!r}")
    engine = open_engine(db)
    settings = Settings.from_env()
    added = low = 0
    now = datetime.now(timezone.utc)
    try:
        with Session(engine) as s, s.begin():
            for r in rows:
                if r.quality is not None and r.quality < 50:
                    low += 1
                    continue
                _, created = add_image_entry(s, tenant=settings.tenant, pdq=r.pdq,
                                             quality=r.quality, bank=bank,
                                             category=r.category or category, added_by=added_by,
                                             now=now, note=f"imported from {file.name}")
                added += created
    except BankError as e:
        fail(f"{file}: {e}")
    print(f"imported {added} new hashes into bank {bank!r} ({len(rows) - added - low} already "
          f"banked, {low} under quality 50 skipped, {skipped} rows of other signal types)")


def bank_export(output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                               help="File (default: stdout).")]
                = None,
                bank: Annotated[Optional[str], typer.Option(help="Only this bank.")] = None,
                fmt: Annotated[str, typer.Option("--format", help="csv (HMA columns) or lines "
                                                 "(hash,quality).")] = "csv",
                db: Annotated[Optional[str], typer.Option("--db", help="Database URL.")] = None,
                ) -> None:
    """Export banked image hashes as a shared hash list."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.media.banklists import write_hash_list
    from tidebreak.store.schema import BankEntryRow

    if fmt not in ("csv", "lines"):
        fail("--format must be csv or lines")
    engine = open_engine(db)
    with Session(engine) as s:
        q = select(BankEntryRow.pdq, BankEntryRow.pdq_quality, BankEntryRow.bank,
                   BankEntryRow.category, BankEntryRow.entry_id).where(
            BankEntryRow.tenant == Settings.from_env().tenant, BankEntryRow.active.is_(True),
            BankEntryRow.pdq.is_not(None))
        if bank:
            q = q.where(BankEntryRow.bank == bank)
        rows = [tuple(r) for r in s.execute(q.order_by(BankEntryRow.created_at))]
    with open_output(output) as dst:
        n = write_hash_list(rows, dst, fmt)  # type: ignore[arg-type]
    if output is not None:
        print(f"exported {n} hashes to {output}")


def register(app: typer.Typer, bank_app: typer.Typer) -> None:
    app.command("hash")(hash_cmd)
    bank_app.command("import")(bank_import)
    bank_app.command("export")(bank_export)
