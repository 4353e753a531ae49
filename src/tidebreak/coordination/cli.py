"""`tidebreak coordination ...`: detect coordinated groups, simulate planted groups, evaluate.

Input problems are reported one per line on stderr (`error: line N: reason`, or
`warning: line N: ...` for an exact duplicate delivery), then one summary line; good lines are
still processed and written, and any rejected line makes the exit status 2.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from tidebreak.cli_io import fail, open_input, open_output

coordination_app = typer.Typer(
    help="Coordinated behaviour: accounts pushing the same links or text in lockstep.",
    no_args_is_help=True)


@coordination_app.command()
def detect(
    input: Annotated[Optional[Path], typer.Option("-i", "--input", help="Events, JSONL or CSV "
                     "(default: stdin).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Groups, JSONL "
                      "(default: stdout).")] = None,
    window: Annotated[Optional[float], typer.Option(help="One co-action window W in seconds "
                      "(|dt| <= W), no significance test. Default: every pace, windows "
                      "10 s, 1 min, 10 min and 1 h, each edge tested against the accounts' own "
                      "co-action volume.")] = None,
    auto_window: Annotated[bool, typer.Option(help="Estimate W from the data (CooRnet: median "
                           "time for the fastest 10% of objects to reach half their shares).")]
    = False,
    min_weight: Annotated[int, typer.Option(help="Minimum co-actions on an edge.")] = 3,
    percentile: Annotated[float, typer.Option(help="Also drop edges below this weight quantile "
                          "(0 = off).")] = 0.0,
    min_score: Annotated[float, typer.Option(help="Report groups scoring at least this.")]
    = 0.70,
    engine: Annotated[str, typer.Option(help="auto (DuckDB out of core above "
                      "--out-of-core-above events, else in memory), memory or duckdb.")]
    = "auto",
    out_of_core_above: Annotated[int, typer.Option(help="File size in events (estimated from "
                                 "bytes) above which --engine auto uses DuckDB.")] = 2_000_000,
    fmt: Annotated[Optional[str], typer.Option("--format", help="jsonl or csv (default: from "
                   "the file name, else jsonl).")] = None,
    stats: Annotated[Optional[Path], typer.Option(help="Write input and detection counts "
                     "(JSON) here.")] = None,
    review: Annotated[bool, typer.Option(help="Open a review case per group in the store "
                      "(queue 'coordination'); never an automatic action.")] = False,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL for --review (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant for --review.")] = "default",
) -> None:
    """Find groups of accounts acting on the same objects within W seconds, again and again.
    Output lines: {"group_id", "accounts", "score", "evidence"}, strongest first."""
    from tidebreak.coordination.detect import DetectionParams
    from tidebreak.coordination.detect import detect as run_detect
    from tidebreak.coordination.events import read_events

    if window is not None and window < 0:
        fail("--window must be >= 0 seconds")
    if engine not in ("auto", "memory", "duckdb"):
        fail(f"unknown --engine {engine!r} (auto, memory or duckdb)")
    fmt = fmt or ("csv" if input is not None and input.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        fail(f"unknown --format {fmt!r} (jsonl or csv)")
    if engine == "auto":
        # ~120 bytes an event in JSONL; stdin of unknown size stays in memory
        big = input is not None and input.exists() and \
            input.stat().st_size > 120 * out_of_core_above
        engine = "duckdb" if big and not auto_window else "memory"
    params = DetectionParams(window=window, auto_window=auto_window, min_weight=min_weight,
                             percentile=percentile, min_score=min_score)
    try:
        if engine == "duckdb":
            from tidebreak.coordination.events import EventReader
            from tidebreak.coordination.outofcore import OutOfCore, read_chunks

            reader = EventReader(compact=True)
            with open_input(input) as src, OutOfCore(params) as ooc:
                for chunk in read_chunks(src, fmt, reader):
                    ooc.add(chunk)
                result = ooc.run()
            report = reader.report
        else:
            with open_input(input) as src:
                events, report = read_events(src, fmt)
            result = run_detect(events, params)
    except ValueError as e:  # e.g. --auto-window with nothing shared twice
        fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except (OSError, MemoryError) as e:  # disk full for DuckDB's spill files, and the like
        fail(f"detection failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
             1)
    except Exception as e:  # noqa: BLE001 - duckdb.Error and kin: one line, not a traceback
        if type(e).__module__.split(".")[0] != "duckdb" and type(e).__module__ != "_duckdb":
            raise
        fail(f"out-of-core detection failed: {str(e).splitlines()[0]}", 1)
    problems = [(n, f"error: line {n}: {m}") for n, m in report.errors]
    problems += [(n, f"warning: line {n}: {m}") for n, m in report.notes]
    for _, line in sorted(problems, key=lambda p: p[0]):
        print(line, file=sys.stderr)
    with open_output(output) as dst:
        for g in result.groups:
            dst.write(json.dumps(g.to_output(), ensure_ascii=False) + "\n")
    unmatched = result.stats.get("unmatchable", {})
    print(f"coordination: {report.summary()}; "
          f"{sum(unmatched.values())} texts too short to match; "
          f"{result.stats.get('viral_objects', 0)} viral objects not paired; "
          f"windows {', '.join(f'{w:g}' for w in result.stats['windows_s'])} s "
          f"({result.stats.get('engine', 'memory')}); {len(result.groups)} groups reported, "
          f"{len(result.below_threshold)} below score {min_score:g}", file=sys.stderr)
    if stats is not None:
        stats.write_text(json.dumps({"input": report.to_dict(), "detection": result.stats},
                                    indent=2, default=str), encoding="utf-8")
    if review and result.groups:
        _open_review_cases(result.groups, db, tenant)
    if report.rejected_total:
        raise typer.Exit(2)


def _open_review_cases(groups: list[Any], db: str | None, tenant: str) -> None:
    from sqlalchemy.orm import Session

    from tidebreak.coordination.review import open_cases
    from tidebreak.store.db import open_store

    try:
        engine = open_store(db)
    except Exception as e:  # noqa: BLE001 - a bad URL or an unreachable server is user input
        fail(f"cannot open database: {str(e).splitlines()[0]}")
    with Session(engine) as s, s.begin():
        cases = open_cases(s, groups, tenant=tenant, now=datetime.now(timezone.utc))
    engine.dispose()
    print(f"coordination: {len(cases)} review cases opened or refreshed in queue "
          "'coordination'", file=sys.stderr)


@coordination_app.command()
def sweep(
    since: Annotated[str, typer.Option(help="How far back to look: 24h, 90m, 7d, or seconds.")]
    = "24h",
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant whose traffic to sweep.")] = "default",
    engine: Annotated[str, typer.Option(help="auto (DuckDB above 2M co-actions), memory or "
                      "duckdb.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Find coordinated groups in the co-actions recorded from live traffic (default
    parameters, every pace) and open one review case per network: an existing case of the same
    network is updated, never duplicated, and a second sweep opens nothing new. Cases act on
    no one until a reviewer decides."""
    from tidebreak.cli_io import open_engine
    from tidebreak.coordination.sweep import parse_since
    from tidebreak.coordination.sweep import sweep as run_sweep

    try:
        since_s = parse_since(since)
    except ValueError as e:
        fail(str(e))
    if engine not in ("auto", "memory", "duckdb"):
        fail(f"unknown --engine {engine!r} (auto, memory or duckdb)")
    store = open_engine(db)
    try:
        report = run_sweep(store, tenant=tenant, now=datetime.now(timezone.utc),
                           since_s=since_s,
                           out_of_core=None if engine == "auto" else engine == "duckdb")
    finally:
        store.dispose()
    if as_json:
        print(json.dumps(report.to_dict()))
    print(f"coordination sweep: {report.events} co-actions since {since} ({report.engine}); "
          f"{report.groups} groups; {len(report.opened)} cases opened, "
          f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
          f"{len(report.already_decided)} already decided by a reviewer", file=sys.stderr)


