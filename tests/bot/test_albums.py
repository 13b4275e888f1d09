"""bot.albums: an album is complete after a quiet period; exactly one combined reply."""

from __future__ import annotations

import asyncio

from bot import AlbumDebouncer


async def test_debounce_fires_once_after_the_last_item() -> None:
    fired: list[tuple[int, str]] = []

    async def on_quiet(key: tuple[int, str]) -> None:
        fired.append(key)

    albums = AlbumDebouncer(0.2, on_quiet)
    key = (5, "album-1")
    albums.add_item(key, 11, 1)
    await asyncio.sleep(0.1)
    assert not albums.is_complete(key)
    albums.add_item(key, 10, 2)  # restarts the timer; the earliest message gets the reply
    await asyncio.sleep(0.12)
    assert fired == [] and not albums.is_complete(key)
    await asyncio.sleep(0.2)
    assert fired == [key] and albums.is_complete(key)
    assert albums.reply_to(key) == 10
    assert albums.claim_reply(key) is True
    assert albums.claim_reply(key) is False
    albums.close()


def test_unknown_album_counts_as_complete_after_restart() -> None:
    async def on_quiet(key: tuple[int, str]) -> None:  # pragma: no cover - never called
        raise AssertionError

    albums = AlbumDebouncer(5.0, on_quiet)
    assert albums.is_complete((1, "x"))
    assert albums.reply_to((1, "x")) is None
    assert albums.claim_reply((1, "x")) and not albums.claim_reply((1, "x"))


async def test_answered_albums_are_forgotten_after_an_hour() -> None:
    now = [0.0]

    async def on_quiet(key: tuple[int, str]) -> None:
        pass

    albums = AlbumDebouncer(0.01, on_quiet, clock=lambda: now[0])
    albums.add_item((1, "a"), 1, 1)
    assert albums.claim_reply((1, "a"))
    now[0] = 1800.0
    albums.add_item((1, "b"), 2, 2)
    assert not albums.claim_reply((1, "a"))  # still remembered: no second answer
    now[0] = 4000.0
    albums.add_item((1, "c"), 3, 3)
    assert (1, "a") not in albums._albums and (1, "b") in albums._albums  # "b" was never answered
    albums.close()
