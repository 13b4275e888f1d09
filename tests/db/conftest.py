"""Database fixtures: every DB test runs on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL: one uniquely named database per test session at ``FAKEWATCH_TEST_PG_URL``
(default ``postgresql+asyncpg://postgres@127.0.0.1:5432/``), migrated once, emptied before
each test, dropped at the end. SQLite: a migrated template file copied for each test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _postgres import migrated_pg_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import db
from db import CheckStatus, Source
from db.models import Check, Feedback

BACKENDS = ("sqlite", "postgresql")
TABLES = (
    "feedback", "checks", "chat_settings", "processed_updates", "stats_days", "api_keys", "albums", "ingest_marks",
)  # fmt: skip


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    with migrated_pg_database("fakewatch_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once keeps tests fast)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    asyncio.run(db.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "fakewatch.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    asyncio.run(_pg_admin_truncate(url))
    return url


async def _pg_admin_truncate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = db.create_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


# --- a small known check log for the operator queries ------------------------------------

NOW = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)


def _check(n: int, days_ago: float, **over: object) -> Check:
    created = NOW - dt.timedelta(days=days_ago)
    values: dict[str, object] = dict(
        status=CheckStatus.DONE, attempts=1, next_attempt_at=created, source=Source.GROUP,
        media_kind="image", file_unique_id=f"u{n}", user_pseudonym="alice", chat_id=-100,
        verdict="real", fake_probability=0.1, faces_count=1, model_name="efficientnet_lite0",
        model_version="v1", latency_ms=float(10 * (n + 1)), timings_ms={"total": float(10 * (n + 1))},
        result={"verdict": "real"}, created_at=created, finished_at=created,
    )  # fmt: skip
    values.update(over)
    return Check(**values)


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession]) -> dict[str, object]:
    """Ten checks in the last week (latencies 10..100 ms) plus one older; known feedback."""
    rows = [
        _check(0, 0.1, verdict="fake", fake_probability=0.95, chat_id=-200, media_kind="video"),
        _check(1, 0.2, verdict="fake", fake_probability=0.85, chat_id=-200, user_pseudonym="bob"),
        _check(2, 1.1, verdict="uncertain", fake_probability=0.5),
        _check(3, 1.2, verdict="real", fake_probability=0.05, source=Source.PRIVATE, chat_id=None),
        _check(4, 2.5, verdict="real", fake_probability=0.2, model_version="v2"),
        _check(5, 3.5, verdict="no_face", fake_probability=None, faces_count=0),
        _check(6, 4.5, verdict="fake", fake_probability=0.99, model_version="v2", media_kind="video"),
        _check(7, 5.5, verdict="real", fake_probability=0.15),
        _check(8, 6.5, verdict="invalid", fake_probability=None, faces_count=0, error_code="corrupt"),
        _check(9, 6.9, verdict="real", fake_probability=0.3, user_pseudonym="bob"),
        _check(10, 10.0, verdict="fake", fake_probability=0.97, latency_ms=9999.0),
    ]
    async with sessions() as s:
        s.add_all(rows)
        await s.commit()
        ids = [r.id for r in rows]
        votes = [(0, "x", True), (0, "y", False), (1, "x", False), (2, "x", True), (6, "z", True)]
        for idx, voter, agrees in votes:
            s.add(Feedback(check_id=ids[idx], voter_pseudonym=voter, agrees=agrees,
                           created_at=rows[idx].created_at, updated_at=rows[idx].created_at))  # fmt: skip
        await s.commit()
    return {"now": NOW, "ids": ids}


# --- a recent log for the operator console ------------------------------------------


def recent_log(now: dt.datetime) -> list[Check]:
    """Checks spread over the last five days, so the dashboard's window shows them."""
    rows = []
    verdicts = ["fake", "real", "real", "uncertain", "fake", "no_face", "real", "invalid"]
    for n in range(40):
        created = now - dt.timedelta(hours=3 * n + 1)
        verdict = verdicts[n % len(verdicts)]
        rows.append(
            Check(
                status=CheckStatus.DONE,
                attempts=1,
                next_attempt_at=created,
                created_at=created,
                source=Source.GROUP if n % 3 else Source.PRIVATE,
                media_kind="video" if n % 4 == 0 else "image",
                chat_id=-1001 if n % 2 else -1002,
                user_pseudonym=f"user{n % 5:02d}",
                verdict=verdict,
                fake_probability=None if verdict in ("no_face", "invalid") else round(0.02 * n + 0.1, 3),
                faces_count=0 if verdict == "no_face" else 1,
                model_name="efficientnet_lite0",
                model_version="v2" if n < 20 else "v1",
                latency_ms=100.0 + 10 * n,
                timings_ms={"total": 100.0 + 10 * n},
                result={"verdict": verdict},
                finished_at=created,
            )
        )
    return rows


@pytest.fixture
async def console_log(sessions) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    rows = recent_log(now)
    async with sessions() as s:
        s.add_all(rows)
        await s.commit()
        for i, row in enumerate(rows[:10]):
            s.add(Feedback(check_id=row.id, voter_pseudonym="v", agrees=i % 4 != 0,
                           created_at=row.created_at, updated_at=row.created_at))  # fmt: skip
        await s.commit()
    return [r.id for r in rows]
