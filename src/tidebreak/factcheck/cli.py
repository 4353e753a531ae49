"""`tidebreak factcheck ...`: match posts to fact-checked claims, prebuild an index.

    tidebreak factcheck match -i QUERIES.jsonl --claims CLAIMS.jsonl -k 5 -o OUT.jsonl
    tidebreak factcheck match --index DIR < queries.jsonl > matches.jsonl
    tidebreak factcheck index --claims CLAIMS.jsonl -o DIR
    tidebreak factcheck import FILE [--db URL] [--tenant T]     (store; see factcheck.store)
    tidebreak factcheck export -o FILE [--db URL] [--tenant T]  (ClaimReview JSON-LD)
    tidebreak factcheck backfill [--since DAYS] [--chunk N]     (see factcheck.backfill)

Queries: one JSON object per line, `{"id", "text"}` (optional `urls`: a list of strings;
optional `created_at`: when the post was made, an ISO 8601 date or datetime such as "2019-06-04"
or "2019-06-04T10:00:00Z", which the matcher compares with the dates a claim names).
Claims: JSON Lines of `{"id", "text", ...}` or ClaimReview JSON-LD, or .json/.csv (see
`tidebreak.factcheck.claimreview`); omitted = the bundled fact-checks. Output: one line per good
query, in input order, `{"id": ..., "matches": [{"claim_id": ..., "score": ...}, ...]}` best
first, score the calibrated match probability (1.0 for a URL match). Records of one claim (same
words, fact-checker and rating) take one place, under the earliest; a match then also lists the
others as `"same_claim": [ids]`.

Bad lines (in the queries or the claims) are reported as `error: [FILE ]line N: reason` on stderr;
every good line is still answered, and the exit status is 2 at the end. Duplicate claim ids are
reported as warnings (the first is kept) and do not change the exit status.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional, TextIO

import typer

factcheck_app = typer.Typer(
    help="Fact-checks: match posts to fact-checked claims, prebuild a claim index.",
    no_args_is_help=True,
)

BATCH = 256


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")


def _load_claims(path: Path | None) -> tuple[list[Any], int]:
    """(fact-checks, number of bad records); problems are reported on stderr."""
    from tidebreak.detect.factcheck import BUNDLED
    from tidebreak.factcheck.claimreview import FactCheckError, dedupe, read_factchecks

    p = path if path is not None else BUNDLED
    if not p.is_file():
        if path is None:
            _err(f"warning: bundled fact-checks {p} not found; matching against nothing")
            return [], 0
        raise typer.BadParameter(f"no such file: {p}", param_hint="--claims")
    fcs = []
    bad = 0
    try:
        records = list(read_factchecks(p))
    except (OSError, UnicodeDecodeError) as e:
        raise typer.BadParameter(f"cannot read {p}: {e}", param_hint="--claims") from None
    for n, res in records:
        if isinstance(res, FactCheckError):
            _err(f"error: {p.name} line {n}: {res}")
            bad += 1
        else:
            fcs.extend(res)
    unique, dups = dedupe(fcs)
    for d in dups:
        _err(f"warning: {p.name}: {d.message()}")
    return unique, bad


Query = tuple[int, Any, str | None, tuple[str, ...], datetime | None, str | None]


def _queries(stream: TextIO) -> Iterator[Query]:
    """(line number, id, text, urls, created_at, error)."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, None, None, (), None, f"invalid JSON: {e.msg} at column {e.colno}"
            continue
        if not isinstance(obj, dict):
            yield n, None, None, (), None, "expected a JSON object"
            continue
        if "id" not in obj or obj["id"] is None:
            yield n, None, None, (), None, "missing field 'id'"
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            yield n, None, None, (), None, "missing or non-string field 'text'"
            continue
        urls = obj.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            yield n, None, None, (), None, "field 'urls' must be a list of strings"
            continue
        from tidebreak.factcheck.index import parse_post_date  # numpy/scipy: not at CLI start-up

        try:
            created_at = parse_post_date(obj.get("created_at"))
        except ValueError:
            yield n, None, None, (), None, "field 'created_at' must be an ISO 8601 date or datetime string"
            continue
        yield n, obj["id"], text, tuple(urls), created_at, None


