"""`tidebreak factcheck ...`: match posts to fact-checked claims, prebuild an index.

    tidebreak factcheck match -i QUERIES.jsonl --claims CLAIMS.jsonl -k 5 -o OUT.jsonl
    tidebreak factcheck match --index DIR < queries.jsonl > matches.jsonl
    tidebreak factcheck index --claims CLAIMS.jsonl -o DIR

Queries: one JSON object per line, `{"id", "text"}` (optional `urls`: a list of strings).
Claims: JSON Lines of `{"id", "text", ...}` or ClaimReview JSON-LD, or .json/.csv (see
`tidebreak.factcheck.claimreview`); omitted = the bundled fact-checks. Output: one line per good
query, in input order, `{"id": ..., "matches": [{"claim_id": ..., "score": ...}, ...]}` best
first, score the calibrated match probability (1.0 for a URL match).

Bad lines (in the queries or the claims) are reported as `error: [FILE ]line N: reason` on stderr;
every good line is still answered, and the exit status is 2 at the end. Duplicate claim ids are
reported as warnings (the first is kept) and do not change the exit status.
"""

from __future__ import annotations

import json
import sys
import time
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


def _queries(stream: TextIO) -> Iterator[tuple[int, str | None, str | None, tuple[str, ...], str | None]]:
    """(line number, id, text, urls, error)."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, None, None, (), f"invalid JSON: {e.msg} at column {e.colno}"
            continue
        if not isinstance(obj, dict):
            yield n, None, None, (), "expected a JSON object"
            continue
        if "id" not in obj or obj["id"] is None:
            yield n, None, None, (), "missing field 'id'"
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            yield n, None, None, (), "missing or non-string field 'text'"
            continue
        urls = obj.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            yield n, None, None, (), "field 'urls' must be a list of strings"
            continue
        yield n, obj["id"], text, tuple(urls), None


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
        batch: list[tuple[Any, str, tuple[str, ...]]] = []

        def flush() -> None:
            if not batch:
                return
            res = idx.search([t for _, t, _ in batch], k=k, urls=[u for _, _, u in batch])
            for (qid, _, _), ms in zip(batch, res):
                fout.write(json.dumps({"id": qid, "matches": [m.to_dict() for m in ms]},
                                      ensure_ascii=False) + "\n")
            batch.clear()

        for n, qid, text, urls, err in _queries(fin):
            if err is not None:
                _err(f"error: line {n}: {err}")
                bad += 1
                continue
            batch.append((qid, text, urls))  # type: ignore[arg-type]
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
