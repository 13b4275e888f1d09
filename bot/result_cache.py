"""Stored results that may answer a file again: the same ``file_unique_id`` checked by a model
version the serving app still serves.

Why apart from the worker: which versions count is a policy of its own (the app's versions,
refreshed every ``refresh_s`` and remembered while it is down, plus composite ``image+video``
versions whose every part is served), and an upgraded model must invalidate the cache.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db
from db import jobs
from serving.client import ServingClient

_LOGGER = logging.getLogger(__name__)


class ResultCache:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], client: ServingClient, refresh_s: float) -> None:
        self.sessions = sessions
        self.client = client
        self.refresh_s = refresh_s
        self._versions: set[str] = set()
        self._versions_at = float("-inf")
        self._seen_versions: set[str] = set()

    async def load(self) -> None:
        """The versions stored results carry (composite for videos), for the cache after a restart."""
        async with self.sessions() as s:
            stored = await s.execute(
                select(db.Check.model_version)
                .where(db.Check.status == db.CheckStatus.DONE, db.Check.model_version.is_not(None))
                .distinct()
                .limit(100)
            )
            self._seen_versions.update(str(v) for v in stored.scalars())

    def saw(self, version: str) -> None:
        """A result came back with this (possibly composite) version."""
        self._seen_versions.add(version)

    async def find(self, job: db.Check) -> db.Check | None:
        """A finished check of the same file by a usable model version (never the job itself)."""
        if not job.file_unique_id:
            return None
        versions = await self.usable_versions()
        async with self.sessions() as s:
            for version in sorted(versions):
                hit = await jobs.find_cached(s, file_unique_id=job.file_unique_id, model_version=version)
                if hit is not None and hit.id != job.id and hit.result:
                    return hit
        return None

    async def usable_versions(self) -> set[str]:
        """Model versions whose stored results may be reused.

        The serving app's versions (refreshed every ``refresh_s``, last known while it is down)
        plus the versions results reported (a video's is composite, ``image+video``) as long as
        every part is a version the app serves now: an upgraded model invalidates the cache.
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._versions_at >= self.refresh_s or not self._versions:
            try:
                versions = (await self.client.models()).served_versions()
            except Exception as exc:  # down or old: fall back to what we knew
                _LOGGER.debug("could not read serving models: %s", type(exc).__name__)
                versions = set()
            if versions:
                self._versions, self._versions_at = versions, loop.time()
        if not self._versions:
            return set(self._seen_versions)
        usable = {v for v in self._seen_versions if set(v.split("+")) <= self._versions}
        return self._versions | usable