@factcheck_app.command("match")
def match_cmd(
    input: Optional[Path] = typer.Option(None, "-i", "--input", help="Queries JSONL (default stdin)."),
    claims: Optional[Path] = typer.Option(None, "--claims", help="Claims: JSONL {id, text, ...} or ClaimReview (default: bundled)."),
    index: Optional[Path] = typer.Option(None, "--index", help="A prebuilt index directory (`factcheck index`)."),
    k: int = typer.Option(5, "-k", min=1, max=100, help="Matches per query."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output JSONL (default stdout)."),
) -> None:
    """Match each query to its top-k fact-checked claims."""
    from tidebreak.factcheck.claimreview import FactCheckError
    from tidebreak.factcheck.index import ClaimIndex

    bad = 0
    try:
        if index is not None:
            if claims is not None:
                raise typer.BadParameter("give --claims or --index, not both")
            idx = ClaimIndex.load(index)
        else:
            fcs, bad = _load_claims(claims)
            idx = ClaimIndex(fcs)
    except (FactCheckError, FileNotFoundError) as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None

    fin = open(input, encoding="utf-8") if input is not None else sys.stdin
    fout = open(output, "w", encoding="utf-8") if output is not None else sys.stdout
    try:
        batch: list[tuple[Any, str, tuple[str, ...], datetime | None]] = []

        def flush() -> None:
            if not batch:
                return
            res = idx.search([t for _, t, _, _ in batch], k=k, urls=[u for _, _, u, _ in batch],
                             dates=[d for _, _, _, d in batch])
            for (qid, _, _, _), ms in zip(batch, res):
                fout.write(json.dumps({"id": qid, "matches": [m.to_dict() for m in ms]},
                                      ensure_ascii=False) + "\n")
            batch.clear()

        for n, qid, text, urls, created_at, err in _queries(fin):
            if err is not None:
                _err(f"error: line {n}: {err}")
                bad += 1
                continue
            batch.append((qid, text, urls, created_at))  # type: ignore[arg-type]
            if len(batch) >= BATCH:
                flush()
        flush()
        fout.flush()
    finally:
        if input is not None:
            fin.close()
        if output is not None:
            fout.close()
    if bad:
        raise typer.Exit(2)


@factcheck_app.command("index")
def index_cmd(
    claims: Optional[Path] = typer.Option(None, "--claims", help="Claims file (default: bundled)."),
    output: Path = typer.Option(..., "-o", "--output", help="Directory to write the index to."),
) -> None:
    """Prebuild a claim index (vectors and fact-checks) so `match --index` starts fast."""
    from tidebreak.factcheck.claimreview import FactCheckError
    from tidebreak.factcheck.index import ClaimIndex

    t0 = time.perf_counter()
    fcs, bad = _load_claims(claims)
    try:
        idx = ClaimIndex(fcs)
    except (FactCheckError, FileNotFoundError) as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None
    idx.save(output)
    _err(f"indexed {len(idx)} claims in {time.perf_counter() - t0:.1f}s -> {output} "
         f"(fingerprint {idx.fingerprint})")
    if bad:
        raise typer.Exit(2)


# ------------------------------------------------------------------ the store: import, export, backfill

DbOpt = Optional[str]


def _store(db: str | None) -> Any:
    """Open (and migrate) the store; an unreachable database is one line and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from tidebreak.runtime import open_store

    try:
        return open_store(db)
    except (SQLAlchemyError, OSError) as e:
        _err(f"error: cannot open the database: {str(e).splitlines()[0]}")
        raise typer.Exit(2) from None


def _tenant(tenant: str | None) -> str:
    from tidebreak.config import Settings

    return tenant or Settings.from_env().tenant


@factcheck_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="ClaimReview JSON-LD (.json), JSON Lines or CSV."),
    db: DbOpt = typer.Option(None, "--db", help="Database URL (default: $TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db)."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Tenant (default: $TIDEBREAK_TENANT)."),
    actor: str = typer.Option("cli", "--actor", help="Who imports, for the ledger."),
) -> None:
    """Store fact-checks for the tenant's factcheck detector. One bad record imports nothing
    (exit 2); duplicates are reported, never silently dropped."""
    from sqlalchemy.orm import Session

    from tidebreak.factcheck.claimreview import read_factchecks
    from tidebreak.factcheck.store import ImportRejected, import_factchecks, parse_records
    from tidebreak.pipeline import utcnow

    if not file.is_file():
        _err(f"error: no such file: {file}")
        raise typer.Exit(2)
    try:
        fcs = parse_records(read_factchecks(file), file.name)
    except (OSError, UnicodeDecodeError) as e:
        _err(f"error: cannot read {file}: {e}")
        raise typer.Exit(2) from None
    except ImportRejected as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None
    engine = _store(db)
    try:
        with Session(engine) as s, s.begin():
            res = import_factchecks(s, tenant=_tenant(tenant), factchecks=fcs, actor=actor,
                                    now=utcnow(), source=file.name)
    except ImportRejected as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    # Each id is named (up to 10 per kind, so a re-import of 10k records stays readable).
    aliased = [f"{given!r} is the same fact-check as {used!r} (same review URL and claim); "
               "stored once" for given, used in res.aliased]
    for ids, what in ((aliased, "note: claim id {}"),
                      (res.duplicates, f"warning: {file.name}: duplicate claim id {{!r}} (identical copy); stored once"),
                      (res.unchanged, "note: claim id {!r} is already stored, identical; unchanged"),
                      (res.replaced, "note: claim id {!r} replaced a different stored record (kept in its history)")):
        for cid in ids[:10]:
            _err(what.format(cid))
        if len(ids) > 10:
            _err(f"note: ... and {len(ids) - 10} more like that")
    print(json.dumps({k: v for k, v in res.to_dict().items() if not k.endswith("_ids")}))


@factcheck_app.command("export")
def export_cmd(
    output: Path = typer.Option(..., "-o", "--output", help="File to write: a JSON array of ClaimReview (JSON-LD); .jsonl gives one per line."),
    db: DbOpt = typer.Option(None, "--db", help="Database URL."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Tenant (default: $TIDEBREAK_TENANT)."),
) -> None:
    """Write the tenant's stored fact-checks as schema.org ClaimReview again."""
    from sqlalchemy.orm import Session

    from tidebreak.factcheck.claimreview import to_claimreview
    from tidebreak.factcheck.store import load_factchecks

    engine = _store(db)
    try:
        with Session(engine) as s:
            fcs = load_factchecks(s, _tenant(tenant))
    finally:
        engine.dispose()
    docs = [{"@context": "https://schema.org", **to_claimreview(fc)} for fc in fcs]
    try:
        with open(output, "w", encoding="utf-8") as f:
            if output.suffix.lower() in (".jsonl", ".ndjson"):
                f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
            else:
                json.dump(docs, f, ensure_ascii=False, indent=1)
                f.write("\n")
    except OSError as e:
        _err(f"error: cannot write {output}: {e}")
        raise typer.Exit(2) from None
    _err(f"exported {len(docs)} fact-checks -> {output}")


@factcheck_app.command("backfill")
def backfill_cmd(
    since: float = typer.Option(30.0, "--since", min=0.0, help="Window: content created in the last DAYS days."),
    chunk: int = typer.Option(200, "--chunk", min=1, max=10000, help="Items per chunk (the cursor moves per chunk)."),
    db: DbOpt = typer.Option(None, "--db", help="Database URL."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Tenant (default: $TIDEBREAK_TENANT)."),
) -> None:
    """Match stored content against newly imported fact-checks only and re-decide the matches
    through the pipeline (label, reduce, remove by policy; notices to earlier sharers).
    An interrupted run resumes from its cursor."""
    from tidebreak.factcheck.backfill import run_backfill
    from tidebreak.runtime import build_pipeline

    engine = _store(db)
    try:
        pipeline = build_pipeline(engine, tenant=_tenant(tenant))
        reports = run_backfill(engine, pipeline, since_days=since, chunk=chunk)
    finally:
        engine.dispose()
    if not reports:
        _err("no new fact-checks since the last backfill; nothing to do")
    for r in reports:
        print(json.dumps({"run_id": r.run_id, "resumed": r.resumed, "fact_checks": len(r.claim_ids),
                          "scanned": r.scanned, "matched": r.matched, "actioned": r.actioned,
                          "notices": r.notices}))
