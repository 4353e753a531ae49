"""A third-party tidebreak plug-in, as a package outside tidebreak would write it: a detector
and an event sink, found through the "tidebreak" entry point group (see the dist-info beside
this folder) with no change to tidebreak's code."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("tidebreak")
MARK = "PLUGIN-HARASS"


class MarkDetector:
    """Flags posts carrying the marker as harassment, so the default policy removes them."""

    name = "marker"
    version = "marker-1"

    def detect(self, items: Sequence[Any]) -> list[list[Any]]:
        from tidebreak.model import Signal

        return [[Signal(self.name, "harassment", 0.99, {"marker": MARK}, self.version)]
                if MARK in it.content.text else [] for it in items]


class FileSink:
    """Appends each event it takes to a JSON-lines file."""

    name = "example-file"
    types = frozenset({"decision.made", "account.penalty_imposed"})

    def __init__(self, path: str) -> None:
        self.path = path

    def deliver(self, event: Any) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event.to_dict(), default=str) + "\n")


@hookimpl
def tidebreak_detectors() -> dict[str, Any]:
    return {"marker": lambda **kw: MarkDetector()}


@hookimpl
def tidebreak_event_sinks(settings: Any, engine: Any) -> list[Any]:
    path = os.environ.get("EXAMPLE_EVENTS_FILE")
    return [FileSink(path)] if path else []
