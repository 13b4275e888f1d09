"""Alembic environment (async template) for the fakewatch check log.

Two ways in: ``db.upgrade(url)`` hands over an open connection in ``config.attributes`` (so
migrations run inside the caller's event loop), and the ``alembic`` command line
(``alembic -c db/alembic.ini -x url=… upgrade head``) gets a fresh async engine here.
``render_as_batch`` makes ALTERs work on SQLite, which cannot alter most things in place.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from db.engine import create_engine
from db.migrate import migration_options
from db.models import Base

config = context.config
target_metadata = config.attributes.get("target_metadata", Base.metadata)


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("FAKEWATCH_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=… or set FAKEWATCH_DATABASE_URL")
    return url


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **migration_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, **migration_options())
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection: Any = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
