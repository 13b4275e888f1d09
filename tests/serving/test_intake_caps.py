"""The caps on what a cheap file may make us do: frames per file and the video codec allowlist.

Each bad input is a few kilobytes that asks for seconds of decoding; each must be refused from
its header or its packet count, before the frames are decoded, with ``too_large`` or
``unsupported``.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from _media_factory import animated_gif, animated_webp, gif_bomb, gradient, video_bytes
from PIL import Image

from fakewatch.settings import Settings
from serving.contract import ErrorCode, MediaKind
from serving.intake import IntakeError, IntakeLimits, load_media

LIMITS = IntakeLimits(
    max_file_bytes=50_000_000,
    max_image_pixels=40_000_000,
    max_video_seconds=600.0,
    max_video_pixels=3840 * 2160,
    decode_timeout_s=20.0,
)


def refused(data: bytes, code: ErrorCode, limits: IntakeLimits = LIMITS, within_s: float = 1.0) -> IntakeError:
    started = time.monotonic()
    with pytest.raises(IntakeError) as caught:
        load_media(data, limits=limits, n_frames=8)
    assert time.monotonic() - started < within_s, "a bad input must be refused before decoding"
    assert caught.value.code is code, caught.value
    return caught.value


def apng(frames: int = 3, *, declare: int | None = None, width: int = 32, height: int = 24) -> bytes:
    """An animated PNG; ``declare`` rewrites acTL's frame count (with a correct CRC)."""
    pictures = [Image.fromarray(gradient(width, height, seed=i)) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="PNG", save_all=True, append_images=pictures[1:], duration=100)
    data = buffer.getvalue()
    if declare is None:
        return data
    at = data.index(b"acTL") - 4
    payload = struct.pack(">II", declare, 0)
    chunk = struct.pack(">I", 8) + b"acTL" + payload + struct.pack(">I", zlib.crc32(b"acTL" + payload))
    return data[:at] + chunk + data[at + len(chunk) :]


def test_settings_carry_the_caps_into_intake_limits() -> None:
    s = Settings(_env_file=None, max_video_frames=100, max_animation_frames=50, video_codecs="H264, vp9")
    limits = IntakeLimits.from_settings(s)
    assert limits.max_video_frames == 100 and limits.max_animation_frames == 50
    assert limits.video_codecs == frozenset({"h264", "vp9"})
    default = IntakeLimits.from_settings(Settings(_env_file=None))
    assert default.video_codecs == frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif"})


# --- frames per file ---------------------------------------------------------------------------


def test_a_gif_of_144001_frames_is_refused_from_its_packets() -> None:
    """The worst a 600-s duration cap allowed (240 fps x 600 s + 1): 3 MB that took 30 s."""
    data = gif_bomb(frames=144_001, delay_cs=0)
    error = refused(data, ErrorCode.TOO_LARGE, within_s=2.0)
    assert "144,001 frames" in error.message


def test_a_gif_on_a_huge_canvas_gets_fewer_frames() -> None:
    """Every frame of an animation is composited on the whole canvas: frames x canvas is the cost.
    400 one-pixel frames on a 4K canvas (18 kB) would ask for 3.3 G pixels of decoding."""
    data = gif_bomb(screen=(3840, 2160), frames=400, delay_cs=4)
    error = refused(data, ErrorCode.TOO_LARGE)
    assert "400 frames" in error.message and "361" in error.message
    small = gif_bomb(screen=(64, 48), frames=400, delay_cs=4)  # the same frames on a small canvas
    assert load_media(small, limits=LIMITS, n_frames=8).kind is MediaKind.VIDEO


def test_a_gif_just_under_the_frame_cap_is_checked() -> None:
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 3840 * 2160, 20.0, max_animation_frames=12)
    media = load_media(animated_gif(frames=12), limits=limits, n_frames=4)
    assert media.kind is MediaKind.VIDEO and len(media.frames) == 4
    error = refused(animated_gif(frames=13), ErrorCode.TOO_LARGE, limits=limits)
    assert "13 frames" in error.message and "at most 12" in error.message


def test_an_apng_declaring_144001_frames_is_refused_from_its_header() -> None:
    error = refused(apng(3, declare=144_001), ErrorCode.TOO_LARGE, within_s=0.5)
    assert "144,001 frames" in error.message
    assert load_media(apng(3), limits=LIMITS, n_frames=3).kind is MediaKind.VIDEO


def test_an_animated_webp_over_the_animation_cap_is_refused() -> None:
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 3840 * 2160, 20.0, max_animation_frames=4)
    error = refused(animated_webp(frames=5), ErrorCode.TOO_LARGE, limits=limits)
    assert "5 frames" in error.message
    assert load_media(animated_webp(frames=4), limits=limits, n_frames=2).kind is MediaKind.VIDEO


def test_a_video_over_the_frame_cap_is_refused_from_its_header() -> None:
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 3840 * 2160, 20.0, max_video_frames=20)
    error = refused(video_bytes(frames=30), ErrorCode.TOO_LARGE, limits=limits)
    assert "30 frames" in error.message and "at most 20" in error.message
    assert load_media(video_bytes(frames=20), limits=limits, n_frames=4).kind is MediaKind.VIDEO


# --- the codec allowlist -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "name"),
    [("matroska", "ffv1", "ffv1"), ("avi", "rawvideo", "rawvideo"), ("matroska", "libx264rgb", "h264")],
)
def test_codecs_a_chat_video_never_uses_are_unsupported(container: str, codec: str, name: str) -> None:
    data = video_bytes(
        frames=6, container=container, codec=codec, **({"pix_fmt": "rgb24"} if codec == "libx264rgb" else {})
    )
    if name == "h264":  # still H.264: accepted
        assert load_media(data, limits=LIMITS, n_frames=2).codec == "h264"
        return
    error = refused(data, ErrorCode.UNSUPPORTED)
    assert repr(name) in error.message and "h264" in error.message


def test_a_narrower_allowlist_refuses_h264_and_keeps_vp9() -> None:
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 3840 * 2160, 20.0, video_codecs=frozenset({"vp9"}))
    refused(video_bytes(frames=6), ErrorCode.UNSUPPORTED, limits=limits)
    webm = video_bytes(frames=6, container="webm", codec="libvpx-vp9")
    assert load_media(webm, limits=limits, n_frames=2).codec == "vp9"


def test_the_container_only_opens_allowed_decoders() -> None:
    from serving.intake._video import decoder_names

    names = set(decoder_names(frozenset({"h264", "av1", "vp9"})).split(","))
    assert "h264" in names and "vp9" in names and names & {"av1", "libdav1d"}
    assert not names & {"mjpeg", "ffv1", "rawvideo", "png", "hevc"}
    assert decoder_names(frozenset()) == "none"
