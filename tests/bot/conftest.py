"""Bot fixtures: the fake Telegram server, a migrated database, the serving side, a running bot.

End-to-end on purpose: real PTB polling over HTTP against ``FakeTelegram``, a real database
(SQLite file per test; PostgreSQL where a test asks for it), and the real engine behind
``EngineHTTP`` (tiny models, few frames). Timings are shrunk through ``BotOptions``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from _bot_harness import FAST, Harness
from _postgres import migrated_pg_database
from engine_http import CheckFn, EngineHTTP, engine_check_fn, engine_models, serving_stand_in
from fake_telegram import FakeTelegram

import db
from fakewatch.settings import Settings


# --- media ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def face_photo(shared_data: Path) -> bytes:
    """A whole-face StyleGAN image (HOG finds it reliably), read from ../shared/data."""
    return sorted((shared_data / "faces" / "stylegan" / "fake").glob("*.jpg"))[0].read_bytes()


@pytest.fixture(scope="session")
def small_video(shared_videos: dict[str, Path]) -> bytes:
    """The smallest labelled clip (640×480, 12 s)."""
    return shared_videos["ffpp_cyshih704_fake"].read_bytes()


# --- database -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("botdb") / "template.sqlite3"
    asyncio.run(db.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def own_pg() -> AsyncIterator[Any]:
    """A PostgreSQL server of the test's own (initdb in a temporary folder) that it may stop."""
    from _pg_instance import PgInstance, pg_bin_dir

    if pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    pg = PgInstance()
    await asyncio.to_thread(pg.init)
    await asyncio.to_thread(pg.start)
    try:
        yield pg
    finally:
        await asyncio.to_thread(pg.destroy)


@pytest.fixture
def pg_db_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for one test (dropped afterwards)."""
    with migrated_pg_database("fakewatch_bot") as url:
        yield url


# --- the serving side ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("engine-data"),
        frames_per_video=4,
        detect_max_side=320,
        decode_timeout_s=20.0,
    )


@pytest.fixture(scope="session")
def real_engine(engine_settings: Settings) -> Any:
    """The real engine (tiny untrained models when no trained checkpoint is configured)."""
    from _bot_engine import build_test_engine

    return build_test_engine(engine_settings)


@pytest.fixture(scope="session")
def engine_check(real_engine: Any) -> CheckFn:
    return engine_check_fn(real_engine)


@pytest.fixture
async def serving(real_engine: Any) -> AsyncIterator[EngineHTTP]:
    async with serving_stand_in(engine_check_fn(real_engine), engine_models(real_engine)) as server:
        yield server


# --- Telegram and the bot ---------------------------------------------------------------------------
@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def harness(telegram: FakeTelegram, serving: EngineHTTP, db_url: str) -> AsyncIterator[Harness]:
    engine = db.create_engine(db_url)
    try:
        yield Harness(telegram, serving, db_url, db.session_factory(engine), FAST)
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_harness(telegram: FakeTelegram, serving: EngineHTTP, pg_db_url: str) -> AsyncIterator[Harness]:
    """The same world on PostgreSQL (SKIP LOCKED claims, asyncpg)."""
    engine = db.create_engine(pg_db_url)
    try:
        yield Harness(telegram, serving, pg_db_url, db.session_factory(engine), FAST)
    finally:
        await engine.dispose()
