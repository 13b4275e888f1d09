"""Small SQL helpers shared by the writers (``db.jobs``) and the readers (``db.stats``, ``db.queries``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT``."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def plain(value: Any) -> Any:
    """Row values as JSON/CSV-friendly scalars."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # our str enums
        return value.value
    return value
