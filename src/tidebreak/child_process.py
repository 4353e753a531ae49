"""A spawned child process and the pipe to it: what the detector processes
(tidebreak.detector_process) and the recorder process (tidebreak.recorder_process) share.

A child is spawned, so it shares nothing it should not (no forked database connections, model
threads or locks), and without running the parent's main script again. Its target is called as
`target(conn, *args)`; it says ("ready", info) or ("error", reason) once it has started, and
stops when it reads None from the pipe or the pipe closes (its parent is gone).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def main_script_hidden() -> Iterator[None]:
    """Start spawned children without running the parent's main module again.

    A spawned child re-runs the script (or `-m` module) the parent was started as: for
    `tidebreak`, the CLI, about a second of CPU per child before it loads a model. A child's
    target lives in a tidebreak module and its detectors come from the plug-in registry, so it
    needs none of that; with neither `__spec__` nor `__file__` on `__main__`, multiprocessing
    skips the step. (A detector defined in a `__main__` script cannot run in a child either way.)"""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec, path = getattr(main, "__spec__", None), main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__spec__ = spec
        if path is not None:
            main.__file__ = path


def requests(conn: Any) -> Iterator[Any]:
    """In the child: each message the parent sends, until it sends None or is gone."""
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the parent is gone
            return
        if msg is None:
            return
        yield msg


class SpawnedChild:
    """One spawned child running `target(conn, *args)`, and the pipe to it."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(child, *args), name=name, daemon=True)
        with main_script_hidden():
            self.proc.start()
        child.close()

    def wait_ready(self, what: str, error: type[Exception] = RuntimeError) -> Any:
        """What the child said when it started; `error` (naming `what`) if it failed."""
        try:
            status, info = self.conn.recv()
        except (EOFError, OSError):  # it died before it could say why
            self.proc.join(timeout=5)
            raise error(f"the {what} could not start: it exited with code "
                        f"{self.proc.exitcode}") from None
        if status != "ready":
            raise error(f"the {what} could not start: {info}")
        return info

    def close(self) -> None:
        """Ask the child to stop; kill it if it has not within 5 s."""
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()
