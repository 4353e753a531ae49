"""The Mastodon adapter's hooks (registered as a built-in plug-in): the webhook route, the
sink that acts back, and `tidebreak adapters mastodon`. With no TIDEBREAK_MASTODON_* variable
set they add nothing but the command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidebreak.adapters.mastodon.config import MastodonConfig, MastodonConfigError
from tidebreak.config import Settings
from tidebreak.hookspecs import ApiContext, hookimpl

if TYPE_CHECKING:
    import typer
    from sqlalchemy import Engine


def _config() -> MastodonConfig:
    # a MastodonConfigError (a ConfigError): `tidebreak serve` refuses to start and says why
    return MastodonConfig.from_env()


@hookimpl
def tidebreak_api_routers(ctx: ApiContext) -> list[Any]:
    config = _config()
    if not config.receives:
        if config.any_set:
            raise MastodonConfigError("TIDEBREAK_MASTODON_WEBHOOK_SECRET is required to take Mastodon's "
                             "webhooks (their signature is checked with it)")
        return []
    from tidebreak.adapters.mastodon.router import mastodon_router

    return [mastodon_router(ctx, config)]


@hookimpl
def tidebreak_event_sinks(settings: Settings, engine: "Engine") -> list[Any]:
    config = _config()
    if not config.acts:
        if config.url or config.token:
            raise MastodonConfigError("the Mastodon adapter needs both TIDEBREAK_MASTODON_URL and "
                             "TIDEBREAK_MASTODON_TOKEN to act on the instance")
        return []
    from tidebreak.adapters.mastodon.sink import MastodonSink

    return [MastodonSink(config, engine)]


@hookimpl
def tidebreak_cli(app: "typer.Typer") -> None:
    import typer

    from tidebreak.adapters.mastodon.cli import mastodon_app

    adapters = typer.Typer(help="Platform adapters.", no_args_is_help=True)
    adapters.add_typer(mastodon_app, name="mastodon")
    app.add_typer(adapters, name="adapters")
