"""Names and numbers the whole engine agrees on, in one place (python-telegram-bot style)."""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """A ``str`` enum whose value is what goes into JSON and the database."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class Verdict(StrEnum):
    """The answer for one input; ``no_face`` and ``invalid`` are verdicts of their own."""

    REAL = "real"
    UNCERTAIN = "uncertain"
    FAKE = "fake"
    NO_FACE = "no_face"
    INVALID = "invalid"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class ErrorCode(StrEnum):
    """Why an input is ``invalid``; stable strings the bot, the API and the DB rely on."""

    EMPTY = "empty"
    UNSUPPORTED = "unsupported"  # decodes as nothing we accept (text, random bytes, audio…)
    CORRUPT = "corrupt"  # looks like media but cannot be decoded (truncated, broken)
    TOO_LARGE = "too_large"  # bytes, pixels or resolution over the caps (incl. decompression bombs)
    TOO_LONG = "too_long"  # duration over the cap
    TIMEOUT = "timeout"  # decoding took longer than the decode budget
    NOT_FOUND = "not_found"  # a path that does not exist (CLI)
    INTERNAL = "internal"  # a bug on our side; the message says what


# Image formats Pillow may open (decided by decoding, not by file name).
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "MPO", "HEIF")
# Container formats PyAV may open (names as libavformat reports them, comma lists split).
VIDEO_CONTAINERS: frozenset[str] = frozenset(
    {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "gif"}
)

DEFAULT_FRAMES_PER_VIDEO = 32
TOP_MOMENTS = 3  # how many "most suspicious timestamps" a video result lists
