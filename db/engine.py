"""Engines and sessions for the two supported backends.

SQLite is the embedded default, so it gets what makes it safe with several writers: WAL (readers
never block the writer), a busy timeout (a second writer waits instead of failing) and foreign
keys switched on (off by default in SQLite). PostgreSQL gets asyncpg with a checked pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.constants import SQLITE_BUSY_TIMEOUT_MS

# Plain driver names people type, mapped to the async drivers we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class DatabaseURLError(ValueError):
    """The URL names no backend we support (or is not a URL at all)."""


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pick our async driver: ``sqlite:///x`` works as well as ``sqlite+aiosqlite``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"not a database URL: {exc}") from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseURLError(
            f"unsupported database {parsed.drivername!r}: use sqlite+aiosqlite:///PATH "
            "or postgresql+asyncpg://USER@HOST/DB"
        )
    return parsed.set(drivername=driver)


def redact_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg), tuned per backend.

    Extra keyword arguments go to ``create_async_engine`` (e.g. ``pool_size``, ``echo``).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (no implicit IO under asyncio)."""
    return async_sessionmaker(engine, expire_on_commit=False)
