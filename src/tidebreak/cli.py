"""The `tidebreak` command.

Bad input exits with status 2 and one line per problem on stderr ("error: ..."), never a
traceback. Every command that uses the store takes --db or reads TIDEBREAK_DATABASE_URL, and
defaults to the SQLite database under ./var that `tidebreak demo` fills.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidebreak.cli_io import (
    fail,
    numbered_lines,
    open_engine,
    open_input,
    open_output,
    write_jsonl,
)
from tidebreak.config import Settings

app = typer.Typer(help="tidebreak: an open-source trust & safety engine.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
decisions_app = typer.Typer(help="List and show decisions with their reasons.", no_args_is_help=True)
policy_app = typer.Typer(help="Policy files.", no_args_is_help=True)
bank_app = typer.Typer(help="Known-content banks (copies of removed content are caught).",
                       no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed).", no_args_is_help=True)
ledger_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)
app.add_typer(decisions_app, name="decisions")
app.add_typer(policy_app, name="policy")
app.add_typer(bank_app, name="bank")
app.add_typer(keys_app, name="keys")
app.add_typer(ledger_app, name="ledger")
# --- review: console users, queues and SLAs, trusted flaggers ---
from tidebreak.review.cli import app as review_app  # noqa: E402

app.add_typer(review_app, name="review")
# --- accountability: statements of reasons, reports, ad rules ---
from tidebreak.accountability.cli import ads_app, report_app, sor_app  # noqa: E402

app.add_typer(sor_app, name="sor")
app.add_typer(report_app, name="report")
app.add_typer(ads_app, name="ads")
# --- fact-checks: match posts to fact-checked claims ---
from tidebreak.factcheck.cli import factcheck_app  # noqa: E402

app.add_typer(factcheck_app, name="factcheck")
# --- scale-out: `worker`, `backfill`, `webhooks` ---
from tidebreak.scale.cli import register as register_scale  # noqa: E402

register_scale(app)
# --- coordination: groups of accounts acting in lockstep ---
from tidebreak.coordination.cli import coordination_app  # noqa: E402

app.add_typer(coordination_app, name="coordination")

from tidebreak.governance.cli import app as governance_app  # noqa: E402

app.add_typer(governance_app, name="governance")
# --- evidence: deferred occlusion spans, computed for what people look at ---
from tidebreak.evidence.cli import evidence_app  # noqa: E402

app.add_typer(evidence_app, name="evidence")
# --- media: `hash`, `bank import|export` (and `bank add --image` below) ---
from tidebreak.media.cli import register as register_media  # noqa: E402

register_media(app, bank_app)

# --- domain events: outbox, deliveries, dead letters, replay ---
from tidebreak.events.cli import events_app  # noqa: E402

app.add_typer(events_app, name="events")
# --- plug-ins (built-in adapters and third parties' entry points) add their commands ---
from tidebreak.plugins import manager as _plugins  # noqa: E402

_plugins().hook.tidebreak_cli(app=app)

err = Console(stderr=True)
out = Console()

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
InOpt = Annotated[Optional[Path], typer.Option("-i", "--input", help="JSONL input (default: stdin).")]
OutOpt = Annotated[Optional[Path], typer.Option("-o", "--output", help="JSONL output (default: stdout).")]
BATCH = 64


def _settings() -> Settings:
    return Settings.from_env()


# A file this large is worth the detector processes' start-up (about 1,000 posts).
DETECT_PROCESS_FROM_BYTES = 256 * 1024


def _serve_settings() -> Settings:
    """Settings for the API server: with TIDEBREAK_RECORD_IN=auto (the default), decisions are
    recorded in a process of their own on 2 or more CPUs (more requests/s and a lower p99,
    measured in the README; tidebreak.recorder_process); on one it would only add a round trip."""
    from tidebreak.runtime import cpu_count

    settings = _settings()
    if settings.record_in == "auto":
        settings = dataclasses.replace(
            settings, record_in="process" if cpu_count() >= 2 else "thread")
    return settings


def _batch_settings(path: Path | None) -> Settings:
    """Settings for a batch job over `path`: with TIDEBREAK_DETECT_IN=auto (the default), a
    large file is detected in processes of their own (about 10% faster on 2 cores; measured
    in the README), a small one or a stream in this process. A file redirected to stdin
    (`moderate < posts.jsonl`) counts as the file it is; a pipe is a stream."""
    settings = _settings()
    if settings.detect_in == "auto":
        size = _input_size(path)
        large = size is not None and size >= DETECT_PROCESS_FROM_BYTES
        settings = dataclasses.replace(settings, detect_in="process" if large else "thread")
    return settings


def _early_detectors(settings: Settings):  # type: ignore[no-untyped-def]
    """With detector processes, start them before the store is opened (and migrated), so they
    load their models meanwhile; None otherwise."""
    if settings.detect_in != "process":
        return None
    from tidebreak.runtime import start_detector_processes

    return start_detector_processes(settings)


def _input_size(path: Path | None) -> int | None:
    """The size of the input file (`path`, or stdin when it is a regular file), else None."""
    import os
    import stat

    try:
        st = path.stat() if path is not None else os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # no such file, or a stdin without a descriptor
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None




# -- the main job -------------------------------------------------------------------------------


def _run_events(pipeline, stream: IO[bytes], sink, *, settings: Settings,  # type: ignore[no-untyped-def]
                total: int | None = None, progress: bool = False) -> int:
    """Validate and process JSONL events in batches; call sink(event, outcome) for each.
    Returns the number of rejected lines (each reported on stderr with its line number)."""
    from tidebreak.ingest import InvalidInput, parse_json_line
    from tidebreak.media.load import MediaOptions
    from tidebreak.pipeline import PipelineError, overlapped

    bad = 0
    # the command line may name local image files ({"path"}); the API and workers may not
    media_options = MediaOptions.from_settings(settings, allow_path=True)

    def batches(advance: Callable[[], None]) -> Iterator[tuple[list[int], list[Any]]]:
        nonlocal bad
        lines: list[int] = []
        events: list[Any] = []
        for n, line in numbered_lines(stream):
            try:
                events.append(parse_json_line(line, max_text_bytes=settings.max_text_bytes,
                                              media_options=media_options))
                lines.append(n)
            except InvalidInput as e:
                bad += 1
                print(f"error: line {n}: {e}", file=sys.stderr)
            advance()
            if len(events) >= BATCH:
                yield lines, events
                lines, events = [], []
        if events:
            yield lines, events

    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not progress) as bar:
        task = bar.add_task("moderating", total=total)
        # the next batch is detected while this one is recorded (see pipeline.overlapped)
        for lines, events, results in overlapped(pipeline, batches(lambda: bar.advance(task))):
            for n, ev, res in zip(lines, events, results):
                if isinstance(res, PipelineError):
                    bad += 1
                    print(f"error: line {n}: {res}", file=sys.stderr)
                else:
                    sink(ev, res)
    return bad


@app.command()
def moderate(input: InOpt = None, output: OutOpt = None, db: DbOpt = None) -> None:
    """Run the whole pipeline over JSONL posts ({"id", "text"} plus optional kind, author, group,
    created_at); print one decision line per item. Uses a throw-away store unless --db is given."""
    from tidebreak.model import routed_categories
    from tidebreak.runtime import build_pipeline, open_store

    settings = _batch_settings(input)
    host = _early_detectors(settings)
    with tempfile.TemporaryDirectory(prefix="tidebreak-") as tmp:
        engine = open_engine(db) if db else open_store(f"sqlite:///{tmp}/moderate.db")
        pipeline = build_pipeline(engine, settings, detector_host=host)
        with open_input(input) as src, open_output(output) as dst:
            def sink(ev, outcome) -> None:  # type: ignore[no-untyped-def]
                d = outcome.decision
                write_jsonl(dst, {"id": ev.content.id, "action": d.action.value,
                             "outcome": d.outcome, "categories": list(d.categories),
                             "review_categories": list(routed_categories(d.reasons)),
                             "rules": d.rules, "decision_id": d.id})
            bad = _run_events(pipeline, src, sink, settings=settings)
        engine.dispose()
    if bad:
        raise typer.Exit(2)


@app.command()
def ingest(file: Annotated[Path, typer.Argument(help="JSONL events")], db: DbOpt = None) -> None:
    """Ingest JSONL events into the store, with a progress bar; print a summary."""
    from tidebreak.runtime import build_pipeline

    if not file.exists():
        fail(f"no such file: {file}")
    settings = _batch_settings(file)
    host = _early_detectors(settings)
    engine = open_engine(db)
    pipeline = build_pipeline(engine, settings, detector_host=host)
    total = sum(1 for line in file.open("rb") if line.strip())
    actions: Counter[str] = Counter()
    dupes = 0

    def sink(ev, outcome) -> None:  # type: ignore[no-untyped-def]
        nonlocal dupes
        dupes += outcome.duplicate
        actions[outcome.decision.action.value] += 0 if outcome.duplicate else 1

    with open_input(file) as src:
        bad = _run_events(pipeline, src, sink, settings=settings, total=total, progress=True)
    out.print(f"ingested {sum(actions.values())} new events, {dupes} already seen, {bad} rejected; "
              f"actions: {dict(actions)}")
    if bad:
        raise typer.Exit(2)


@app.command()
def classify(input: InOpt = None, output: OutOpt = None,
             batch_size: Annotated[int, typer.Option(help="Texts per model batch.")] = 256) -> None:
    """Score texts with the harm classifier: {"id", "text"} in; {"id", "scores", "labels",
    "language", "not_covered"} out (text in a language the model does not cover is not scored)."""
    from tidebreak.detect.harm import classify as score

    pending: list[tuple[Any, str]] = []
    bad = 0
    with open_input(input) as src, open_output(output) as dst:
        def flush() -> None:
            if pending:
                for (cid, _), res in zip(pending, score([t for _, t in pending])):
                    write_jsonl(dst, {"id": cid, **res})
                pending.clear()

        for n, line in numbered_lines(src):
            try:
                obj = json.loads(line.decode("utf-8"))
                if not isinstance(obj, dict) or "id" not in obj:
                    raise ValueError("each line needs an object with 'id' and 'text'")
                text = obj.get("text", "")
                if not isinstance(text, str):
                    raise ValueError("field 'text' must be a string")
            except UnicodeDecodeError as e:
                bad += 1
                print(f"error: line {n}: invalid UTF-8 at byte {e.start}", file=sys.stderr)
                continue
            except ValueError as e:
                bad += 1
                print(f"error: line {n}: {e}", file=sys.stderr)
                continue
            pending.append((obj["id"], text))
            if len(pending) >= batch_size:
                flush()
        flush()
    if bad:
        raise typer.Exit(2)


@app.command()
def demo(db: DbOpt = None,
         fresh: Annotated[bool, typer.Option(help="Start from an empty database.")] = True) -> None:
    """Ingest the bundled sample (posts, comments, ads, edits, reports) into the default store
    and print a summary of decisions by action and rule."""
    from tidebreak.demo import run_demo

    settings = _settings()
    url = db or settings.database_url
    if fresh and url is None:
        from tidebreak.store.db import DEFAULT_SQLITE_PATH

        for suffix in ("", "-wal", "-shm"):
            Path(str(DEFAULT_SQLITE_PATH) + suffix).unlink(missing_ok=True)
    engine = open_engine(url)
    run_demo(engine, settings, out)


@app.command()
def serve(host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8080, db: DbOpt = None,
          access_log: Annotated[bool, typer.Option(
              "--access-log/--no-access-log",
              help="Log every request (one line each on stderr).")] = False) -> None:
    """Run the HTTP API. Requests are not logged one by one unless --access-log is given:
    every decision is in the store and the ledger, /metrics counts requests, and a line per
    request costs the server about 4% of its throughput (a proxy in front logs them cheaper)."""
    import uvicorn

    from tidebreak.api.app import create_app
    from tidebreak.runtime import build_pipeline

    settings = _serve_settings()
    engine = open_engine(db)
    # deferred evidence (occlusion spans) is computed while no request is in flight
    try:
        api = create_app(engine, settings,
                         lambda tenant: build_pipeline(engine, settings, tenant=tenant),
                         evidence_in_background=True, deliver_events=True)
    except ValueError as e:  # a sink or adapter configured wrongly: say which, don't start
        fail(str(e))
    uvicorn.run(api, host=host, port=port, log_level="info", access_log=access_log)


# -- decisions ----------------------------------------------------------------------------------


@decisions_app.command("list")
def decisions_list(db: DbOpt = None,
                   action: Annotated[Optional[str], typer.Option(help="Only this action.")] = None,
                   rule: Annotated[Optional[str], typer.Option(help="Only decisions citing this rule.")] = None,
                   limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
                   as_json: Annotated[bool, typer.Option("--json", help="JSONL output.")] = False) -> None:
    """The latest decisions, newest first."""
    from sqlalchemy.orm import Session

    from tidebreak.store.decisions import recent

    engine = open_engine(db)
    with Session(engine) as s:
        rows = recent(s, _settings().tenant, limit=limit, action=action, rule=rule)
    if as_json:
        for r in rows:
            write_jsonl(sys.stdout, r.payload)
        return
    table = Table("time", "content", "action", "categories", "rules")
    for r in rows:
        table.add_row(r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.content_id, r.action,
                      ", ".join(r.categories), ", ".join(r.rules))
    out.print(table)


@decisions_app.command("show")
def decisions_show(content_id: str, db: DbOpt = None) -> None:
    """Every decision on one content item, with rules, grounds, signals and versions."""
    from sqlalchemy.orm import Session

    from tidebreak.store.decisions import history
    from tidebreak.store.schema import ContentRow

    engine = open_engine(db)
    tenant = _settings().tenant
    with Session(engine) as s:
        row = s.get(ContentRow, (tenant, content_id))
        decisions = history(s, tenant, content_id)
    if row is None:
        fail(f"no content {content_id!r}")
    out.print(f"[bold]{row.id}[/] ({row.kind} by {row.author_id or '?'}"
              f"{' in ' + row.group_id if row.group_id else ''}): state={row.state} "
              f"reach={row.reach:g} version={row.version}")
    out.print(f"  text: {row.text[:300]!r}", markup=False)
    for d in decisions:
        out.print(f"\n[bold]{d['created_at']}[/] {d['event_id']}: action={d['action']} "
                  f"policy={d['policy']['id']}@{d['policy']['version']} by {d['decided_by']}")
        for h in d["reasons"]:
            acts = ", ".join(a["type"] + (f"({a['factor']})" if "factor" in a else "") for a in h["actions"])
            out.print(f"  rule {h['rule_id']} [{h['category']}, {h['severity']}] -> {acts}", markup=False)
            out.print(f"    ground: {h['ground']}", markup=False)
            out.print(f"    notice: {h['notice']}", markup=False)
        for h in d.get("shadow", []):
            out.print(f"  shadow rule {h['rule_id']} (not enforced)", markup=False)
        sigs = ", ".join(f"{s['detector']}:{s['category']}={s['score']:.3f}" for s in d["signals"])
        out.print(f"  signals: {sigs or 'none'}", markup=False)
        out.print(f"  models: {d.get('model_versions', {})}", markup=False)


# -- policy -------------------------------------------------------------------------------------


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="Policy YAML file")]) -> None:
    """Validate a policy file: one line per mistake (file:line: reason); exit 2 if any."""
    from tidebreak.policy import check_file

    if not file.exists():
        fail(f"no such file: {file}")
    problems = check_file(file)
    for p in problems:
        print(str(p), file=sys.stderr)
    if problems:
        raise typer.Exit(2)
    out.print(f"{file}: ok")


# -- banks --------------------------------------------------------------------------------------


@bank_app.command("add")
def bank_add(text: Annotated[Optional[str], typer.Option(help="Text to bank.")] = None,
             image: Annotated[Optional[Path], typer.Option(help="Image file to bank (PDQ).")] = None,
             content_id: Annotated[Optional[str], typer.Option("--content-id", help="Bank a stored item's text.")] = None,
             bank: Annotated[str, typer.Option(help="Bank name, e.g. hate, debunked.")] = "removed",
             category: Annotated[str, typer.Option(help="Category a match signals.")] = "known_violating",
             note: Annotated[Optional[str], typer.Option(help="Why it is banked.")] = None,
             added_by: Annotated[str, typer.Option("--by", help="Who banks it.")] = "cli",
             db: DbOpt = None) -> None:
    """Add a text, an image (or a stored item) to a bank; copies and near-copies will match it."""
    from sqlalchemy.orm import Session

    from tidebreak.detect.bank_store import BankError, add_entry
    from tidebreak.store.schema import ContentRow

    if sum(x is not None for x in (text, image, content_id)) != 1:
        fail("give exactly one of --text, --image or --content-id")
    if image is not None:
        from tidebreak.media.cli import bank_add_image

        entry_id, created = bank_add_image(image, bank=bank, category=category, note=note,
                                           added_by=added_by, db=db)
        out.print(f"{'added' if created else 'already banked'}: {entry_id}")
        return
    engine = open_engine(db)
    tenant = _settings().tenant
    try:
        with Session(engine) as s, s.begin():
            if content_id is not None:
                row = s.get(ContentRow, (tenant, content_id))
                if row is None:
                    fail(f"no content {content_id!r}")
                text = row.text
            assert text is not None
            entry, created = add_entry(s, tenant=tenant, text=text, bank=bank, category=category,
                                       added_by=added_by, now=datetime.now(timezone.utc),
                                       source_content_id=content_id, note=note)
            entry_id = entry.entry_id
    except BankError as e:
        fail(str(e))
    out.print(f"{'added' if created else 'already banked'}: {entry_id}")


@bank_app.command("list")
def bank_list(db: DbOpt = None,
              bank: Annotated[Optional[str], typer.Option(help="Only this bank.")] = None) -> None:
    """Banked entries."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.store.schema import BankEntryRow

    engine = open_engine(db)
    with Session(engine) as s:
        q = select(BankEntryRow).where(BankEntryRow.tenant == _settings().tenant,
                                       BankEntryRow.active.is_(True))
        if bank:
            q = q.where(BankEntryRow.bank == bank)
        rows = s.execute(q.order_by(BankEntryRow.created_at)).scalars().all()
    table = Table("entry", "bank", "category", "added by", "text")
    for r in rows:
        table.add_row(r.entry_id, r.bank, r.category, r.added_by,
                      r.text[:60] if not r.pdq else f"image pdq {r.pdq[:16]}…")
    out.print(table)


