"""Shared fixtures. Store and pipeline tests run against SQLite and PostgreSQL.

PostgreSQL comes from TIDEBREAK_TEST_PG_URL (default: the test machines' server at
127.0.0.1:5432, database `test`, trust auth). Each test gets its own schema, dropped afterwards.
Without a reachable server those cases skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, create_engine, text

PG_URL = os.environ.get("TIDEBREAK_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def pg_unavailable() -> str | None:
    """None when PostgreSQL is reachable, else the reason it is not."""
    if "reason" not in _pg_state:
        try:
            eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as c:
                c.execute(text("SELECT 1"))
            eng.dispose()
            _pg_state["reason"] = None
        except Exception as e:  # noqa: BLE001
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {str(e).splitlines()[0]}"
    return _pg_state["reason"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"tb_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    # application_name tags this test's connections, so teardown can end any it leaked (an
    # idle transaction would otherwise block DROP SCHEMA forever).
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    with admin.begin() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = :s AND pid <> pg_backend_pid()"), {"s": schema})
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tidebreak.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from tidebreak.store.db import open_store

    eng = open_store(db_url)
    yield eng
    eng.dispose()


class FakeClock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