@coordination_app.command()
def simulate(
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Events, JSONL "
                      "(default: stdout).")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="Write the truth (planted groups, hard "
                     "negatives) as JSON here.")] = None,
    organic_accounts: Annotated[int, typer.Option(help="Organic population (scales the "
                                "event count, about 18 events per account).")] = 4000,
    groups: Annotated[int, typer.Option(help="Planted coordinated groups.")] = 6,
) -> None:
    """Generate events with planted coordinated groups hidden among organic users, a news
    burst, a fandom and aggregator bots (the hard negatives)."""
    from tidebreak.coordination.simulate import SimParams, write_events
    from tidebreak.coordination.simulate import simulate as run_sim

    if organic_accounts < 1 or groups < 0:
        fail("--organic-accounts must be >= 1 and --groups >= 0")
    events, planted = run_sim(SimParams(seed=seed, organic_accounts=organic_accounts,
                                        groups=groups))
    with open_output(output) as dst:
        write_events(events, dst)
    if truth is not None:
        truth.write_text(json.dumps(planted, indent=1), encoding="utf-8")


@coordination_app.command()
def evaluate(
    groups: Annotated[Path, typer.Option("-g", "--groups", help="Detector output (JSONL).")],
    truth: Annotated[Path, typer.Option(help="Truth JSON from `simulate --truth`.")],
) -> None:
    """Account-level precision, recall and F1, and the share of hard negatives flagged."""
    from tidebreak.coordination.evaluate import evaluate as run_eval

    try:
        truth_obj = json.loads(truth.read_text(encoding="utf-8"))
        lines = [json.loads(x) for x in groups.read_text(encoding="utf-8").splitlines() if x.strip()]
    except OSError as e:
        fail(f"cannot read {e.filename}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"invalid JSON: {e.msg} at line {e.lineno}")
    if not isinstance(truth_obj, dict) or "coordinated_accounts" not in truth_obj:
        fail(f"{truth} is not a simulator truth file (no 'coordinated_accounts')")
    if not all(isinstance(g, dict) and isinstance(g.get("accounts"), list) for g in lines):
        fail(f"{groups}: every line must be an object with an 'accounts' list")
    print(json.dumps(run_eval(lines, truth_obj), indent=2))
