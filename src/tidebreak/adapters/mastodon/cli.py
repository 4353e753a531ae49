"""`tidebreak adapters mastodon check`."""

from __future__ import annotations

import typer

from tidebreak.adapters.mastodon.config import MastodonConfig, MastodonConfigError

mastodon_app = typer.Typer(help="The Mastodon adapter (admin webhooks in, reports and account "
                                "actions out).", no_args_is_help=True)


@mastodon_app.command("check")
def check() -> None:
    """Check TIDEBREAK_MASTODON_URL, _TOKEN (validity, scopes, role) and _WEBHOOK_SECRET
    against the instance: one line per problem, exit 0 when all is well, else 2."""
    from tidebreak.adapters.mastodon.check import run_check

    try:
        config = MastodonConfig.from_env()
    except MastodonConfigError as e:
        typer.echo(f"problem: {e}", err=True)
        raise typer.Exit(2) from None
    result = run_check(config)
    for line in result.ok:
        typer.echo(f"ok: {line}")
    for line in result.problems:
        typer.echo(f"problem: {line}", err=True)
    if result.problems:
        raise typer.Exit(2)
    typer.echo("the Mastodon adapter is ready")
