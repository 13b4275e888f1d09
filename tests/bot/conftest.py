"""Bot fixtures: the fake Telegram server, a migrated database, the serving side, a running bot.

End-to-end on purpose: real PTB polling over HTTP against ``FakeTelegram``, a real database
(SQLite file per test; PostgreSQL where a test asks for it), and the real engine behind
``EngineHTTP`` (tiny models, few frames). Timings are shrunk through ``BotOptions``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import db
from bot import BotOptions, build_application, running
from fakewatch.settings import Settings
from engine_http import CheckFn, EngineHTTP, engine_check_fn, engine_models, serving_stand_in
from fake_telegram import Call, FakeTelegram, private_chat, user

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_SERVER_URL = os.environ.get("FAKEWATCH_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
SECRET = "bot-tests-pseudonym-secret"
OPERATOR_ID = 900

#: Fast, small knobs: everything that waits in production waits a fraction of a second here.
FAST = BotOptions(
    worker_concurrency=1,
    lease_s=60.0,
    poll_interval_s=0.2,
    retry_base_s=0.3,
    retry_max_s=1.0,
    album_debounce_s=0.8,
    poll_timeout_s=1.0,
    serving_retries=0,
    serving_breaker_threshold=1,
    serving_breaker_reset_s=0.3,
    stop_grace_s=3.0,
    chat_action_every_s=1.0,
    models_refresh_s=0.5,
    run_purge=False,
)


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
def pg_db_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for one test (dropped afterwards)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"fakewatch_bot_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_url(PG_SERVER_URL).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)

    async def admin_sql(sql: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_SERVER_URL}: {exc}")
    url = make_url(PG_SERVER_URL).set(drivername="postgresql+asyncpg", database=name)
    text = url.render_as_string(hide_password=False)
    try:
        asyncio.run(db.upgrade(text))
        yield text
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
    if os.environ.get("FAKEWATCH_BOT_DEV_ENGINE"):  # local development only
        sys.path.insert(0, os.environ["FAKEWATCH_BOT_DEV_ENGINE"])
        from dev_engine import DevEngine  # type: ignore[import-not-found]

        return DevEngine()
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


def bot_settings(telegram: FakeTelegram, serving_url: str, database_url: str, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        telegram_token=telegram.token,
        telegram_base_url=telegram.base_url,
        telegram_base_file_url=telegram.base_file_url,
        database_url=database_url,
        serving_url=serving_url,
        operator_ids=[OPERATOR_ID],
        pseudonym_secret=SECRET,
        **extra,
    )


@dataclass
class Harness:
    """One test's world: the fake Telegram, the serving stand-in, the database, the bot."""

    telegram: FakeTelegram
    serving: EngineHTTP
    db_url: str
    sessions: Any
    options: BotOptions

    def settings(self, **extra: Any) -> Settings:
        return bot_settings(self.telegram, self.serving.url, self.db_url, **extra)

    @asynccontextmanager
    async def bot(self, options: BotOptions | None = None, **extra: Any) -> AsyncIterator[Any]:
        app = build_application(self.settings(**extra), options or self.options)
        async with running(app) as running_app:
            yield running_app

    def send_media(
        self,
        chat: dict[str, Any],
        from_user: dict[str, Any],
        data: bytes,
        kind: str,
        *,
        unique_id: str | None = None,
        **fields: Any,
    ) -> tuple[int, dict[str, Any]]:
        """Queue a message carrying ``data`` as a photo/video/animation/video_note/document."""
        file = self.telegram.add_file(data, unique_id=unique_id)
        if kind == "photo":
            fields["photo"] = self.telegram.photo_sizes(file)
        elif kind == "video":
            fields["video"] = {**file, "width": 640, "height": 480, "duration": 12}
        elif kind == "animation":
            fields["animation"] = {**file, "width": 320, "height": 240, "duration": 2}
            fields["document"] = {**file}
        elif kind == "video_note":
            fields["video_note"] = {**file, "length": 240, "duration": 3}
        elif kind == "document":
            fields["document"] = {**file, **fields.pop("document_extra", {})}
        else:  # pragma: no cover - test bug
            raise ValueError(kind)
        return self.telegram.push_message(chat, from_user, **fields)

    async def reply_to(self, chat_id: int, message_id: int, *, timeout: float = 60.0) -> Call:
        """The bot's answer (text or photo) that replies to ``message_id``."""

        def answers(call: Call) -> bool:
            if call.method not in ("sendMessage", "sendPhoto") or call.params.get("chat_id") != chat_id:
                return False
            reply = call.params.get("reply_parameters") or {}
            return reply.get("message_id") == message_id

        calls = await self.telegram.wait_for(answers, timeout=timeout)
        return calls[0]

    async def checks(self) -> list[db.Check]:
        async with self.sessions() as s:
            return list((await s.execute(select(db.Check).order_by(db.Check.id))).scalars())

    async def wait_checks(self, predicate: Callable[[list[db.Check]], bool], timeout: float = 30.0) -> list[db.Check]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await self.checks()
            if predicate(rows):
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"database never matched; rows: {rows}")
            await asyncio.sleep(0.1)


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


ALICE = user(101, "Alice")
ALICE_CHAT = private_chat(101, "Alice")


def text_of(call: Call) -> str:
    return str(call.params.get("text") or call.params.get("caption") or "")


__all__ = ["ALICE", "ALICE_CHAT", "FAST", "OPERATOR_ID", "SECRET", "Harness", "replace", "text_of"]
