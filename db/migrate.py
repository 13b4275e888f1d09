"""Alembic, driven from code: upgrade to head, report the revision, and detect drift.

The configuration is built here rather than read from an ini file so the migrations work from
an installed package (they ship as package data) and inside a running event loop: the async
engine's connection is handed to ``env.py`` through ``config.attributes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection

from db.engine import create_engine
from db.models import Base, UtcDateTime

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    """The database is not at the migrations' head, or the models and the migrations disagree."""

    def __init__(self, message: str, differences: list[str] | None = None) -> None:
        super().__init__(message)
        self.differences = differences or []


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our UTC timestamp type as the plain column type it is, so migrations stay standalone."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # sqlite_sequence and friends are SQLite's own bookkeeping.
    return not (type_ == "table" and name is not None and name.startswith("sqlite_"))


def migration_options() -> dict[str, Any]:
    """What ``env.py`` and the drift check both pass to ``context.configure``."""
    return {
        "render_as_batch": True,
        "compare_type": True,
        "render_item": _render_item,
        "include_name": _include_name,
    }


def alembic_config(url: str | None = None, **attributes: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.attributes["url"] = url
    cfg.attributes.update(attributes)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations to ``url`` (an empty database gets the whole schema)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_sync, url, revision)
    finally:
        await engine.dispose()


def _upgrade_sync(connection: Connection, url: str, revision: str) -> None:
    command.upgrade(alembic_config(url, connection=connection), revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision())
    finally:
        await engine.dispose()


async def check_migrations(url: str, *, target_metadata: MetaData | None = None) -> None:
    """Raise ``MigrationError`` unless ``url`` is at head and matches the models exactly.

    The programmatic ``alembic check``: autogenerate's comparison between the migrated
    database and ``Base.metadata`` (or ``target_metadata``) must find nothing to do.
    """
    metadata = Base.metadata if target_metadata is None else target_metadata
    head = head_revision()
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            current, diffs = await conn.run_sync(_compare_sync, metadata)
    finally:
        await engine.dispose()
    if current != head:
        raise MigrationError(
            f"database is at revision {current or '<empty>'}, migrations head is {head}; run `fakewatch db upgrade`"
        )
    if diffs:
        lines = [_describe(diff) for diff in diffs]
        raise MigrationError(
            "the models and the migrations disagree (write a migration):\n  " + "\n  ".join(lines),
            lines,
        )


def _compare_sync(connection: Connection, metadata: MetaData) -> tuple[str | None, list[Any]]:
    context = MigrationContext.configure(connection, opts=migration_options())
    return context.get_current_revision(), compare_metadata(context, metadata)


def _describe(diff: Any) -> str:
    """One readable line per autogenerate difference (they come as nested tuples)."""
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    op, *rest = diff
    parts = []
    for item in rest:
        name = getattr(item, "name", None)
        parts.append(str(name) if name is not None else repr(item))
    return f"{op}: " + ", ".join(parts)
