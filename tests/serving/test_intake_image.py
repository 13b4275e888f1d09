"""Still images through Pillow: formats by content, EXIF orientation, pixel caps, broken files."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from _media_factory import animated_webp, gradient, image_bytes, jpeg_with_orientation, png_bomb
from PIL import Image

from serving.contract import ErrorCode, MediaKind
from serving.intake import IntakeError, IntakeLimits, load_media

LIMITS = IntakeLimits(
    max_file_bytes=20_000_000,
    max_image_pixels=40_000_000,
    max_video_seconds=60.0,
    max_video_pixels=1920 * 1080,
    decode_timeout_s=10.0,
)


def refused(data, code: ErrorCode, limits: IntakeLimits = LIMITS, within_s: float = 2.0) -> IntakeError:
    started = time.monotonic()
    with pytest.raises(IntakeError) as caught:
        load_media(data, limits=limits)
    assert time.monotonic() - started < within_s
    assert caught.value.code is code, caught.value
    assert caught.value.message and len(caught.value.message) > 10
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "container"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("BMP", "bmp"), ("GIF", "gif")]
)
def test_each_allowed_format_decodes_to_rgb(fmt, container):
    media = load_media(image_bytes(64, 48, fmt), limits=LIMITS)
    assert media.kind is MediaKind.IMAGE and media.container == container
    assert (media.width, media.height) == (64, 48) and len(media.frames) == 1
    frame = media.frames[0]
    assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8 and frame.t is None
    assert frame.image.flags["C_CONTIGUOUS"]
    # the picture survived: right side red, bottom green (lossy formats within a margin)
    assert frame.image[24, 60, 0] > 200 and frame.image[45, 30, 1] > 200
    assert "decode" in media.timings_ms


def test_identified_by_content_not_name(tmp_path):
    path = tmp_path / "holiday.mp4"  # a PNG with a video's name
    path.write_bytes(image_bytes(32, 16, "PNG"))
    assert load_media(path, limits=LIMITS).kind is MediaKind.IMAGE


def test_exif_orientation_is_applied():
    # stored 60x30 (landscape) with Orientation=6: a camera held upright -> displayed 30x60
    media = load_media(jpeg_with_orientation(60, 30, 6), limits=LIMITS)
    assert (media.width, media.height) == (30, 60)
    pixels = media.frames[0].image
    # rotated 90° clockwise: the stored left edge (dark red) is now the top edge
    assert pixels[0, :, 0].mean() < 60 and pixels[-1, :, 0].mean() > 190


def test_transparent_pixels_become_white():
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # fully transparent black
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    pixels = load_media(buffer.getvalue(), limits=LIMITS).frames[0].image
    assert pixels.shape == (8, 8, 3) and (pixels == 255).all()


def test_png_claiming_100000_by_100000_is_refused_in_milliseconds():
    error = refused(png_bomb(100_000, 100_000), ErrorCode.TOO_LARGE, within_s=0.5)
    assert "10000000000" in error.message.replace(",", "")


def test_our_pixel_cap_applies_below_pillows_own():
    limits = IntakeLimits(20_000_000, 1_000, 60.0, 1920 * 1080, 10.0)
    error = refused(image_bytes(64, 48, "PNG"), ErrorCode.TOO_LARGE, limits=limits)
    assert "64x48" in error.message


def test_text_named_jpg_is_unsupported(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("this is not a photo\n" * 20)
    refused(path, ErrorCode.UNSUPPORTED)


def test_truncated_jpeg_is_corrupt():
    data = image_bytes(256, 256, "JPEG", quality=95)
    refused(data[:300], ErrorCode.CORRUPT)
    refused(data[: len(data) // 2], ErrorCode.CORRUPT)


def test_png_with_broken_header_is_corrupt():
    data = bytearray(image_bytes(32, 32, "PNG"))
    data[20:28] = b"\x00" * 8  # zero width/height inside IHDR (CRC now wrong too)
    refused(bytes(data), ErrorCode.CORRUPT)


def test_format_outside_the_allowlist_is_unsupported():
    buffer = io.BytesIO()
    Image.fromarray(gradient(16, 16)).save(buffer, format="TIFF")  # Pillow reads it; we do not
    refused(buffer.getvalue(), ErrorCode.UNSUPPORTED)


def test_animated_webp_is_a_video():
    media = load_media(animated_webp(frames=5, delay_ms=100), limits=LIMITS)
    assert media.kind is MediaKind.VIDEO and media.container == "webp"
    assert len(media.frames) == 5 and [round(f.t, 2) for f in media.frames] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert media.duration_s == pytest.approx(0.5)
    # frames differ (blue channel encodes the frame number)
    assert len({int(f.image[0, 0, 2]) for f in media.frames}) == 5


def test_animated_webp_over_the_video_pixel_cap():
    limits = IntakeLimits(20_000_000, 40_000_000, 60.0, 100, 10.0)
    refused(animated_webp(frames=3), ErrorCode.TOO_LARGE, limits=limits)


def test_animated_png_is_a_video_and_a_static_png_is_not():
    pictures = [Image.fromarray(gradient(32, 16, seed=i)) for i in range(3)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="PNG", save_all=True, append_images=pictures[1:], duration=200)
    media = load_media(buffer.getvalue(), limits=LIMITS)
    assert media.kind is MediaKind.VIDEO and len(media.frames) == 3
    assert [f.t for f in media.frames] == [0.0, 0.2, 0.4]
    assert load_media(image_bytes(32, 16, "PNG"), limits=LIMITS).kind is MediaKind.IMAGE


def test_heic_photo_decodes():
    import pillow_heif  # a declared dependency: HEIC is what iPhones send

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.fromarray(gradient(64, 48)).save(buffer, format="HEIF", quality=90)
    media = load_media(buffer.getvalue(), limits=LIMITS)
    assert media.kind is MediaKind.IMAGE and media.container == "heif"
    assert (media.width, media.height) == (64, 48) and media.frames[0].image[24, 60, 0] > 180


def test_decompression_bomb_warning_is_an_error_even_under_a_generous_cap():
    # 100 MP sits between Pillow's warning (89 MP) and error (179 MP) thresholds; with our own cap
    # raised above it, only the escalated warning stands between the header and a 300 MB decode
    limits = IntakeLimits(20_000_000, 200_000_000, 60.0, 1920 * 1080, 10.0)
    error = refused(png_bomb(10_000, 10_000), ErrorCode.TOO_LARGE, limits=limits, within_s=0.5)
    assert "bomb" in error.message


def test_avif_is_unsupported_not_corrupt():
    """A valid AVIF is a format we do not take (yet): say so, do not call it damaged."""
    buffer = io.BytesIO()
    Image.fromarray(gradient(64, 48)).save(buffer, format="AVIF", quality=60)
    error = refused(buffer.getvalue(), ErrorCode.UNSUPPORTED)
    assert "AVIF" in error.message
