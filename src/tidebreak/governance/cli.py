"""`tidebreak governance ...`: exceptions, policy versions, disparate impact, elections,
severe-harassment cases.

People act under their console account: `--by USER` names an active console user and the role
comes from that account. Bad input exits 2 with one `error: ...` line and changes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from sqlalchemy.orm import Session

from tidebreak.clock import parse_time
from tidebreak.errors import BadInput
from tidebreak.governance.errors import GovernanceError

app = typer.Typer(help="Policy governance and election integrity.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Public-interest exceptions (senior roles only).",
                             no_args_is_help=True)
policy_app = typer.Typer(help="Policy versions: draft, review, approve, publish.",
                         no_args_is_help=True)
impact_app = typer.Typer(help="Disparate-impact report.", no_args_is_help=True)
elections_app = typer.Typer(help="Elections and election mode.", no_args_is_help=True)
harassment_app = typer.Typer(help="Severe-harassment and credible-threat cases.",
                             no_args_is_help=True)
actors_app = typer.Typer(help="Account types (for reporting only: rules ignore them).",
                         no_args_is_help=True)
for sub, name in ((exceptions_app, "exceptions"), (policy_app, "policy"), (impact_app, "impact"),
                  (elections_app, "elections"), (harassment_app, "harassment"),
                  (actors_app, "actors")):
    app.add_typer(sub, name=name)

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
TenantOpt = Annotated[Optional[str], typer.Option(help="Tenant (default: $TIDEBREAK_TENANT).")]
ByOpt = Annotated[str, typer.Option("--by", help="Your console username (its role is used).")]


def _fail(reason: str) -> None:
    print(f"error: {reason}", file=sys.stderr)
    raise typer.Exit(2)


def _ctx(db: str | None, tenant: str | None):  # type: ignore[no-untyped-def]
    from tidebreak.cli_io import open_engine
    from tidebreak.config import Settings

    return open_engine(db), tenant or Settings.from_env().tenant


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _role(engine: Any, tenant: str, by: str) -> str:
    from tidebreak.governance import console_role

    with Session(engine) as s:
        role = console_role(s, tenant, by)
    if role is None:
        _fail(f"no active console user {by!r} (create one with `tidebreak review users create`)")
    return role  # type: ignore[return-value]


def _when(raw: str, what: str) -> datetime:
    try:
        return parse_time(raw, what)
    except BadInput as e:
        _fail(str(e))


def _run(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except GovernanceError as e:
        _fail(str(e))


def _pipeline(engine: Any, tenant: str, detectors: bool = False) -> Any:
    from tidebreak.config import Settings
    from tidebreak.runtime import build_pipeline

    # A human decision needs no detectors: skip loading the models.
    return build_pipeline(engine, Settings.from_env(), tenant=tenant,
                          detector_names=None if detectors else ())


# -- exceptions ------------------------------------------------------------------------------


@exceptions_app.command("grant")
def exceptions_grant(content_id: str, by: ByOpt,
                     category: Annotated[str, typer.Option(help="Category of the rule set aside.")],
                     justification: Annotated[str, typer.Option(help="Why it is in the public "
                                                                     "interest (written).")],
                     days: Annotated[Optional[int], typer.Option(help="Expires in N days.")] = None,
                     expires: Annotated[Optional[str], typer.Option(help="Expiry (ISO).")] = None,
                     kind: Annotated[str, typer.Option(help="newsworthiness or "
                                                            "public_interest.")] = "newsworthiness",
                     db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Keep one item up, behind a public-interest notice, until the expiry (ledgered)."""
    from tidebreak.governance import exceptions

    if (days is None) == (expires is None):
        _fail("give exactly one of --days or --expires")
    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    p = _pipeline(engine, tenant)
    until = _when(expires, "--expires") if expires else p.clock() + timedelta(days=days or 0)
    out = _run(exceptions.grant, p, content_id=content_id, category=category,
               justification=justification, expires_at=until, by=by, role=role, kind=kind)
    _print({"exception": out.exception, "decision": out.decision["decision_id"]})


@exceptions_app.command("list")
def exceptions_list(content: Annotated[Optional[str], typer.Option()] = None, db: DbOpt = None,
                    tenant: TenantOpt = None) -> None:
    from tidebreak.governance import exceptions

    engine, tenant = _ctx(db, tenant)
    _print(exceptions.list_exceptions(engine, tenant, content_id=content))


