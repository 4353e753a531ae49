"""Alembic environment: runs on the connection tidebreak hands it (see store.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tidebreak.store.db import default_url, normalise_url
from tidebreak.store.schema import Base

target_metadata = Base.metadata


def run() -> None:
    conn = context.config.attributes.get("connection")
    if conn is None:  # plain `alembic` command line use
        url = context.config.get_main_option("sqlalchemy.url") or default_url()
        with create_engine(normalise_url(url)).connect() as c:
            context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
