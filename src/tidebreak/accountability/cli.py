"""CLI sub-apps: `tidebreak sor ...`, `tidebreak report ...`, `tidebreak ads ...`.

Like every command: --db URL or TIDEBREAK_DATABASE_URL; bad input exits 2 with one line
`error: ...` on stderr and changes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from tidebreak.clock import parse_time
from tidebreak.errors import BadInput

sor_app = typer.Typer(help="Statements of reasons (EU DSA Transparency Database format).",
                      no_args_is_help=True)
report_app = typer.Typer(help="Transparency and advertiser reports.", no_args_is_help=True)
ads_app = typer.Typer(help="Ad rules: political-ad authorisations and the adjacency ledger.",
                      no_args_is_help=True)

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
FromOpt = Annotated[Optional[str], typer.Option("--from", help="Start (ISO date or time, UTC "
                    "if no zone), included.")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="End (ISO date or time), excluded.")]


def _fail(reason: str, code: int = 2) -> Any:
    from tidebreak.cli_io import fail

    return fail(reason, code)


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from tidebreak.cli_io import open_engine

    return open_engine(db)


def _tenant() -> str:
    from tidebreak.config import Settings

    return Settings.from_env().tenant


def parse_when(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_time(raw, name)
    except BadInput as e:
        _fail(str(e))


def _write_text(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        _fail(f"cannot write {path}: {e.strerror}")


# -- sor -----------------------------------------------------------------------------------------


@sor_app.command("export")
def sor_export(output: Annotated[Path, typer.Option("-o", "--output", help="Directory for "
                                                    "sor-NNNNNN.json batches and statements.csv.")],
               start: FromOpt = None, end: ToOpt = None, db: DbOpt = None) -> None:
    """Write statements as JSON batches of at most 100 ({"statements": [...]}) plus CSV;
    statements already in the directory (by puid) are not written again."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.export import export

    t0, t1 = parse_when(start, "--from"), parse_when(end, "--to")
    if output.exists() and not output.is_dir():
        _fail(f"{output} is not a directory")
    engine = _engine(db)
    try:
        with Session(engine) as s:
            res = export(s, _tenant(), output, start=t0, end=t1)
    except ValueError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror}")
    for line in res.invalid:
        print(f"error: invalid statement {line}", file=sys.stderr)
    print(f"exported {res.written} statements in {len(res.files)} files to {output} "
          f"({res.skipped_existing} already there)")
    if res.invalid:
        raise typer.Exit(1)


@sor_app.command("show")
def sor_show(puid: str, db: DbOpt = None,
             text: Annotated[bool, typer.Option("--text", help="Print the user notice as text.")] = False) -> None:
    """One statement of reasons and its user notice, as JSON (or the notice as text)."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.notices import render_notice
    from tidebreak.store.schema import StatementRow

    engine = _engine(db)
    with Session(engine) as s:
        row = s.get(StatementRow, puid)
    if row is None or row.tenant != _tenant():
        _fail(f"no statement {puid!r}")
    if text:
        print(render_notice(row.notice))
        return
    print(json.dumps({"puid": row.puid, "decision_id": row.decision_id,
                      "subject": {"type": row.subject_type, "id": row.subject_id},
                      "schema_version": row.schema_version, "statement": row.statement,
                      "notice": row.notice}, ensure_ascii=False, indent=2))


@sor_app.command("validate")
def sor_validate(file: Annotated[Path, typer.Argument(help="A {\"statements\": [...]} batch")]) -> None:
    """Check a batch file against the DSA schema: one line per problem; exit 2 if any."""
    from tidebreak.accountability.sor_schema import SCHEMA_VERSION, validate_batch

    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror}")
    except ValueError as e:
        _fail(f"{file}: malformed JSON: {e}")
    if not isinstance(payload, dict) or not isinstance(payload.get("statements"), list):
        _fail(f'{file}: expected {{"statements": [...]}}')
    problems = validate_batch(payload["statements"])
    for p in problems:
        print(f"{file}: {p}", file=sys.stderr)
    if problems:
        raise typer.Exit(2)
    print(f"{file}: {len(payload['statements'])} statements valid ({SCHEMA_VERSION})")


# -- reports -------------------------------------------------------------------------------------


@report_app.command("transparency")
def report_transparency(
        start: Annotated[str, typer.Option("--from", help="Start (ISO date or time), included.")],
        end: Annotated[str, typer.Option("--to", help="End (ISO date or time), excluded.")],
        output: Annotated[Optional[list[Path]], typer.Option(
            "-o", "--output", help="File(s) to write; .json, .csv or .html (repeatable).")] = None,
        fmt: Annotated[str, typer.Option("--format", help="json, csv or html for stdout.")] = "json",
        seed: Annotated[int, typer.Option(help="Prevalence sample seed.")] = 0,
        sample_size: Annotated[int, typer.Option(help="Views drawn for prevalence.")] = 1000,
        db: DbOpt = None) -> None:
    """Content actioned, accounts/groups restricted, proactive rate, appeals and restorations,
    overturned automated decisions, reviewer volumes and times, prevalence."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.report_html import to_html
    from tidebreak.accountability.transparency import build_report, to_csv

    t0, t1 = parse_when(start, "--from"), parse_when(end, "--to")
    assert t0 is not None and t1 is not None
    if t1 <= t0:
        _fail("--to must be after --from")
    if sample_size < 0:
        _fail("--sample-size must be >= 0")
    writers = {"json": lambda r: json.dumps(r, ensure_ascii=False, indent=2) + "\n",
               "csv": to_csv, "html": to_html}
    targets: list[tuple[Path | None, str]] = []
    for p in output or []:
        kind = p.suffix.lower().lstrip(".")
        if kind not in writers:
            _fail(f"{p}: use a .json, .csv or .html file name")
        targets.append((p, kind))
    if not targets:
        if fmt not in writers:
            _fail(f"--format must be json, csv or html, got {fmt!r}")
        targets.append((None, fmt))
    engine = _engine(db)
    with Session(engine) as s:
        report = build_report(s, _tenant(), t0, t1, seed=seed, sample_size=sample_size)
    for path, kind in targets:
        _write_text(path, writers[kind](report))
        if path is not None:
            print(f"wrote {path}", file=sys.stderr)


