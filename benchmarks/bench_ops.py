"""Operator queries at scale: 1,000,000 generated checks on PostgreSQL, every ops query timed.

    .venv/bin/python benchmarks/bench_ops.py [--rows 1000000] [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/]

Creates its own database (``fakewatch_bench_…``), migrates it, fills it with one
``INSERT … SELECT … FROM generate_series`` (checks spread over 90 days, ~5% with feedback),
runs each query of ``fakewatch ops`` and the console through ``db.queries`` and ``db.stats`` (the code the CLI
uses) several times, prints JSON timings, and drops the database unless ``--keep``.
Target: every query under 1 s. ``first_ms`` of the stats rows includes filling the settled-day
cache (``stats_days``) for the days not asked for before; ``median_ms`` is the usual cost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

import db
from db import jobs, queries, stats
from db.filters import CheckFilter
from fakewatch.ops_cli import write_export

GENERATE_CHECKS = """
INSERT INTO checks (status, attempts, next_attempt_at, source, media_kind, sha256, file_unique_id,
    file_size, user_pseudonym, chat_id, verdict, fake_probability, faces_count, frames_sampled,
    model_name, model_version, timings_ms, latency_ms, result, created_at, started_at, finished_at)
SELECT 'done', 1, t,
    (ARRAY['private','group','group','api'])[1 + g % 4],
    CASE WHEN g % 5 = 0 THEN 'video' ELSE 'image' END,
    md5(g::text) || md5((g + 7)::text),
    'AgAD' || (g % 400000)::text,
    20000 + (g * 7919) % 15000000,
    md5('user' || (g % 25000)::text) || md5('pepper' || (g % 25000)::text),
    CASE WHEN g % 4 IN (1, 2) THEN -1001000000000 - (g % 800) ELSE NULL END,
    v, CASE WHEN v IN ('no_face', 'invalid') THEN NULL ELSE p END,
    CASE WHEN v IN ('no_face', 'invalid') THEN 0 ELSE 1 + g % 3 END,
    CASE WHEN g % 5 = 0 THEN 32 ELSE NULL END,
    CASE WHEN g % 5 = 0 THEN 'resnext50_lstm' ELSE 'efficientnet_lite0' END,
    CASE WHEN t < now() - interval '30 days' THEN 'v1' WHEN t < now() - interval '7 days' THEN 'v2' ELSE 'v3' END,
    jsonb_build_object('total', lat),
    lat,
    jsonb_build_object('verdict', v, 'fake_probability',
                       CASE WHEN v IN ('no_face', 'invalid') THEN NULL ELSE round(p::numeric, 4) END),
    t, t, t + lat * interval '1 millisecond'
