"""Engines and migrations: SQLite (WAL) by default, PostgreSQL when asked."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("var") / "tidebreak.db"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def default_url() -> str:
    """`TIDEBREAK_DATABASE_URL`, else the SQLite database under ./var that `make demo` fills."""
    return os.environ.get("TIDEBREAK_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    # Accept the URLs people paste (postgres://, postgresql://) and use the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or default_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # Pooled connections move between threads (one at a time), hence check_same_thread.
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead,
        # so read-then-write transactions (idempotency check, ledger append) cannot interleave.
        # A reader (`read_only`) begins deferred: in WAL mode it never waits for the writer,
        # so checking API keys or preparing the next batch goes on while a batch records.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
            reading = conn.get_execution_options().get(READ_ONLY_OPTION)
            conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


READ_ONLY_OPTION = "tidebreak_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they do not take
    the write lock. Writing through it is an error on SQLite only once a writer holds the
    lock, so use it for reads alone."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to `revision` with Alembic (idempotent). "heads": each part of the
    system (review, coordination, ...) may add its tables on its own branch off the initial
    revision, and all branches are applied."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


def open_store(url: str | None = None) -> Engine:
    """Connect and bring the schema up to date."""
    engine = make_engine(url)
    migrate(engine)
    return engine
