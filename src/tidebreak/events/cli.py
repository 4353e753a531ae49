"""`tidebreak events ...`: what was emitted, what each sink received, dead letters, replay, and
a dispatcher without a server (`tidebreak serve` and workers deliver too)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Annotated, Optional

import typer

from tidebreak.cli_io import fail, open_engine
from tidebreak.clock import utcnow

events_app = typer.Typer(help="Domain events to platforms: outbox, deliveries, dead letters, "
                         "replay.", no_args_is_help=True)

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _since(spec: str) -> timedelta:
    m = _SPAN.match(spec.strip())
    if not m:
        fail(f"--since must look like 30m, 24h or 7d, got {spec!r}")
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])


@events_app.command("list")
def list_cmd(status: Annotated[str, typer.Option(help="dead, pending, delivered or all.")] = "dead",
             sink: Annotated[Optional[str], typer.Option(help="Only this sink.")] = None,
             limit: int = 100, db: DbOpt = None) -> None:
    """One JSON line per delivery (default: the dead-letter list)."""
    from tidebreak.events.dispatch import list_deliveries

    if status not in ("dead", "pending", "delivered", "all"):
        fail(f"unknown status {status!r}; one of dead, pending, delivered, all")
    for d, e in list_deliveries(open_engine(db), None if status == "all" else status,
                                sink=sink, limit=limit):
        print(json.dumps({"sink": d.sink, "event": e.key, "type": e.type, "tenant": e.tenant,
                          "subject": e.subject, "status": d.status, "attempts": d.attempts,
                          "last_error": d.last_error}, ensure_ascii=False))


@events_app.command("replay")
def replay_cmd(keys: Annotated[Optional[list[str]], typer.Argument(
                   help="Event keys to replay (default: every dead delivery).")] = None,
               sink: Annotated[Optional[str], typer.Option(help="Only this sink.")] = None,
               since: Annotated[Optional[str], typer.Option(
                   help="Instead: queue for --sink every event of the last 30m/24h/7d it has "
                        "not had (a destination added late or restored from backup).")] = None,
               db: DbOpt = None) -> None:
    """Give dead-lettered deliveries a fresh set of attempts (a dispatcher delivers them)."""
    from tidebreak.events.dispatch import replay, replay_since

    engine = open_engine(db)
    if since is not None:
        if not sink:
            fail("--since needs --sink")
        n = replay_since(engine, sink, utcnow() - _since(since))
        print(f"{n} event(s) queued for {sink}")
        return
    print(f"{replay(engine, sink=sink, keys=keys or [])} delivery(ies) queued again")


@events_app.command("deliver")
def deliver_cmd(once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
                db: DbOpt = None) -> None:
    """Run a dispatcher for the configured sinks without a server."""
    from tidebreak.config import Settings
    from tidebreak.runtime import dispatcher_for
    from tidebreak.scale.logs import setup_logging

    settings = Settings.from_env()
    setup_logging(settings.log_level, settings.log_format)
    try:
        dispatcher = dispatcher_for(open_engine(db), settings)
    except ValueError as e:
        fail(str(e))
    if dispatcher is None:
        fail("no event sink is configured (TIDEBREAK_WEBHOOK_URL, TIDEBREAK_EVENT_SINKS, "
             "TIDEBREAK_EVENTS_NATS_SUBJECT or an adapter)")
    while True:
        counts = dispatcher.run_once()
        if once:
            print(json.dumps(counts))
            return
        if not any(counts.values()):
            time.sleep(0.5)


@events_app.command("sinks")
def sinks_cmd(db: DbOpt = None) -> None:
    """The sinks this environment configures and those registered in the store."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.config import Settings
    from tidebreak.runtime import configured_sinks
    from tidebreak.store.schema import EventSinkRow

    engine = open_engine(db)
    try:
        here = {s.name: s for s in configured_sinks(Settings.from_env(), engine)}
    except ValueError as e:
        fail(str(e))
    with Session(engine) as s:
        stored = {r.name: r for r in s.execute(select(EventSinkRow)).scalars()}
    for name in sorted(set(here) | set(stored)):
        sink, row = here.get(name), stored.get(name)
        types = (None if sink.types is None else sorted(sink.types)) if sink else (row.types if row else None)
        print(json.dumps({"name": name, "configured_here": sink is not None,
                          "registered": row is not None and row.active,
                          "types": types or "*"}))