FROM (
    SELECT g, t, p, lat,
        CASE WHEN g % 50 = 0 THEN 'invalid' WHEN g % 17 = 0 THEN 'no_face'
             WHEN p < 0.45 THEN 'real' WHEN p < 0.7 THEN 'uncertain' ELSE 'fake' END AS v
    FROM (
        -- an append-only log: rows arrive in time order (what the bot writes), over 90 days
        SELECT g, now() - interval '90 days' * (1 - g::float8 / :rows) - random() * interval '5 minutes' AS t,
               random() AS p,
               CASE WHEN g % 5 = 0 THEN 1500 + random() * 4000 ELSE 150 + random() * 600 END AS lat
        FROM generate_series(1::bigint, :rows) AS g
    ) AS raw
) AS s
"""
GENERATE_FEEDBACK = """
INSERT INTO feedback (check_id, voter_pseudonym, agrees, created_at, updated_at)
SELECT id, md5('voter' || id::text), id % 7 <> 0, created_at + interval '2 minutes', created_at + interval '2 minutes'
FROM checks WHERE id % 20 = 0
"""
GENERATE_UPDATES = """
INSERT INTO processed_updates (update_id, seen_at)
SELECT g, now() - (g % 2000) * interval '1 hour' FROM generate_series(1, :n) AS g
"""


def _dsn(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(server_url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _time(fn: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, Any]:
    runs = []
    detail = None
    for _ in range(repeat):
        started = time.perf_counter()
        detail = await fn()
        runs.append((time.perf_counter() - started) * 1000)
    return {"first_ms": round(runs[0], 1), "median_ms": round(statistics.median(runs), 1),
            "max_ms": round(max(runs), 1), "detail": detail}  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    reuse = args.database is not None
    name = args.database or f"fakewatch_bench_{uuid.uuid4().hex[:8]}"
    if not reuse:
        await _admin(args.pg_url, f'CREATE DATABASE "{name}"')
    url = (
        make_url(args.pg_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    )
    report: dict[str, Any] = {"rows": args.rows, "database": name, "cpus": os.cpu_count(),
                              "loadavg_before": [round(x, 1) for x in os.getloadavg()]}  # fmt: skip
    try:
        await db.upgrade(url)
        engine = db.create_engine(url)
        sessions = db.session_factory(engine)
        started = time.perf_counter()
        if not reuse:
            await _generate(engine, args.rows)
        report["generate_s"] = round(time.perf_counter() - started, 1)
        async with sessions() as s:
            report["rows"] = (await s.execute(text("SELECT count(*) FROM checks"))).scalar()
            report["feedback_rows"] = (await s.execute(text("SELECT count(*) FROM feedback"))).scalar()
            busy_chat = (await s.execute(text(
                "SELECT chat_id FROM checks WHERE chat_id IS NOT NULL GROUP BY chat_id ORDER BY count(*) DESC LIMIT 1"
            ))).scalar()  # fmt: skip
            some_user = (await s.execute(text("SELECT user_pseudonym FROM checks LIMIT 1"))).scalar()
            some_file = (
                await s.execute(text("SELECT file_unique_id FROM checks WHERE model_version = 'v3' LIMIT 1"))
            ).scalar()

        now = dt.datetime.now(dt.UTC)
        week, month = now - dt.timedelta(days=7), now - dt.timedelta(days=30)

        async def in_session(fn: Callable[[Any], Awaitable[Any]]) -> Any:
            async with sessions() as s:
                return await fn(s)

        async def export(flt: CheckFilter) -> dict[str, int]:
            buf = io.StringIO()
            async with sessions() as s:
                n = await write_export(s, flt, buf, fmt="csv")
            return {"rows": n, "bytes": len(buf.getvalue())}

        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "stats --since 7d": lambda: in_session(lambda s: _total(stats.stats(s, since=week))),
            "stats --since 30d": lambda: in_session(lambda s: _total(stats.stats(s, since=month))),
            "stats (all 90 days)": lambda: in_session(lambda s: _total(stats.stats(s))),
            "checks (newest page)": lambda: in_session(lambda s: _page(queries.list_checks(s, CheckFilter()))),
            "checks --page 200": lambda: in_session(lambda s: _page(queries.list_checks(s, CheckFilter(), page=200))),
            "checks --since 7d --verdict fake": lambda: in_session(
                lambda s: _page(queries.list_checks(s, CheckFilter(since=week, verdict="fake")))),
            "checks --chat BUSIEST --since 30d": lambda: in_session(
                lambda s: _page(queries.list_checks(s, CheckFilter(since=month, chat_id=busy_chat)))),
            "checks --user PSEUDONYM": lambda: in_session(
                lambda s: _page(queries.list_checks(s, CheckFilter(user_pseudonym=some_user)))),
            "checks --min-prob 0.95": lambda: in_session(
                lambda s: _page(queries.list_checks(s, CheckFilter(min_probability=0.95)))),
            "checks --model-version v3 --verdict uncertain": lambda: in_session(
                lambda s: _page(queries.list_checks(s, CheckFilter(model_version="v3", verdict="uncertain")))),
            "feedback --wrong": lambda: in_session(lambda s: _page(queries.list_feedback(s))),
            "feedback --wrong --since 7d": lambda: in_session(lambda s: _page(queries.list_feedback(s, since=week))),
            "console: checks per day (30d)": lambda: in_session(
                lambda s: _len(stats.checks_per_day(s, since=month))),
            "console: latency per day (30d)": lambda: in_session(
                lambda s: _len(stats.latency_per_day(s, since=month))),
            "export --since 1d --format csv": lambda: export(CheckFilter(since=now - dt.timedelta(days=1))),
            "export --since 7d --verdict fake --format csv": lambda: export(CheckFilter(since=week, verdict="fake")),
            "bot: find_cached": lambda: in_session(
                lambda s: _found(jobs.find_cached(s, file_unique_id=some_file, model_version="v3"))),
            "bot: claim_next (empty queue)": lambda: in_session(
                lambda s: _found(jobs.claim_next(s, worker_id="bench", lease_s=60))),
        }  # fmt: skip
        timings = {}
        for label, fn in cases.items():
            timings[label] = await _time(fn, args.repeat)
            print(f"{label:<48} {timings[label]['median_ms']:>9.1f} ms  {timings[label]['detail']}", file=sys.stderr)
        if not reuse:  # purge last (it deletes): the oldest ~5 days of the 90
            timings["purge --older-than 85"] = await _time(
                lambda: in_session(lambda s: jobs.purge_older_than(s, 85)), 1
            )
        report["timings"] = timings
        report["loadavg_after"] = [round(x, 1) for x in os.getloadavg()]
        slowest = max(timings, key=lambda k: timings[k]["median_ms"])
        report["slowest"] = {"query": slowest, "median_ms": timings[slowest]["median_ms"]}
        report["all_under_1s"] = all(t["median_ms"] < 1000 for t in timings.values())
        await engine.dispose()
    finally:
        if not args.keep and not reuse:
            await _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return report


async def _generate(engine: Any, rows: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.42)"))
        await conn.execute(text(GENERATE_CHECKS), {"rows": rows})
        await conn.execute(text(GENERATE_FEEDBACK))
        await conn.execute(text(GENERATE_UPDATES), {"n": min(rows, 200_000)})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def _total(coro: Awaitable[Any]) -> int:
    return (await coro).total


async def _page(coro: Awaitable[Any]) -> dict[str, int]:
    page = await coro
    return {"total": page.total, "items": len(page.items)}


async def _len(coro: Awaitable[Any]) -> int:
    return len(await coro)


async def _found(coro: Awaitable[Any]) -> bool:
    return (await coro) is not None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON report (progress lines go to stderr)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--database", help="time an existing (already generated) database instead")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
