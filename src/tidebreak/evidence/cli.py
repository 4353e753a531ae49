"""`tidebreak evidence ...`: deferred evidence (occlusion spans) for what people look at.

`fill` computes what is pending under a time budget (the server does this when idle, workers
after each batch); `status` counts decisions whose evidence is complete or pending. Bad input
exits 2 with one `error: ...` line and changes nothing.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Optional

import typer

from tidebreak.cli_io import fail

evidence_app = typer.Typer(help="Deferred evidence (occlusion spans) for decisions people look "
                                "at.", no_args_is_help=True)

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
TenantOpt = Annotated[Optional[str], typer.Option(help="Tenant (default: $TIDEBREAK_TENANT).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")]


_fail = fail


def _number(raw: str | None, name: str, *, integer: bool = False) -> float | int | None:
    if raw is None:
        return None
    kind = "a whole number >= 1" if integer else "a number of seconds > 0"
    try:
        value: float | int = int(raw) if integer else float(raw)
    except ValueError:
        _fail(f"--{name} must be {kind}, got {raw!r}")
    if not math.isfinite(value) or value <= 0:
        _fail(f"--{name} must be {kind}, got {raw!r}")
    return value


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from tidebreak.cli_io import open_engine

    return open_engine(db)


@evidence_app.command("fill")
def fill_cmd(db: DbOpt = None, tenant: TenantOpt = None,
             budget: Annotated[Optional[str], typer.Option(
                 help="Seconds to spend (default 60); the batch under way is finished.")] = None,
             limit: Annotated[Optional[str], typer.Option(
                 help="At most this many decisions (default: no limit).")] = None,
             batch: Annotated[Optional[str], typer.Option(
                 help="Decisions per batch and ledger entry (default 16).")] = None,
             as_json: JsonOpt = False) -> None:
    """Compute pending spans for what people will look at, one ledger entry per batch.

    Open review tasks first, then removals and restrictions, then appeals."""
    from tidebreak.config import Settings
    from tidebreak.evidence.fill import fill
    from tidebreak.runtime import build_detectors, detector_options

    seconds = _number(budget, "budget") or 60.0
    most = _number(limit, "limit", integer=True)
    size = _number(batch, "batch", integer=True) or 16
    settings = Settings.from_env()
    tenant = tenant or settings.tenant
    engine = _engine(db)
    detectors, _ = build_detectors(settings.detectors, engine, tenant,
                                   options=detector_options(settings))
    res = fill(engine, detectors, tenant, budget_s=float(seconds), batch_size=int(size),
               limit=int(most) if most is not None else None)
    if as_json:
        print(json.dumps({"tenant": tenant, **res.to_dict()}))
        return
    print(f"filled {res.decisions} decision(s) ({res.rows} span sets, {res.batches} ledger "
          f"entries) in {res.seconds:.1f}s; skipped {res.skipped_version} scored by another "
          f"model version, {res.skipped_other} other; "
          f"{'more pending' if res.more else 'nothing left pending'}")


@evidence_app.command("status")
def status_cmd(db: DbOpt = None, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Count decisions whose evidence is complete or pending."""
    from sqlalchemy.orm import Session

    from tidebreak.config import Settings
    from tidebreak.evidence.selection import counts

    tenant = tenant or Settings.from_env().tenant
    engine = _engine(db)
    with Session(engine) as s:
        c = counts(s, tenant)
    if as_json:
        print(json.dumps({"tenant": tenant, **c}))
        return
    print(f"complete {c['complete']}, pending {c['pending']} ({c['wanted']} of them for "
          f"people to look at), filled after the decision {c['filled']}")
