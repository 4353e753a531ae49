"""The plug-in house: one pluggy manager through which detectors, enforcers, event sinks,
adapters, API routers and CLI commands are added (hook specifications in `tidebreak.hookspecs`)."""

from __future__ import annotations

import functools
import importlib

import pluggy

from tidebreak import hookspecs
from tidebreak.hookspecs import PROJECT, ApiContext, hookimpl

__all__ = ["ApiContext", "hookimpl", "manager"]

# The built-in plug-ins, registered before any third-party one (module paths, imported lazily
# so that `tidebreak --help` stays fast).
BUILTINS: tuple[str, ...] = (
    "tidebreak.plugins.builtin",
    "tidebreak.events.plugin",
    "tidebreak.adapters.mastodon.plugin",
)


@functools.lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for path in BUILTINS:
        pm.register(importlib.import_module(path), name=path)
    pm.load_setuptools_entrypoints(PROJECT)
    return pm
