"""`tidebreak review ...`: console users, queues and their service levels, trusted flaggers.

Bad input exits 2 with one `error: ...` line and changes nothing (the rest of the CLI's rule).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from tidebreak.review.errors import ReviewError

app = typer.Typer(help="Human review: console users, queues and SLAs, trusted flaggers.",
                  no_args_is_help=True)
users_app = typer.Typer(help="Console accounts (people; machines use API keys).",
                        no_args_is_help=True)
sla_app = typer.Typer(help="Per-queue service-level targets.", no_args_is_help=True)
flaggers_app = typer.Typer(help="Trusted flaggers: their reports get priority.",
                           no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(sla_app, name="sla")
app.add_typer(flaggers_app, name="flaggers")
out = Console()

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
TenantOpt = Annotated[Optional[str], typer.Option(help="Tenant (default: $TIDEBREAK_TENANT).")]


def _fail(reason: str) -> None:
    print(f"error: {reason}", file=sys.stderr)
    raise typer.Exit(2)


def _ctx(db: str | None, tenant: str | None):  # type: ignore[no-untyped-def]
    from tidebreak.cli_io import open_engine
    from tidebreak.config import Settings

    return open_engine(db), tenant or Settings.from_env().tenant


def _now() -> datetime:
    return datetime.now(timezone.utc)


@users_app.command("create")
def users_create(username: Annotated[str, typer.Argument(help="Login name.")],
                 role: Annotated[str, typer.Option(help="reviewer, senior_reviewer, "
                                                        "policy_admin, auditor or admin.")],
                 password_stdin: Annotated[bool, typer.Option(
                     "--password-stdin", help="Read the password from standard input.")] = False,
                 db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Create a console login (the password is stored as a scrypt hash)."""
    from tidebreak.review.accounts import CONSOLE_ROLES, create_user

    if role not in CONSOLE_ROLES:
        _fail(f"unknown console role {role!r}; roles: {', '.join(CONSOLE_ROLES)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine, tenant = _ctx(db, tenant)
    try:
        create_user(engine, tenant=tenant, username=username, role=role, password=password,
                    by="cli", now=_now())
    except ReviewError as e:
        _fail(e.reason)
    out.print(f"created {username} ({role})")


@users_app.command("disable")
def users_disable(username: str, db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Disable a login; its sessions end at once."""
    from tidebreak.review.accounts import disable_user

    engine, tenant = _ctx(db, tenant)
    try:
        disable_user(engine, tenant=tenant, username=username, by="cli", now=_now())
    except ReviewError as e:
        _fail(e.reason)
    out.print(f"disabled {username}")


@app.command("queues")
def queues(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Queues with waiting, claimed and overdue counts and their SLA status."""
    from tidebreak.enforce.review_queue import summaries

    engine, tenant = _ctx(db, tenant)
    with Session(engine) as s:
        rows = summaries(s, tenant, _now())
    table = Table("queue", "waiting", "claimed", "overdue", "SLA (min)", "oldest (min)", "status")
    for q in rows:
        table.add_row(q.name, str(q.waiting), str(q.claimed), str(q.overdue),
                      str(q.sla_minutes), str(q.sla.oldest_minutes), q.sla.state)
    out.print(table)


@sla_app.command("set")
def sla_set(queue: str, minutes: Annotated[int, typer.Argument(help="Target minutes to a decision.")],
            db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Set a queue's service-level target (applies to tasks opened from now on)."""
    from tidebreak import ledger
    from tidebreak.store.schema import ReviewQueueRow

    if not queue.strip() or len(queue) > 64:
        _fail("queue name must be 1-64 characters")
    if not 1 <= minutes <= 60 * 24 * 90:
        _fail("minutes must be between 1 and 129600 (90 days)")
    engine, tenant = _ctx(db, tenant)
    with Session(engine) as s, s.begin():
        row = s.get(ReviewQueueRow, (tenant, queue))
        if row is None:
            s.add(ReviewQueueRow(tenant=tenant, name=queue, sla_minutes=minutes))
        else:
            row.sla_minutes = minutes
        ledger.append(s, tenant=tenant, kind="review.sla", subject=queue, actor="cli",
                      payload={"queue": queue, "sla_minutes": minutes}, at=_now())
    out.print(f"{queue}: {minutes} minutes")


@flaggers_app.command("add")
def flaggers_add(reporter: Annotated[str, typer.Argument(help="Reporter id the platform sends.")],
                 org: Annotated[str, typer.Option("--org", help="Organisation name.")],
                 db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Mark a reporter as a trusted flagger."""
    from tidebreak.review.reports import add_flagger

    engine, tenant = _ctx(db, tenant)
    try:
        with Session(engine) as s, s.begin():
            add_flagger(s, tenant=tenant, reporter=reporter, organisation=org, by="cli", now=_now())
    except ReviewError as e:
        _fail(e.reason)
    out.print(f"trusted flagger: {reporter} ({org})")


@flaggers_app.command("remove")
def flaggers_remove(reporter: str, db: DbOpt = None, tenant: TenantOpt = None) -> None:
    from tidebreak.review.reports import remove_flagger

    engine, tenant = _ctx(db, tenant)
    try:
        with Session(engine) as s, s.begin():
            remove_flagger(s, tenant=tenant, reporter=reporter, by="cli", now=_now())
    except ReviewError as e:
        _fail(e.reason)
    out.print(f"removed {reporter}")


@flaggers_app.command("list")
def flaggers_list(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    from tidebreak.review.reports import flaggers

    engine, tenant = _ctx(db, tenant)
    with Session(engine) as s:
        rows = flaggers(s, tenant)
    table = Table("reporter", "organisation", "since")
    for r in rows:
        table.add_row(r.reporter, r.organisation, r.created_at.strftime("%Y-%m-%d"))
    out.print(table)
