"""Albums (media groups) arrive as one update per item with no end marker: debounce them.

Each item is already a job row when it gets here; this only decides *when the album is
complete* (no new item for ``debounce_s``) so that the worker can send one combined reply.
State is in memory on purpose: after a restart an unknown album counts as complete, because
its items arrived long before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

AlbumKey = tuple[int, str]  # (chat_id, media_group_id): media_group_id is unique per chat only
#: Answered albums are remembered this long (so late duplicates cannot answer twice), then dropped.
FORGET_AFTER_S = 3600.0


@dataclass
class _Album:
    last_item: float
    reply_to: int  # the first item's message id: the combined reply hangs under it
    timer: asyncio.TimerHandle | None = None
    replied: bool = False
    check_ids: list[object] = field(default_factory=list)


class AlbumDebouncer:
    """Tracks open albums and calls ``on_quiet(key)`` once an album has been quiet long enough."""

    def __init__(
        self,
        debounce_s: float,
        on_quiet: Callable[[AlbumKey], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.debounce_s = debounce_s
        self._on_quiet = on_quiet
        self._clock = clock
        self._albums: dict[AlbumKey, _Album] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_item(self, key: AlbumKey, message_id: int, check_id: object) -> None:
        """A new album item: (re)start the quiet timer."""
        self._prune()
        album = self._albums.get(key)
        now = self._clock()
        if album is None:
            album = self._albums[key] = _Album(last_item=now, reply_to=message_id)
        album.last_item = now
        album.reply_to = min(album.reply_to, message_id)
        album.check_ids.append(check_id)
        if album.timer is not None:
            album.timer.cancel()
        loop = asyncio.get_running_loop()
        album.timer = loop.call_later(self.debounce_s, self._fire, key)

    def _fire(self, key: AlbumKey) -> None:
        task = asyncio.get_running_loop().create_task(self._on_quiet(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def is_complete(self, key: AlbumKey) -> bool:
        """No new item for ``debounce_s`` (or unknown: it came before a restart)."""
        album = self._albums.get(key)
        return album is None or self._clock() - album.last_item >= self.debounce_s

    def reply_to(self, key: AlbumKey) -> int | None:
        album = self._albums.get(key)
        return None if album is None else album.reply_to

    def claim_reply(self, key: AlbumKey) -> bool:
        """True exactly once per album: whoever gets True sends the combined reply."""
        album = self._albums.get(key)
        if album is None:  # an album from before a restart
            album = self._albums[key] = _Album(last_item=self._clock() - self.debounce_s, reply_to=0)
        if album.replied:
            return False
        album.replied = True
        return True

    def _prune(self) -> None:
        """Bound memory: drop answered albums whose last item is long past."""
        cutoff = self._clock() - FORGET_AFTER_S
        for key in [k for k, a in self._albums.items() if a.replied and a.last_item < cutoff]:
            self.forget(key)

    def forget(self, key: AlbumKey) -> None:
        album = self._albums.pop(key, None)
        if album is not None and album.timer is not None:
            album.timer.cancel()

    def close(self) -> None:
        for album in self._albums.values():
            if album.timer is not None:
                album.timer.cancel()
        for task in self._tasks:
            task.cancel()
        self._albums.clear()
