"""Caps on untrusted media and the decode deadline; numbers that only intake uses live here."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from serving.contract import ErrorCode
from serving.intake._errors import IntakeError

# A video may not have more frames than this many per second of the duration cap: it bounds the
# packet scan of files whose timestamps lie (e.g. a GIF of 100 000 zero-delay frames).
MAX_FRAME_RATE = 240
# Defaults of the caps that fakewatch.settings also carries (tests and tools build IntakeLimits
# from five numbers; these keep their meaning).
DEFAULT_MAX_VIDEO_FRAMES = 36_000
DEFAULT_MAX_ANIMATION_FRAMES = 3_000
DEFAULT_VIDEO_CODECS: frozenset[str] = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif"})
# Animations (GIF, animated WebP, APNG) are decoded in order, every frame composited onto the
# whole canvas: frames x canvas pixels is the work a file asks for, whatever its byte size. A
# 69 kB GIF of 3000 one-pixel frames on a 3840x2160 canvas asks for 25 G pixels (9.5 s here).
ANIMATION_DECODE_PIXELS = 3_000_000_000
# Extra seconds the caller waits for the worker thread after the in-loop deadline should have
# fired; past it, a stuck libav call costs a thread, not the caller.
THREAD_GRACE_S = 0.5
# A header may promise more frames than the file holds only by this fraction before we call
# the file truncated (edit lists and a lost last packet are normal; half a file is not).
TRUNCATION_TOLERANCE = 0.1
# Let the decoder skip non-reference frames when samples are at least this many frames apart on
# average: each target then gets its nearest decodable frame (about every 2nd frame in x264
# output), bit-identical to a full decode. Skipping *all* B-frames ("BIDIR") would be faster but
# is wrong: with x264's default b-pyramid, P-frames reference B-frames, and the P-frames came out
# damaged (mean |diff| ~5/255 on the DFDC clips), exactly the artefacts a deepfake model reacts to.
NONREF_MIN_GAP = 4.0
# A seek flushes the decoder (and its frame threads); it pays only when it skips more frames
# than the decoder already has in flight.
SEEK_MIN_SKIPPED_FRAMES = 12


@dataclass(frozen=True)
class IntakeLimits:
    """Caps for one ``load_media`` call; built from ``Settings``, tests lower them to tiny values."""

    max_file_bytes: int
    max_image_pixels: int
    max_video_seconds: float
    max_video_pixels: int
    decode_timeout_s: float
    max_video_frames: int = DEFAULT_MAX_VIDEO_FRAMES
    max_animation_frames: int = DEFAULT_MAX_ANIMATION_FRAMES
    # codec names (as ffprobe prints them) whose decoders may run; others are `unsupported`
    video_codecs: frozenset[str] = DEFAULT_VIDEO_CODECS
    animation_decode_pixels: int = ANIMATION_DECODE_PIXELS

    @classmethod
    def from_settings(cls, settings: Any) -> IntakeLimits:
        """Take the caps from a ``fakewatch.settings.Settings`` (duck-typed: no import needed)."""
        return cls(
            max_file_bytes=int(settings.max_file_bytes),
            max_image_pixels=int(settings.max_image_pixels),
            max_video_seconds=float(settings.max_video_seconds),
            max_video_pixels=int(settings.max_video_pixels),
            decode_timeout_s=float(settings.decode_timeout_s),
            max_video_frames=int(settings.max_video_frames),
            max_animation_frames=int(settings.max_animation_frames),
            video_codecs=frozenset(str(c).lower() for c in settings.video_codecs),
        )

    @property
    def frame_cap(self) -> int:
        """Frames a (seekable) video may hold: the cap, and never more than the duration cap
        at MAX_FRAME_RATE (timestamps can lie; the count of packets cannot)."""
        return min(self.max_video_frames, int(self.max_video_seconds * MAX_FRAME_RATE) + 1)

    def animation_frame_cap(self, width: int, height: int) -> int:
        """Frames an animation of this canvas may hold: every one is decoded in order."""
        by_work = self.animation_decode_pixels // max(1, width * height)
        return max(1, min(self.frame_cap, self.max_animation_frames, by_work))


class Deadline:
    """Checked inside every decode loop; also cancelled by the caller when it stops waiting."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._expires_at = time.monotonic() + seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def remaining(self) -> float:
        """Seconds left (0 once expired or cancelled)."""
        if self._cancelled.is_set():
            return 0.0
        return max(0.0, self._expires_at - time.monotonic())

    def expired(self) -> bool:
        return self._cancelled.is_set() or time.monotonic() >= self._expires_at

    def check(self, stage: str) -> None:
        if self.expired():
            raise IntakeError(
                ErrorCode.TIMEOUT,
                f"decoding took longer than the {self.seconds:g} s budget (stopped while {stage})",
            )
