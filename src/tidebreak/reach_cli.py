"""Commands of accounts, groups and reach: `tidebreak account show`, `tidebreak group show|sweep`,
`tidebreak simulate`. Registered in tidebreak.cli; bad input is one `error:` line, exit 2."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

account_app = typer.Typer(help="Account standing: strikes, penalties and their reasons.",
                          no_args_is_help=True)
group_app = typer.Typer(help="Group health, stages and their evidence.", no_args_is_help=True)
out = Console()

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _tenant() -> str:
    from tidebreak.config import Settings

    return Settings.from_env().tenant


@account_app.command("show")
def account_show(account_id: str, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """An account's status, limits, active strikes and every penalty with its reasons."""
    from sqlalchemy.orm import Session

    from tidebreak.cli_io import fail, open_engine
    from tidebreak.enforce.penalties import standing

    with Session(open_engine(db)) as s:
        st = standing(s, _tenant(), account_id, _now())
    if st is None:
        fail(f"no account {account_id!r}")
    if as_json:
        print(json.dumps(st, ensure_ascii=False))
        return
    out.print(f"[bold]{account_id}[/]: {st['status']}"
              + (f" until {st['until']}" if st["until"] else "")
              + (f"; limits: {', '.join(st['limits'])}" if st["limits"] else "")
              + f"; reach x{st['reach']:g}; {len(st['active_strikes'])} active strikes")
    for k in st["active_strikes"]:
        out.print(f"  strike {k['id']}: {k['category']} ({k['severity']}) for {k['content_id']}, "
                  f"expires {k['expires_at']}", markup=False)
    for p in st["penalties"]:
        lifted = f" [lifted {p['lifted_at']}: {p['lifted_reason']}]" if p["lifted_at"] else ""
        out.print(f"  {p['starts_at']} {p['penalty']} ({p['rule']}){lifted}", markup=False)
        out.print(f"    ground: {p['ground']}", markup=False)
        out.print(f"    notice: {p['notice']}", markup=False)


def _group_config():  # type: ignore[no-untyped-def]
    from tidebreak.config import Settings
    from tidebreak.runtime import load_policies

    return load_policies(Settings.from_env()).active.sections.groups


@group_app.command("show")
def group_show(group_id: str, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A group's stage, its health measured now with the evidence, and past determinations."""
    from sqlalchemy.orm import Session

    from tidebreak.cli_io import fail, open_engine
    from tidebreak.enforce.groups import GroupError, show

    try:
        with Session(open_engine(db)) as s:
            g = show(s, _tenant(), group_id, _group_config(), _now())
    except GroupError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(g, ensure_ascii=False))
        return
    out.print(f"[bold]{group_id}[/]: stage {g['stage']}, reach x{g['reach']:g}, "
              f"{'recommendable' if g['recommendable'] else 'not recommended'}; roles {g['roles']}")
    cur = g["current"]
    if cur is None or cur["health"] is None:
        note = cur["evidence"]["note"] if cur else "no groups: section in the policy"
        out.print(f"  health: not determined ({note})", markup=False)
    else:
        ev = cur["evidence"]
        out.print(f"  health now {cur['health']:.3f} over {ev['posts']} posts: "
                  f"{ev['violating_posts']} violating {ev['by_category']}, admin approval "
                  f"{ev['admin_approval']['share']:.0%}; components {ev['components']}",
                  markup=False)
    for d in g["determinations"]:
        out.print(f"  {d['created_at']} {d['from']} -> {d['to']} (health {d['health']:.3f}) "
                  f"by {d['decided_by']}: {d['ground']}", markup=False)


@group_app.command("sweep")
def group_sweep(db: DbOpt = None) -> None:
    """Remove shut-down groups whose read-only period is over (run it daily)."""
    from sqlalchemy.orm import Session

    from tidebreak.cli_io import open_engine
    from tidebreak.enforce.groups import sweep

    with Session(open_engine(db)) as s, s.begin():
        done = sweep(s, _tenant(), _now())
    out.print(f"removed {len(done)} group(s){': ' + ', '.join(done) if done else ''}")


def simulate(seed: Annotated[int, typer.Option(help="Random seed (the same for both runs).")] = 1,
             as_json: JsonOpt = False,
             chart: Annotated[Optional[Path], typer.Option(help="Write a PNG chart here.")] = None,
             users: Annotated[int, typer.Option(help="Accounts in the network.")] = 6000,
             posts: Annotated[int, typer.Option(help="Posts made in the first day.")] = 1500,
             hours: Annotated[int, typer.Option(help="Hours simulated.")] = 48) -> None:
    """Simulate reach with tidebreak's default policies on and off on the same seed: views of
    violating content prevented, benign views lost, time to action."""
    from tidebreak.cli_io import fail

    if users < 200 or posts < 20 or not 2 <= hours <= 24 * 14 or seed < 0:
        fail("need --users >= 200, --posts >= 20, 2 <= --hours <= 336 and --seed >= 0")
    if chart is not None and (chart.suffix.lower() != ".png" or not chart.parent.exists()):
        fail(f"--chart must be a .png path in an existing folder, got {chart}")
    from tidebreak.simulate import SimConfig, run

    res = run(SimConfig(seed=seed, users=users, posts=posts, hours=hours))
    if chart is not None:
        from tidebreak.simulate.chart import write_chart

        write_chart(res, chart)
        res.figures["chart"] = str(chart)
    if as_json:
        print(json.dumps(res.figures))
        return
    f = res.figures
    t = Table("", "tidebreak off", "tidebreak on", "difference", title=f"reach simulation, seed {seed}")
    t.add_row("views of violating content", f"{f['violating_views_off']:,}",
              f"{f['violating_views_on']:,}",
              f"{f['prevented_views']:,} prevented ({f['prevented_share']:.1%})")
    t.add_row("views of benign content", f"{f['benign_views_off']:,}", f"{f['benign_views_on']:,}",
              f"{f['collateral_views']:,} lost ({f['collateral_share']:.2%})")
    out.print(t)
    out.print(f"prevented views: {f['prevented_views']} ({f['prevented_share']:.1%}); "
              f"collateral views: {f['collateral_views']} ({f['collateral_share']:.2%})")
    tta = f["time_to_action_median_hours"]
    out.print(f"violating posts actioned: {f['actioned_violating_share']:.1%}, median time to "
              f"action {tta if tta is not None else '-'} h (p90 {f['time_to_action_p90_hours']} h); "
              f"{f['reviews']} reviews, {f['breaker_trips']} breaker trips, "
              f"{f['groups_shut_down']} groups shut down, {f['suspended_or_banned_accounts']} "
              f"accounts suspended or banned; {f['seconds']} s")
    if chart is not None:
        out.print(f"chart: {chart}")

