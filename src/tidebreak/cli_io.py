"""Input and output for the commands: files or standard streams, and the one-line error.

Every `tidebreak` command reads `-i FILE` or standard input and writes `-o FILE` or standard
output, and reports bad input as one `error: ...` line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import typer


def fail(reason: str, code: int = 2) -> NoReturn:
    print(f"error: {reason}", file=sys.stderr)
    raise typer.Exit(code)


def open_engine(db: str | None):  # type: ignore[no-untyped-def]
    """The store at `db` (default: $TIDEBREAK_DATABASE_URL), migrated; a database that cannot
    be opened exits 1, a bad URL exits 2, each with one line."""
    from sqlalchemy.exc import OperationalError

    from tidebreak.store.db import open_store

    try:
        return open_store(db)
    except OperationalError as e:
        fail(f"cannot open database: {str(e.orig).strip().splitlines()[0]}", 1)
    except Exception as e:  # noqa: BLE001 - a bad URL is user input
        if type(e).__name__ in ("ArgumentError", "NoSuchModuleError"):
            fail(f"bad database URL: {e}")
        raise


@contextmanager
def open_input(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        yield sys.stdin.buffer
        return
    try:
        f = path.open("rb")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    with f:
        yield f


@contextmanager
def open_output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        f = path.open("w", encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror}")
    with f:
        yield f


def numbered_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based line numbers (for `error: line N: ...`)."""
    for n, line in enumerate(stream, 1):
        if line.strip():
            yield n, line


def write_jsonl(f: IO[str], obj: dict[str, Any]) -> None:
    f.write(json.dumps(obj, ensure_ascii=False) + "\n")
