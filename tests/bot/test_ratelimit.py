"""bot.ratelimit: token buckets per user and per chat, one polite refusal per overflow."""

from __future__ import annotations

from bot import InboundLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_over_time() -> None:
    clock = Clock()
    bucket = TokenBucket(2, 60.0, clock=clock)  # one token a second
    assert bucket.take() and bucket.take()
    assert not bucket.take()
    clock.now = 1.0
    assert bucket.take()
    assert not bucket.take()


def test_user_limit_notifies_once_then_recovers() -> None:
    clock = Clock()
    limiter = InboundLimiter(user_burst=2, user_per_minute=60, chat_burst=100, chat_per_minute=60,
                             clock=clock)  # fmt: skip
    assert limiter.check(1, 1).allowed
    assert limiter.check(1, 1).allowed
    first, second = limiter.check(1, 1), limiter.check(1, 1)
    assert not first.allowed and first.notify and first.scope == "user"
    assert not second.allowed and not second.notify  # silence after the one polite message
    assert limiter.check(2, 2).allowed  # other users are unaffected
    clock.now = 1.0
    assert limiter.check(1, 1).allowed
    clock.now = 1.0
    again = limiter.check(1, 1)
    assert not again.allowed and again.notify  # a new episode gets a new notice


def test_chat_limit_applies_across_users() -> None:
    limiter = InboundLimiter(user_burst=10, user_per_minute=1, chat_burst=3, chat_per_minute=1,
                             clock=Clock())  # fmt: skip
    results = [limiter.check(user, -100) for user in (1, 2, 3, 4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[-1].scope == "chat"
    # a refused request costs the user nothing
    assert limiter.check(4, 4).allowed


def test_memory_is_bounded_by_forgetting_full_buckets() -> None:
    clock = Clock()
    limiter = InboundLimiter(user_burst=1, user_per_minute=60, chat_burst=1, chat_per_minute=60,
                             clock=clock, max_keys=10)  # fmt: skip
    for user in range(50):
        clock.now += 2.0  # earlier buckets have refilled
        assert limiter.check(user, user).allowed
    assert len(limiter._buckets) <= 10
