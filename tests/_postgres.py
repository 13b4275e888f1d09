"""A fresh, migrated PostgreSQL database for tests (created, then dropped with FORCE).

Shared by the database and bot tests; the server comes from ``FAKEWATCH_TEST_PG_URL``
(default: this project's local PostgreSQL at 127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import db

PG_SERVER_URL = os.environ.get("FAKEWATCH_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")


async def _admin_sql(sql: str) -> None:
    dsn = make_url(PG_SERVER_URL).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def migrated_pg_database(prefix: str) -> Iterator[str]:
    """Yield the asyncpg URL of a new database named ``<prefix>_<pid>_<random>``."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_SERVER_URL} ({exc}); set FAKEWATCH_TEST_PG_URL")
    url = make_url(PG_SERVER_URL).set(drivername="postgresql+asyncpg", database=name)
    text = url.render_as_string(hide_password=False)
    try:
        asyncio.run(db.upgrade(text))
        yield text
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
