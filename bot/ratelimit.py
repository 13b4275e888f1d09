"""Inbound per-user and per-chat token buckets.

Why our own: PTB's AIORateLimiter only throttles what the bot *sends*; nothing stops one user
from queueing a thousand videos. One polite message per overflow, then silence, so the limiter
itself cannot be used to make the bot spam.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``per_minute`` tokens a minute."""

    capacity: float
    per_minute: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_minute / 60.0)
        self.stamp = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity


@dataclass(frozen=True)
class Decision:
    allowed: bool
    notify: bool  # True exactly once per overflow episode of a bucket
    scope: str | None = None  # "user" or "chat" when refused


class InboundLimiter:
    """A bucket per user and per chat; a request passes only if both have a token."""

    def __init__(
        self,
        *,
        user_burst: int,
        user_per_minute: float,
        chat_burst: int,
        chat_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._user = (user_burst, user_per_minute)
        self._chat = (chat_burst, chat_per_minute)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._notified: set[Hashable] = set()

    def _bucket(self, key: Hashable, spec: tuple[int, float]) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full()
            bucket = self._buckets[key] = TokenBucket(spec[0], spec[1], clock=self._clock)
        return bucket

    def _forget_full(self) -> None:
        """Full buckets carry no state, so they can go (bounds memory under many users)."""
        for key in [k for k, b in self._buckets.items() if b.full]:
            del self._buckets[key]
            self._notified.discard(key)

    def check(self, user_id: int | None, chat_id: int | None) -> Decision:
        """Take a token from the user's and the chat's bucket (private chats: the user's only)."""
        keys: list[tuple[Hashable, tuple[int, float], str]] = []
        if user_id is not None:
            keys.append((("user", user_id), self._user, "user"))
        if chat_id is not None and chat_id != user_id:
            keys.append((("chat", chat_id), self._chat, "chat"))
        for key, spec, scope in keys:
            bucket = self._bucket(key, spec)
            bucket._refill()
            if bucket.tokens < 1.0:
                notify = key not in self._notified
                self._notified.add(key)
                return Decision(False, notify, scope)
        for key, spec, _ in keys:
            self._bucket(key, spec).take()
            self._notified.discard(key)
        return Decision(True, False)
