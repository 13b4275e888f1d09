"""Many writers and many claimers at once: no lost rows, no job handed out twice."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from db import jobs
from db.models import Check

WRITERS, PER_WRITER = 50, 100


async def test_concurrent_writers_lose_nothing(sessions, backend) -> None:
    async def writer(n: int) -> None:
        async with sessions() as s:
            for i in range(PER_WRITER):
                await jobs.enqueue_check(s, source="group", chat_id=-n, file_unique_id=f"{n}-{i}",
                                         user_pseudonym=f"u{n}", update_id=n * PER_WRITER + i)  # fmt: skip

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    elapsed = time.perf_counter() - started
    async with sessions() as s:
        total = (await s.execute(select(func.count()).select_from(Check))).scalar()
        distinct = (await s.execute(select(func.count(func.distinct(Check.file_unique_id))))).scalar()
    assert total == distinct == WRITERS * PER_WRITER
    print(f"{backend}: {WRITERS}x{PER_WRITER} concurrent enqueues in {elapsed:.2f}s")


async def test_concurrent_claimers_never_share_a_job(sessions, backend) -> None:
    n_jobs, n_workers = (400, 20) if backend == "postgresql" else (150, 8)
    async with sessions() as s:
        for i in range(n_jobs):
            await jobs.enqueue_check(s, source="private", file_unique_id=f"job-{i}")

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        async with sessions() as s:
            while (check := await jobs.claim_next(s, worker_id=name, lease_s=300)) is not None:
                got.append(check.id)
                await asyncio.sleep(0)  # let the others interleave
        return got

    claimed = await asyncio.gather(*(worker(f"w{n}") for n in range(n_workers)))
    flat = [job_id for ids in claimed for job_id in ids]
    assert len(flat) == len(set(flat)) == n_jobs
    assert sum(1 for ids in claimed if ids) > 1  # the work really was shared
    async with sessions() as s:
        attempts = set((await s.execute(select(Check.attempts))).scalars())
    assert attempts == {1}