@report_app.command("advertiser")
def report_advertiser(advertiser: str, start: FromOpt = None, end: ToOpt = None,
                      output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                        help="Write here (.json, or .csv for the make-good lines).")] = None,
                      db: DbOpt = None) -> None:
    """Impressions and spend next to content later removed (make-good), and brand-safety
    figures by GARM category and risk level."""
    import csv
    import io

    from sqlalchemy.orm import Session

    from tidebreak.accountability.adjacency import advertiser_report

    t0, t1 = parse_when(start, "--from"), parse_when(end, "--to")
    if output is not None and output.suffix.lower() not in (".json", ".csv"):
        _fail(f"{output}: use a .json or .csv file name")
    engine = _engine(db)
    with Session(engine) as s:
        rep = advertiser_report(s, _tenant(), advertiser, start=t0, end=t1)
    if output is not None and output.suffix.lower() == ".csv":
        buf = io.StringIO()
        cols = ["impression_id", "ad_id", "content_id", "surface", "served_at", "spend",
                "currency", "removed_at", "removed_after_serving", "rules", "categories",
                "garm_category"]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for item in rep["make_good"]["items"]:
            w.writerow([";".join(v) if isinstance(v, list) else ("" if v is None else v)
                        for v in (item[c] for c in cols)])
        _write_text(output, buf.getvalue())
        return
    _write_text(output, json.dumps(rep, ensure_ascii=False, indent=2) + "\n")


# -- ads -----------------------------------------------------------------------------------------


@ads_app.command("authorise")
def ads_authorise(advertiser: str,
                  paid_for_by: Annotated[str, typer.Option("--paid-for-by", help="The verified byline.")],
                  until: Annotated[Optional[str], typer.Option(help="Expiry (ISO date or time).")] = None,
                  by: Annotated[str, typer.Option("--by", help="Who authorises.")] = "cli",
                  db: DbOpt = None) -> None:
    """Authorise an advertiser for ads about social issues, elections or politics."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.ads import AdAuthorisationError, authorise

    expires = parse_when(until, "--until")
    engine = _engine(db)
    try:
        with Session(engine) as s, s.begin():
            authorise(s, tenant=_tenant(), advertiser=advertiser, paid_for_by=paid_for_by, by=by,
                      now=datetime.now(timezone.utc), expires_at=expires)
    except AdAuthorisationError as e:
        _fail(str(e))
    print(f"authorised {advertiser}: ads must say 'Paid for by {paid_for_by.strip()}'")


@ads_app.command("revoke")
def ads_revoke(advertiser: str, by: Annotated[str, typer.Option("--by")] = "cli",
               db: DbOpt = None) -> None:
    """Revoke an advertiser's political-ad authorisation."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.ads import revoke

    engine = _engine(db)
    with Session(engine) as s, s.begin():
        done = revoke(s, tenant=_tenant(), advertiser=advertiser, by=by,
                      now=datetime.now(timezone.utc))
    if not done:
        _fail(f"{advertiser!r} has no authorisation in force")
    print(f"revoked {advertiser}")


@ads_app.command("impressions")
def ads_impressions(file: Annotated[Path, typer.Argument(help="JSONL impressions")],
                    db: DbOpt = None) -> None:
    """Record ad impressions {impression_id, ad_id, advertiser, content_id, served_at, spend}
    in the adjacency ledger (idempotent by impression_id; all or nothing)."""
    from sqlalchemy.orm import Session

    from tidebreak.accountability.adjacency import ImpressionError, ingest, parse_impression

    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror}")
    except UnicodeDecodeError:
        _fail(f"{file}: not UTF-8")
    imps = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            imps.append(parse_impression(json.loads(line)))
        except ValueError as e:  # JSONDecodeError and ImpressionError
            _fail(f"line {n}: {e}")
    engine = _engine(db)
    try:
        with Session(engine) as s, s.begin():
            added, dupes = ingest(s, _tenant(), imps, actor="cli", now=datetime.now(timezone.utc))
    except ImpressionError as e:
        _fail(str(e))
    print(f"recorded {added} impressions ({dupes} already recorded)")
