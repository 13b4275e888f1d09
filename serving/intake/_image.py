"""Still images (and Pillow-only animations) through Pillow, with the pixel cap checked on the header.

Pillow only runs the decoders on our allowlist (``formats=``), reads the size from the header, and
we refuse anything over ``max_image_pixels`` before a single pixel is decoded: a PNG whose IHDR
claims 100000 x 100000 costs microseconds, not 30 GB.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from serving.constants import IMAGE_FORMATS
from serving.contract import ErrorCode, MediaKind
from serving.intake._errors import IntakeError
from serving.intake._limits import Deadline, IntakeLimits
from serving.intake._media import Frame, Media
from serving.intake._sampling import spread_targets

# warnings.catch_warnings swaps a process-global filter list: serialise our (header-only, fast)
# Image.open calls so two threads cannot restore each other's filters out of order.
_OPEN_LOCK = threading.Lock()
# Animated formats Pillow decodes frame by frame; animated GIF goes to PyAV instead (see _load).
PILLOW_ANIMATIONS = frozenset({"WEBP", "PNG"})
# What Pillow's plugins raise on a damaged or truncated file (besides UnidentifiedImageError):
# e.g. ValueError "Truncated IHDR chunk", IndexError from a GIF cut inside its next frame.
PILLOW_DECODE_ERRORS = (OSError, EOFError, ValueError, SyntaxError, struct.error, IndexError)

try:  # optional HEIC/HEIF support from the registry package pillow-heif
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the environment
    pass


def allowed_formats() -> list[str]:
    """Our allowlist, minus formats this Pillow build cannot open (HEIF without pillow-heif)."""
    Image.init()
    return [name for name in IMAGE_FORMATS if name in Image.OPEN]


def open_image(data: bytes, limits: IntakeLimits) -> Image.Image | None:
    """Parse the header only; None if no allowed format recognises the bytes.

    Raises TOO_LARGE for images over the pixel cap (Pillow's decompression-bomb warning is an
    error here, and our own cap is checked too: it is usually the lower of the two).
    """
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=allowed_formats())
        except UnidentifiedImageError:
            return None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise IntakeError(ErrorCode.TOO_LARGE, f"image refused as a decompression bomb: {exc}") from None
        except PILLOW_DECODE_ERRORS as exc:  # a recognised header that ends early or holds nonsense
            raise IntakeError(ErrorCode.CORRUPT, f"the image header is truncated or damaged: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise IntakeError(ErrorCode.CORRUPT, f"{image.format} header gives an empty size {width}x{height}")
    if width * height > limits.max_image_pixels:
        raise IntakeError(
            ErrorCode.TOO_LARGE,
            f"{image.format} image is {width}x{height} = {width * height:,} pixels, "
            f"over the cap of {limits.max_image_pixels:,}",
        )
    return image


def is_animation(image: Image.Image) -> bool:
    """True for animated GIF/WebP/APNG. Cheap: GIF only looks for a second frame."""
    try:
        animated = bool(getattr(image, "is_animated", False))  # a lazy property that reads the file
    except PILLOW_DECODE_ERRORS as exc:
        raise IntakeError(
            ErrorCode.CORRUPT, f"{image.format} animation is truncated or damaged after its first frame: {exc}"
        ) from None
    return animated and image.format in PILLOW_ANIMATIONS | {"GIF"}


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """RGB uint8, C-contiguous; transparent pixels are laid over white (not black) like a viewer."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode == "I;16" or image.mode.startswith("I;16"):
        image = image.point(lambda v: v / 256).convert("L")  # 16-bit grey: keep the high byte
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def decode_image(image: Image.Image, deadline: Deadline) -> Media:
    """Decode the first (only) frame, apply EXIF orientation, return it as RGB."""
    started = time.perf_counter()
    try:
        image.load()
        deadline.check("decoding the image")
        upright = ImageOps.exif_transpose(image)
        pixels = to_rgb_array(upright if upright is not None else image)
    except IntakeError:
        raise
    except PILLOW_DECODE_ERRORS as exc:
        raise IntakeError(ErrorCode.CORRUPT, f"{image.format} image cannot be decoded: {exc}") from None
    decode_ms = (time.perf_counter() - started) * 1000
    height, width = pixels.shape[:2]
    return Media(
        kind=MediaKind.IMAGE,
        frames=[Frame(image=pixels, index=0, t=None)],
        width=width,
        height=height,
        duration_s=None,
        fps=None,
        container=str(image.format).lower(),
        codec=None,
        timings_ms={"decode": decode_ms},
        details={"strategy": "pillow", "mode": image.mode},
    )


def decode_animation(image: Image.Image, limits: IntakeLimits, deadline: Deadline, n_frames: int) -> Media:
    """Animated WebP / APNG as a video: same caps as PyAV videos, frames walked in order.

    Both formats must be decoded frame after frame to composite each picture, so there is
    no cheaper way than walking in order; only the sampled frames are converted to RGB.
    """
    started = time.perf_counter()
    width, height = image.size
    if width * height > limits.max_video_pixels:
        raise IntakeError(
            ErrorCode.TOO_LARGE,
            f"animated {image.format} is {width}x{height}, over the video cap of {limits.max_video_pixels:,} pixels",
        )
    try:
        count = int(getattr(image, "n_frames", 1))  # APNG: declared in acTL; WebP: chunk headers
    except PILLOW_DECODE_ERRORS as exc:
        raise IntakeError(ErrorCode.CORRUPT, f"animated {image.format} frame count unreadable: {exc}") from None
    cap = limits.animation_frame_cap(width, height)
    if count > cap:
        raise IntakeError(
            ErrorCode.TOO_LARGE,
            f"animated {image.format} has {count:,} frames of {width}x{height}; "
            f"at most {cap:,} frames of that size are checked",
        )
    wanted = set(spread_targets(list(range(count)), n_frames))
    frames: list[Frame] = []
    elapsed_ms = 0.0
    try:
        for position in range(max(wanted) + 1):
            deadline.check("decoding animation frames")
            image.seek(position)
            image.load()
            if position in wanted:
                frames.append(Frame(to_rgb_array(image), index=len(frames), t=elapsed_ms / 1000))
            elapsed_ms += float(image.info.get("duration") or 0)
            if elapsed_ms / 1000 > limits.max_video_seconds:
                raise IntakeError(
                    ErrorCode.TOO_LONG,
                    f"animated {image.format} runs over the {limits.max_video_seconds:g} s cap",
                )
    except IntakeError:
        raise
    except PILLOW_DECODE_ERRORS as exc:
        raise IntakeError(ErrorCode.CORRUPT, f"animated {image.format} cannot be decoded: {exc}") from None
    duration_s = elapsed_ms / 1000 or None
    return Media(
        kind=MediaKind.VIDEO,
        frames=frames,
        width=width,
        height=height,
        duration_s=duration_s,
        fps=(count / duration_s) if duration_s else None,
        container=str(image.format).lower(),
        codec=str(image.format).lower(),
        timings_ms={"decode": (time.perf_counter() - started) * 1000},
        details={"strategy": "pillow-animation", "frame_count": count, "frames_decoded": max(wanted) + 1},
    )