@exceptions_app.command("expire")
def exceptions_expire(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """End lapsed exceptions and rescan their items (run from cron)."""
    from tidebreak.governance import exceptions

    engine, tenant = _ctx(db, tenant)
    _print({"expired": exceptions.expire(_pipeline(engine, tenant, detectors=True))})


@exceptions_app.command("revoke")
def exceptions_revoke(exception_id: str, by: ByOpt,
                      reason: Annotated[str, typer.Option()], db: DbOpt = None,
                      tenant: TenantOpt = None) -> None:
    from tidebreak.governance import exceptions

    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    _run(exceptions.revoke, _pipeline(engine, tenant, detectors=True), exception_id, by=by,
         role=role, reason=reason)
    _print({"revoked": exception_id})


@actors_app.command("flag")
def actors_flag(actor_id: str, by: ByOpt,
                type_: Annotated[str, typer.Option("--type", help="e.g. politician.")],
                db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Record an account's type for the transparency report (rules never read it)."""
    from tidebreak.governance import exceptions

    engine, tenant = _ctx(db, tenant)
    _role(engine, tenant, by)
    _run(exceptions.flag_actor, engine, tenant, actor_id, type_, by=by, now=_now())
    _print({"actor": actor_id, "actor_type": type_})


# -- policy versions ---------------------------------------------------------------------------


@policy_app.command("draft")
def policy_draft(file: Annotated[Path, typer.Option("-f", "--file", help="Policy YAML.")],
                 by: ByOpt, note: Annotated[str, typer.Option()] = "", db: DbOpt = None,
                 tenant: TenantOpt = None) -> None:
    """Store a new policy version as a draft (it runs in shadow until published)."""
    from tidebreak.governance import versions

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        _fail(f"cannot read {file}: {e}")
    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    _print(_run(versions.create_draft, engine, tenant, text, by=by, role=role, now=_now(),
                note=note))


@policy_app.command("list")
def policy_list(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    from tidebreak.governance import versions

    engine, tenant = _ctx(db, tenant)
    _print(versions.list_versions(engine, tenant))


@policy_app.command("show")
def policy_show(policy_id: str, version: str,
                source: Annotated[bool, typer.Option(help="Print the YAML only.")] = False,
                db: DbOpt = None, tenant: TenantOpt = None) -> None:
    from tidebreak.governance import versions

    engine, tenant = _ctx(db, tenant)
    v = _run(versions.show, engine, tenant, policy_id, version)
    if source:
        sys.stdout.write(v["source"])
    else:
        _print(v)


@policy_app.command("review")
def policy_review(policy_id: str, version: str,
                  labels: Annotated[Optional[Path], typer.Option(help="Hand labels JSONL.")] = None,
                  min_n: Annotated[int, typer.Option(help="Smallest group in a gap.")] = 5,
                  db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Diff against the live version, backtest, shadow results and impact flags."""
    from tidebreak.governance import versions

    engine, tenant = _ctx(db, tenant)
    _print(_run(versions.review, engine, tenant, policy_id, version, now=_now(),
                labels_path=labels, min_n=min_n))


@policy_app.command("approve")
def policy_approve(policy_id: str, version: str, by: ByOpt,
                   note: Annotated[str, typer.Option()] = "", db: DbOpt = None,
                   tenant: TenantOpt = None) -> None:
    from tidebreak.governance import versions

    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    _print(_run(versions.approve, engine, tenant, policy_id, version, by=by, role=role,
                now=_now(), note=note))


@policy_app.command("publish")
def policy_publish(policy_id: str, version: str, by: ByOpt, db: DbOpt = None,
                   tenant: TenantOpt = None) -> None:
    """Make an approved draft the live policy (new pipelines load it)."""
    from tidebreak.governance import versions

    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    _print(_run(versions.publish, engine, tenant, policy_id, version, by=by, role=role,
                now=_now()))


# -- impact --------------------------------------------------------------------------------------


@impact_app.command("report")
def impact_report(from_: Annotated[str, typer.Option("--from", help="Start (ISO).")],
                  to: Annotated[str, typer.Option("--to", help="End (ISO), excluded.")],
                  labels: Annotated[Optional[Path], typer.Option(help="Hand labels JSONL.")] = None,
                  min_n: Annotated[int, typer.Option()] = 5, db: DbOpt = None,
                  tenant: TenantOpt = None) -> None:
    from tidebreak.governance import impact

    start, end = _when(from_, "--from"), _when(to, "--to")
    engine, tenant = _ctx(db, tenant)
    _print(_run(impact.report, engine, tenant, start, end, labels_path=labels, min_n=min_n))


@impact_app.command("tag")
def impact_tag(content_id: str, group: str, by: ByOpt, db: DbOpt = None,
               tenant: TenantOpt = None) -> None:
    """Name the group an item targets (a reviewer's judgement, ledgered)."""
    from tidebreak.governance import impact

    engine, tenant = _ctx(db, tenant)
    _role(engine, tenant, by)
    _run(impact.tag, engine, tenant, content_id, group, by=by, now=_now())
    _print({"content_id": content_id, "target_group": group.strip().lower()})


# -- elections -----------------------------------------------------------------------------------


@elections_app.command("create")
def elections_create(file: Annotated[Path, typer.Option("-f", "--file", help="Election JSON.")],
                     by: ByOpt, db: DbOpt = None, tenant: TenantOpt = None) -> None:
    from tidebreak.auth.roles import allowed
    from tidebreak.governance import elections

    try:
        spec = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        _fail(f"cannot read {file}: {e}")
    except json.JSONDecodeError as e:
        _fail(f"{file}: malformed JSON: {e.msg} at line {e.lineno}")
    engine, tenant = _ctx(db, tenant)
    role = _role(engine, tenant, by)
    if not allowed(role, "elections:write"):
        _fail(f"role {role!r} may not create elections")
    _print(_run(elections.create, engine, tenant, spec, by=by, now=_now()))


@elections_app.command("list")
def elections_list(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Elections with their state now (records any change of state in the ledger)."""
    from tidebreak.governance import elections

    engine, tenant = _ctx(db, tenant)
    _print(elections.sync(engine, tenant, _now()))


@elections_app.command("dashboard")
def elections_dashboard(election_id: str, db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Voting-related decisions, queue ages and top matched fact-checks, now."""
    from tidebreak.governance import elections

    engine, tenant = _ctx(db, tenant)
    _print(_run(elections.dashboard, engine, tenant, election_id, _now()))


# -- harassment ----------------------------------------------------------------------------------


@harassment_app.command("list")
def harassment_list(status: Annotated[Optional[str], typer.Option()] = None, db: DbOpt = None,
                    tenant: TenantOpt = None) -> None:
    from tidebreak.governance import harassment

    engine, tenant = _ctx(db, tenant)
    _print(harassment.list_cases(engine, tenant, status))


@harassment_app.command("open")
def harassment_open(content_id: str, by: ByOpt,
                    kind: Annotated[str, typer.Option(help="credible_threat or "
                                                           "severe_harassment.")],
                    target: Annotated[Optional[str], typer.Option()] = None,
                    note: Annotated[str, typer.Option()] = "", db: DbOpt = None,
                    tenant: TenantOpt = None) -> None:
    from tidebreak.governance import harassment

    engine, tenant = _ctx(db, tenant)
    _role(engine, tenant, by)
    _print(_run(harassment.open_case, engine, tenant, content_id=content_id, kind=kind, by=by,
                now=_now(), target=target, note=note))


@harassment_app.command("contact")
def harassment_contact(case_id: int, by: ByOpt, note: Annotated[str, typer.Option()],
                       db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Record that the person was contacted."""
    from tidebreak.governance import harassment

    engine, tenant = _ctx(db, tenant)
    _role(engine, tenant, by)
    _print(_run(harassment.record_contact, engine, tenant, case_id, by=by, note=note, now=_now()))


@harassment_app.command("check")
def harassment_check(db: DbOpt = None, tenant: TenantOpt = None) -> None:
    """Raise alerts for missed contact deadlines (run from cron); exit 1 when any were missed."""
    from tidebreak.governance import harassment

    engine, tenant = _ctx(db, tenant)
    missed = harassment.check_deadlines(engine, tenant, _now())
    _print({"newly_missed": missed, **harassment.stats(engine, tenant)})
    if missed:
        raise typer.Exit(1)
