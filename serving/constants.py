"""Numbers the whole engine agrees on, in one place (python-telegram-bot style).

The names the outside world sees (verdicts, error codes, media kinds) are part of the check
result contract and live in :mod:`serving.contract`.
"""

from __future__ import annotations

# Image formats Pillow may open (decided by decoding, not by file name).
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "MPO", "HEIF")
# Container formats PyAV may open (names as libavformat reports them, comma lists split).
VIDEO_CONTAINERS: frozenset[str] = frozenset(
    {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "gif"}
)

DEFAULT_FRAMES_PER_VIDEO = 32
TOP_MOMENTS = 3  # how many "most suspicious timestamps" a video result lists
