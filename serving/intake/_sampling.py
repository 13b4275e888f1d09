"""Which frames to sample and when seeking pays: pure functions over timestamps, no decoding.

The plan is made from a packet-only demux pass (cheap: no decoding), so it knows every frame's
presentation timestamp and where the keyframes are before a single frame is decoded.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def spread_targets(pts: Sequence[int], n: int) -> list[int]:
    """``n`` distinct timestamps from ``pts`` spread evenly in *time* from the first to the last frame.

    ``pts`` must be sorted and unique. With fewer frames than ``n`` every frame is a target.
    Evenly in time (not in frame count) so variable-frame-rate clips are covered fairly.
    """
    if n < 1 or not pts:
        return []
    if len(pts) <= n:
        return list(pts)
    if n == 1:
        return [pts[len(pts) // 2]]
    first, last = pts[0], pts[-1]
    chosen: list[int] = []
    previous = -1
    for i in range(n):
        goal = first + (last - first) * i / (n - 1)
        j = bisect.bisect_left(pts, goal)
        if j > 0 and (j == len(pts) or goal - pts[j - 1] <= pts[j] - goal):
            j -= 1
        # keep targets distinct and increasing, and leave room for the ones still to come
        j = max(j, previous + 1)
        j = min(j, len(pts) - (n - i))
        chosen.append(pts[j])
        previous = j
    return chosen


def seek_target(
    position: int,
    next_target: int,
    keyframes: Sequence[int],
    pts: Sequence[int] = (),
    min_skipped: int = 0,
) -> int | None:
    """The keyframe to seek to before decoding towards ``next_target``, or None to keep decoding.

    Seek only when the next sample lies beyond the next keyframe after the current position:
    then the frames up to that keyframe would be decoded for nothing. Otherwise decoding on in
    order is cheaper than a seek (which flushes the decoder and restarts at a keyframe anyway).
    With ``pts`` given, also skip the seek when it would save fewer than ``min_skipped`` frames
    (a decoder running a few frames ahead has those in flight already).
    """
    start = bisect.bisect_right(keyframes, position)
    if start >= len(keyframes) or keyframes[start] > next_target:
        return None
    keyframe = keyframes[bisect.bisect_right(keyframes, next_target) - 1]
    if pts and bisect.bisect_left(pts, keyframe) - bisect.bisect_right(pts, position) < min_skipped:
        return None
    return keyframe


class NearestPicker(Generic[T]):
    """Picks, from frames arriving in presentation order, the one nearest each target timestamp.

    Works both when every frame is decoded (each target is then hit exactly) and when the decoder
    skips non-reference frames (each target then gets its nearest decodable frame). A frame is
    never picked twice; items are whatever the caller wants converted later (e.g. ``VideoFrame``).
    """

    def __init__(self, targets: Sequence[int]) -> None:
        self.targets = list(targets)
        self._next = 0
        self._previous: tuple[int, T] | None = None
        self._last_taken: int | None = None

    @property
    def done(self) -> bool:
        return self._next >= len(self.targets)

    @property
    def next_target(self) -> int | None:
        return None if self.done else self.targets[self._next]

    def _free(self, pts: int) -> bool:
        return self._last_taken is None or pts > self._last_taken

    def offer(self, pts: int, item: T) -> list[tuple[int, T]]:
        """Show the next decoded frame; returns the frames picked now as ``(pts, item)``."""
        picked: list[tuple[int, T]] = []
        while not self.done and pts >= self.targets[self._next]:
            goal = self.targets[self._next]
            previous = self._previous
            if previous is not None and self._free(previous[0]) and goal - previous[0] < pts - goal:
                choice = previous
            elif self._free(pts):
                choice = (pts, item)
            else:  # this frame is already taken: the target waits for the next frame
                break
            picked.append(choice)
            self._last_taken = choice[0]
            self._next += 1
        self._previous = (pts, item)
        return picked

    def finish(self) -> list[tuple[int, T]]:
        """End of stream: targets past the last decoded frame get that frame (if still free)."""
        if not self.done and self._previous is not None and self._free(self._previous[0]):
            self._next = len(self.targets)
            self._last_taken = self._previous[0]
            return [self._previous]
        return []
