"""``load_media``: read the source within the caps, decide what it is by decoding, never hang."""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from pathlib import Path

from serving.constants import DEFAULT_FRAMES_PER_VIDEO
from serving.contract import ErrorCode
from serving.intake._errors import IntakeError
from serving.intake._image import allowed_formats, decode_animation, decode_image, is_animation, open_image
from serving.intake._limits import THREAD_GRACE_S, Deadline, IntakeLimits
from serving.intake._media import Media
from serving.intake._sniff import IMAGE_FAMILIES, sniff
from serving.intake._video import load_video
from serving.provenance import read_provenance

#: At most this long for reading credentials and marks (the pixel watermark check is skipped
#: when less is left); it counts against the decode budget.
PROVENANCE_BUDGET_S = 2.0

logger = logging.getLogger(__name__)


def load_media(source: bytes | Path, *, limits: IntakeLimits, n_frames: int = DEFAULT_FRAMES_PER_VIDEO) -> Media:
    """Decode and validate one upload; raises ``IntakeError`` and nothing else, never hangs.

    The work runs in a daemon thread that we wait for with a timeout: the decode loops check the
    deadline themselves, and if a libav call gets stuck anyway it costs a thread, not the caller.
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise IntakeError(ErrorCode.INTERNAL, f"n_frames must be a positive integer, not {n_frames!r}")
    if not isinstance(source, (bytes, bytearray, memoryview, str, os.PathLike)):
        raise IntakeError(ErrorCode.INTERNAL, f"source must be bytes or a Path, not {type(source).__name__}")
    deadline = Deadline(limits.decode_timeout_s)
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["media"] = _load(source, limits, n_frames, deadline)
        except IntakeError as exc:
            outcome["error"] = exc
        except MemoryError:
            outcome["error"] = IntakeError(ErrorCode.TOO_LARGE, "decoding ran out of memory")
        except BaseException as exc:
            # Still a typed answer for the caller, but a decoder path we did not expect: log it
            # with its traceback so it gets a proper error (the fuzz test fails on this log).
            logger.error("unexpected %s while decoding an upload", type(exc).__name__, exc_info=True)
            outcome["error"] = IntakeError(
                ErrorCode.CORRUPT, f"the file cannot be decoded: {type(exc).__name__}: {exc}"
            )
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="fakewatch-intake", daemon=True)
    worker.start()
    if not finished.wait(limits.decode_timeout_s + THREAD_GRACE_S):
        deadline.cancel()  # the loop stops at its next check; a stuck libav call is abandoned
        raise IntakeError(ErrorCode.TIMEOUT, f"decoding took longer than the {limits.decode_timeout_s:g} s budget")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["media"]  # type: ignore[return-value]


def _load(source: bytes | Path, limits: IntakeLimits, n_frames: int, deadline: Deadline) -> Media:
    started = time.perf_counter()
    data = _read(source, limits)
    read_ms = (time.perf_counter() - started) * 1000
    # On the original bytes, before anything re-encodes them: credentials and marks live there.
    t = time.perf_counter()
    provenance = read_provenance(data, budget_s=min(PROVENANCE_BUDGET_S, deadline.remaining()))
    provenance_ms = (time.perf_counter() - t) * 1000
    family = sniff(data[:32])
    image = open_image(data, limits)
    if image is not None and image.format == "GIF" and is_animation(image):
        # Animated GIF is a video; Pillow already read the logical screen size, so a GIF whose
        # screen is huge is refused here before libav allocates a single frame for it.
        width, height = image.size
        if width * height > limits.max_video_pixels:
            raise IntakeError(
                ErrorCode.TOO_LARGE,
                f"animated GIF is {width}x{height}, over the video cap of {limits.max_video_pixels:,} pixels",
            )
        image.close()
        media = load_video(data, limits, deadline, n_frames, "gif")
    elif image is not None and is_animation(image):
        media = decode_animation(image, limits, deadline, n_frames)
    elif image is not None:
        media = decode_image(image, deadline)
    elif family == "heif" and "HEIF" not in allowed_formats():
        raise IntakeError(ErrorCode.UNSUPPORTED, "HEIC/HEIF photo, but HEIC support (pillow-heif) is not installed")
    elif family == "avif":  # a real format, just not one on our list (serving.constants)
        raise IntakeError(ErrorCode.UNSUPPORTED, "AVIF images are not accepted; send JPEG, PNG, WebP or HEIC")
    elif family in IMAGE_FAMILIES:
        raise IntakeError(
            ErrorCode.CORRUPT, f"looks like {family.upper()} but cannot be decoded (truncated or damaged?)"
        )
    else:
        media = load_video(data, limits, deadline, n_frames, family)
    media.provenance = provenance
    media.timings_ms = {"read": read_ms, "provenance": provenance_ms, **media.timings_ms}
    media.timings_ms.setdefault("probe", 0.0)
    media.timings_ms["total"] = (time.perf_counter() - started) * 1000
    return media


def _read(source: bytes | Path, limits: IntakeLimits) -> bytes:
    """Bytes within ``max_file_bytes``; a path's size is checked before anything is read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise IntakeError(ErrorCode.NOT_FOUND, f"no such file: {path}") from None
        except OSError as exc:
            raise IntakeError(ErrorCode.NOT_FOUND, f"cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise IntakeError(ErrorCode.UNSUPPORTED, f"{path} is not a regular file")
        _check_size(info.st_size, limits)
        try:
            with path.open("rb") as handle:
                data = handle.read(limits.max_file_bytes + 1)  # the file may grow after stat()
        except OSError as exc:
            raise IntakeError(ErrorCode.NOT_FOUND, f"cannot read {path}: {exc.strerror}") from None
    _check_size(len(data), limits)
    return data


def _check_size(size: int, limits: IntakeLimits) -> None:
    if size == 0:
        raise IntakeError(ErrorCode.EMPTY, "the file is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise IntakeError(
            ErrorCode.TOO_LARGE,
            f"the file is {size / 1e6:.1f} MB, over the {limits.max_file_bytes / 1e6:.1f} MB cap",
        )
