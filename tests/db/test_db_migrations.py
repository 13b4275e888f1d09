"""Migrations: an empty database upgrades on both backends, and drift is caught."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, inspect

import db
from db.models import Base


async def test_upgrade_creates_schema_on_empty_database(db_url: str) -> None:
    assert await db.current_revision(db_url) == db.head_revision()
    engine = db.create_engine(db_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        indexes = await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("checks")})
    await engine.dispose()
    assert {"checks", "feedback", "chat_settings", "processed_updates", "alembic_version"} <= tables
    assert {
        "ix_checks_created_at",
        "ix_checks_verdict_created_at",
        "ix_checks_chat_id_created_at",
        "ix_checks_user_pseudonym_created_at",
        "ix_checks_model_version_created_at",
        "ix_checks_file_unique_id_model_version",
        "ix_checks_status_next_attempt_at",
    } <= indexes


async def test_fresh_sqlite_file_upgrades_from_nothing(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'dir' / 'new.sqlite3'}"
    assert await db.current_revision(url) is None
    await db.upgrade(url)
    await db.upgrade(url)  # idempotent
    await db.check_migrations(url)


async def test_models_match_migrations(db_url: str) -> None:
    await db.check_migrations(db_url)


async def test_drift_between_models_and_migrations_is_reported(db_url: str) -> None:
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["checks"].append_column(Column("not_migrated", Integer))
    with pytest.raises(db.MigrationError) as info:
        await db.check_migrations(db_url, target_metadata=drifted)
    assert "not_migrated" in str(info.value)
    assert info.value.differences


async def test_check_refuses_database_behind_head(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    with pytest.raises(db.MigrationError, match="fakewatch db upgrade"):
        await db.check_migrations(url)


def test_unsupported_urls_get_a_clear_error() -> None:
    with pytest.raises(db.DatabaseURLError, match="unsupported"):
        db.create_engine("mysql://u@h/x")
    with pytest.raises(db.DatabaseURLError, match="not a database URL"):
        db.create_engine("no url at all")
    assert db.normalize_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert db.normalize_url("postgresql://u@h/x").drivername == "postgresql+asyncpg"
    assert "secret" not in db.redact_url("postgresql+asyncpg://u:secret@h/x")
