"""The extension points of tidebreak, as pluggy hook specifications.

A plug-in is a module or object with functions marked `@hookimpl` and named as below. The
built-in parts register as default plug-ins (`tidebreak.plugins.manager`); third-party packages
declare an entry point in the group "tidebreak", e.g. in their pyproject:

    [project.entry-points.tidebreak]
    my_plugin = "my_package.plugin"

and are loaded with no change to tidebreak. Every hook returns a list (or dict) that is merged
over all plug-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from sqlalchemy import Engine

    from tidebreak.config import Settings
    from tidebreak.detect.base import DetectorFactory
    from tidebreak.enforce.hooks import Enforcer
    from tidebreak.events.sinks import EventSink
    from tidebreak.pipeline import Adjuster

PROJECT = "tidebreak"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class ApiContext:
    """What an API router plug-in gets from the server it is mounted in."""

    engine: "Engine"
    settings: "Settings"
    pipeline_for: Callable[[str], Any]  # tenant -> that tenant's Pipeline
    principal: Callable[[str], Any]  # permission -> FastAPI dependency giving the caller
    read_json: Callable[..., Any]  # async (request) -> parsed JSON body, size-checked
    submit: Callable[..., Any]  # async (tenant, Event) -> Outcome, through the micro-batcher


@hookspec
def tidebreak_detectors() -> "dict[str, DetectorFactory]":
    """Detector factories by name (what TIDEBREAK_DETECTORS and policies refer to)."""
    raise NotImplementedError


@hookspec
def tidebreak_enforcers(settings: "Settings") -> "list[tuple[int, Enforcer]]":
    """Enforcers with their order (lower runs first; built-ins use multiples of 100), called
    in the decision's transaction after the content itself is updated."""
    raise NotImplementedError


@hookspec
def tidebreak_adjusters(settings: "Settings") -> "list[tuple[int, Adjuster]]":
    """Decide-step adjusters with their order: they see the policy's hits for an event and
    return the hits the decision carries (e.g. election mode, public-interest exceptions)."""
    raise NotImplementedError


@hookspec
def tidebreak_event_sinks(settings: "Settings", engine: "Engine") -> "list[EventSink]":
    """Destinations of domain events configured by `settings` (none when not configured);
    `engine` is the store they are delivered from (a sink may keep its own records there)."""
    raise NotImplementedError


@hookspec
def tidebreak_api_routers(ctx: ApiContext) -> "list[APIRouter]":
    """Routers `tidebreak serve` mounts."""
    raise NotImplementedError


@hookspec
def tidebreak_cli(app: "typer.Typer") -> None:
    """Add commands or sub-apps to the `tidebreak` command."""