# -- keys and ledger ----------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(role: Annotated[str, typer.Option(help="platform, reviewer, senior_reviewer, "
                                                       "policy_admin, auditor or admin.")],
                tenant: Annotated[Optional[str], typer.Option(help="Tenant the key acts for.")] = None,
                name: Annotated[Optional[str], typer.Option(help="A label for the key.")] = None,
                db: DbOpt = None) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from tidebreak.auth import ROLES, create_key

    if role not in ROLES:
        fail(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    engine = open_engine(db)
    print(create_key(engine, role, tenant=tenant or _settings().tenant, name=name))


@keys_app.command("list")
def keys_list(tenant: Annotated[Optional[str], typer.Option(help="Only this tenant's keys.")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
              db: DbOpt = None) -> None:
    """List API keys: id, tenant, role, name, created and revoked (never the secret)."""
    from tidebreak.auth import list_keys

    for k in list_keys(open_engine(db), tenant):
        row = {"key_id": k.key_id, "tenant": k.tenant, "role": k.role, "name": k.name,
               "created_at": k.created_at.isoformat(),
               "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
        if as_json:
            print(json.dumps(row))
        else:
            print(f"{k.key_id}  {k.tenant}  {k.role}  {k.name or '-'}  "
                  f"{'revoked ' + row['revoked_at'] if k.revoked_at else 'active'}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (tb_<id>_...).")],
                db: DbOpt = None) -> None:
    """Revoke an API key: refused by every API server within TIDEBREAK_KEY_CACHE_S (2 s)."""
    from tidebreak.auth import revoke_key

    key_id = key_id.removeprefix("tb_").split("_", 1)[0]  # a whole key works too
    if not revoke_key(open_engine(db), key_id):
        fail(f"no active key {key_id!r}")
    print(f"revoked {key_id}")


@ledger_app.command("verify")
def ledger_verify(db: DbOpt = None) -> None:
    """Walk the hash chain; exit 0 when whole, 1 naming the first bad entry."""
    from sqlalchemy.orm import Session

    from tidebreak.ledger import verify

    engine = open_engine(db)
    with Session(engine) as s:
        n, broken = verify(s)
    if broken is not None:
        print(f"ledger broken at {broken} ({n} entries before it are whole)", file=sys.stderr)
        raise typer.Exit(1)
    out.print(f"ledger ok: {n} entries, chain whole")


@ledger_app.command("anchor")
def ledger_anchor(output: OutOpt = None, db: DbOpt = None) -> None:
    """Verify the chain, then print its head (seq, hash) with a timestamp as JSON, for a third
    party to hold; `tidebreak ledger check-anchor FILE` later proves the chain still has it."""
    from sqlalchemy.orm import Session

    from tidebreak.ledger import anchor

    engine = open_engine(db)
    with Session(engine) as s:
        try:
            a = anchor(s, datetime.now(timezone.utc))
        except ValueError as e:
            fail(str(e), 1)
    with open_output(output) as dst:
        write_jsonl(dst, a)


@ledger_app.command("check-anchor")
def ledger_check_anchor(file: Annotated[Path, typer.Argument(help="Anchor JSON from `ledger anchor`")],
                        db: DbOpt = None) -> None:
    """Exit 0 when the anchored entry is still in the chain with the anchored hash, else 1."""
    from sqlalchemy.orm import Session

    from tidebreak.ledger import check_anchor

    try:
        a = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}")
    except ValueError as e:
        fail(f"{file}: malformed JSON: {e}")
    if not isinstance(a, dict):
        fail(f"{file}: not an anchor object")
    engine = open_engine(db)
    with Session(engine) as s:
        broken = check_anchor(s, a)
    if broken is not None:
        print(f"anchor does not hold: {broken}", file=sys.stderr)
        raise typer.Exit(1)
    out.print(f"anchor holds: entry {a['seq']} has hash {a['hash']}")


# -- accounts, groups, reach (tidebreak.reach_cli) ----------------------------------------------
from tidebreak.reach_cli import account_app, group_app, simulate  # noqa: E402

app.add_typer(account_app, name="account")
app.add_typer(group_app, name="group")
app.command("simulate")(simulate)


def main() -> None:
    """The `tidebreak` command. A refusal (tidebreak.errors) that no command turned into its own
    message ends here: one line on stderr, exit 2, never a traceback."""
    from tidebreak.errors import TidebreakError

    try:
        app()
    except TidebreakError as e:
        print(f"error: {' '.join((e.reason or str(e)).split())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
