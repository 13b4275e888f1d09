"""Intake fuzzing: real media, mutated, through ``load_media`` and ``Engine.check``.

The seeds are real files from ../shared/data (face photos and a FaceForensics++ clip) and the same
real pixels re-encoded into every container and codec intake accepts (PNG, WebP, BMP, GIF, APNG,
animated WebP, MP4, MOV, WebM/VP9, Matroska, AVI/MPEG-4), plus 1x1, 1x10000 and 10000x1 versions of a
real photo. Hypothesis then truncates them, flips bits, rewrites header bytes and size fields
(tiny and huge), repeats chunks, splices one container onto another and swaps magic numbers.

The property: a ``Media`` of sane RGB frames or an ``IntakeError`` with a stable code (never
``internal``), and from the engine a ``CheckResult`` that is never ``internal``; no exception, no
logged traceback, each within the decode budget. CI runs a bounded, derandomized number of
examples (well under a minute on a loaded 2-core machine); ``FAKEWATCH_FUZZ_EXAMPLES=2000``
runs more, with a random seed each time (a failure prints the input's reproduction blob).
"""

from __future__ import annotations

import collections
import io
import logging
import os
import re
import struct
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from fakewatch.settings import Settings
from serving.contract import CheckResult, ErrorCode, Verdict
from serving.engine import Engine
from serving.intake import IntakeError, IntakeLimits, Media, load_media
from serving.intake._limits import THREAD_GRACE_S
from serving.models import init_checkpoint

FUZZ_EXAMPLES = int(os.environ.get("FAKEWATCH_FUZZ_EXAMPLES", "0"))
LOAD_EXAMPLES = FUZZ_EXAMPLES or 200
CHECK_EXAMPLES = max(1, FUZZ_EXAMPLES // 4) if FUZZ_EXAMPLES else 40

# Small caps so a mutated size field hits them, and a short budget so a slow path shows.
DECODE_BUDGET_S = 4.0
LIMITS = IntakeLimits(
    max_file_bytes=4_000_000,
    max_image_pixels=20_000_000,
    max_video_seconds=60.0,
    max_video_pixels=1920 * 1080,
    decode_timeout_s=DECODE_BUDGET_S,
    max_video_frames=2_000,
    max_animation_frames=500,
)
# load_media gives up after the budget plus the thread grace; a loaded machine adds scheduling.
LOAD_WITHIN_S = DECODE_BUDGET_S + THREAD_GRACE_S + 1.5
# Engine.check = decoding + face search on a few frames + two tiny networks.
CHECK_WITHIN_S = DECODE_BUDGET_S + THREAD_GRACE_S + 10.0

FUZZ_SETTINGS = settings(
    max_examples=LOAD_EXAMPLES,
    derandomize=not FUZZ_EXAMPLES,  # CI: the same inputs every run; by hand: new ones each time
    deadline=None,  # timing is asserted against the decode budget, not hypothesis's 200 ms
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much),
    print_blob=True,
)


# --- seeds: real media in every accepted format --------------------------------------------


def _encode_image(picture: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    picture.save(buf, format=fmt, **save)
    return buf.getvalue()


def _encode_video(frames: list[np.ndarray], container: str, codec: str, fps: int = 10, title: str = "") -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        if title:
            stream.metadata["title"] = title
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _real_frames(clip: Path, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    with av.open(str(clip)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(np.asarray(frame.to_image().resize(size)))
            if len(frames) == count:
                return frames
    return frames


@pytest.fixture(scope="module")
def seeds(shared_data: Path, shared_videos: dict[str, Path]) -> dict[str, bytes]:
    """Real media, named by what it is; built once per module (about a second)."""
    photo_path = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0]
    dfdc_path = sorted((shared_data / "faces" / "dfdc" / "fake").glob("*.jpg"))[0]
    clip = shared_videos["ffpp_cyshih704_fake"]
    photo = Image.open(photo_path).convert("RGB")
    frames = _real_frames(clip, 8, (320, 240))
    small = [np.asarray(Image.fromarray(f).resize((96, 72))) for f in frames[:6]]
    animation = [Image.fromarray(f) for f in small]
    out: dict[str, bytes] = {
        "jpeg-photo": photo_path.read_bytes(),
        "jpeg-dfdc": dfdc_path.read_bytes(),
        "mp4-real": clip.read_bytes(),
        "png": _encode_image(photo, "PNG"),
        "webp": _encode_image(photo, "WEBP", quality=80),
        "bmp": _encode_image(photo.resize((64, 64)), "BMP"),
        "gif": _encode_image(photo.convert("P"), "GIF"),
        "jpeg-progressive": _encode_image(photo, "JPEG", progressive=True, quality=85),
        "heif": _encode_image(photo, "HEIF", quality=60),  # libheif + libde265: iPhone photos
        "avif": _encode_image(photo, "AVIF", quality=60),  # refused as unsupported, never decoded
        "gif-animated": _encode_image(
            animation[0].convert("P"),
            "GIF",
            save_all=True,
            append_images=[a.convert("P") for a in animation[1:]],
            duration=100,
        ),
        "webp-animated": _encode_image(
            animation[0], "WEBP", save_all=True, append_images=animation[1:], duration=100, quality=70
        ),
        "apng": _encode_image(animation[0], "PNG", save_all=True, append_images=animation[1:], duration=100),
        "mp4": _encode_video(frames, "mp4", "libx264"),
        "mov": _encode_video(frames, "mov", "libx264"),
        "webm": _encode_video(frames, "webm", "libvpx-vp9"),
        "mkv": _encode_video(frames, "matroska", "libx264"),
        "mkv-tagged": _encode_video(frames[:3], "matroska", "libx264", title="REALCLIP"),
        "avi": _encode_video(frames, "avi", "mpeg4"),
    }
    for w, h in ((1, 1), (1, 10_000), (10_000, 1), (2, 3)):
        sliver = photo.resize((w, h))
        out[f"png-{w}x{h}"] = _encode_image(sliver, "PNG")
        out[f"jpeg-{w}x{h}"] = _encode_image(sliver, "JPEG")
    out["gif-1x10000"] = _encode_image(photo.resize((1, 10_000)).convert("P"), "GIF")
    out["webp-1x1"] = _encode_image(photo.resize((1, 1)), "WEBP")
    return out


# --- mutations -----------------------------------------------------------------------------

# Numbers that break size arithmetic: zero, one, sign bits, all ones, just past 16 bits.
EXTREMES = (0, 1, 2, 0x7F, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 10_000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
# Where size and count fields live in the formats we accept (the 4 bytes after each tag).
FIELD_TAGS = (b"IHDR", b"acTL", b"fcTL", b"\xff\xc0", b"\xff\xc2", b"VP8 ", b"VP8X", b"ANMF", b"tkhd",
              b"mvhd", b"mdhd", b"stsz", b"stco", b"stts", b"avcC", b"\x2c\x00\x00", b"NETSCAPE", b"strh",
              b"avih", b"\x1aE\xdf\xa3", b"\x16T\xaek")  # fmt: skip
MAGICS = (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP", b"BM",
          b"\x00\x00\x00\x18ftypmp42", b"\x1aE\xdf\xa3", b"RIFF\x00\x00\x00\x00AVI ", b"\x00\x00\x00\x18ftypheic")  # fmt: skip


def _truncate(data: bytes, frac: float) -> bytes:
    return data[: int(len(data) * frac)]


def _flip(data: bytes, spots: list[tuple[float, int]], head: bool) -> bytes:
    buf = bytearray(data)
    span = min(len(buf), 1024) if head else len(buf)
    for where, bit in spots:
        if span:
            buf[int(where * (span - 1))] ^= 1 << bit
    return bytes(buf)


def _overwrite(data: bytes, where: float, junk: bytes, head: bool) -> bytes:
    span = min(len(data), 512) if head else len(data)
    at = int(where * max(0, span - 1))
    return data[:at] + junk + data[at + len(junk) :]


def _field(data: bytes, tag_index: int, occurrence: int, skip: int, value: int, width: int, big: bool) -> bytes:
    tag = FIELD_TAGS[tag_index % len(FIELD_TAGS)]
    positions, start = [], 0
    while len(positions) < 8:
        at = data.find(tag, start)
        if at < 0:
            break
        positions.append(at)
        start = at + 1
    if not positions:
        return data
    at = positions[occurrence % len(positions)] + len(tag) + skip
    fmt = (">" if big else "<") + ("H" if width == 2 else "I")
    packed = struct.pack(fmt, value & (0xFFFF if width == 2 else 0xFFFFFFFF))
    return data[:at] + packed + data[at + len(packed) :]


def _nth(data: bytes, tag: bytes, n: int) -> int:
    at = -1
    for _ in range(n):
        at = data.index(tag, at + 1)
    return at


def _splice(a: bytes, b: bytes, cut_a: float, cut_b: float) -> bytes:
    return a[: int(len(a) * cut_a)] + b[int(len(b) * cut_b) :]


def _magic(data: bytes, magic: bytes) -> bytes:
    return magic + data[len(magic) :]


def _repeat(data: bytes, start: float, length: int, times: int) -> bytes:
    at = int(start * len(data))
    piece = data[at : at + length]
    return data[:at] + piece * times + data[at:]


fractions = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def mutated(draw: st.DrawFn, names: list[str]) -> Case:
    """(a description, the bytes): one real seed with one to three mutations applied."""
    name = draw(st.sampled_from(names))
    steps = [name]
    data = _SEEDS[name]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(
            ["truncate", "flip", "flip-head", "overwrite", "overwrite-head", "field", "field", "splice",
             "magic", "repeat", "header-only"]
        ))  # fmt: skip
        if kind == "truncate":
            data = _truncate(data, draw(fractions))
        elif kind.startswith("flip"):
            spots = draw(st.lists(st.tuples(fractions, st.integers(0, 7)), min_size=1, max_size=16))
            data = _flip(data, spots, head=kind == "flip-head")
        elif kind.startswith("overwrite"):
            data = _overwrite(data, draw(fractions), draw(st.binary(min_size=1, max_size=24)), kind == "overwrite-head")
        elif kind == "field":
            data = _field(
                data,
                draw(st.integers(0, 64)),
                draw(st.integers(0, 7)),
                draw(st.integers(0, 12)),
                draw(st.sampled_from(EXTREMES)),
                draw(st.sampled_from((2, 4))),
                draw(st.booleans()),
            )
        elif kind == "splice":
            other = _SEEDS[draw(st.sampled_from(names))]
            data = _splice(data, other, draw(fractions), draw(fractions))
        elif kind == "magic":
            data = _magic(data, draw(st.sampled_from(MAGICS)))
        elif kind == "repeat":
            data = _repeat(data, draw(fractions), draw(st.integers(1, 4096)), draw(st.integers(2, 64)))
        else:
            data = data[: draw(st.integers(0, 96))]
        steps.append(kind)
        if not data:
            break
    TRACE.append(f"{' > '.join(steps)}: {len(data)} bytes")
    return Case(" > ".join(steps), data)


class Case(tuple):
    """(description, bytes) that prints short: hypothesis shows the failing case's repr, and
    its reproduction blob recreates the bytes."""

    def __new__(cls, description: str, data: bytes) -> Case:
        return super().__new__(cls, (description, data))

    def __repr__(self) -> str:
        return f"Case({self[0]!r}, <{len(self[1])} bytes, head {self[1][:16]!r}>)"


TRACE: list[str] = []
_SEEDS: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def seed_names(seeds: dict[str, bytes]) -> list[str]:
    _SEEDS.clear()
    _SEEDS.update(seeds)
    return sorted(seeds)


# --- the checks ------------------------------------------------------------------------------


class _Tracebacks(logging.Handler):
    """Every ERROR-or-worse record of fakewatch's serving loggers (a logged bug)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def tracebacks() -> _Tracebacks:
    handler = _Tracebacks()
    logger = logging.getLogger("serving")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def assert_sane_media(media: Media) -> None:
    assert isinstance(media, Media) and media.frames
    assert media.width > 0 and media.height > 0
    for frame in media.frames:
        image = frame.image
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.size > 0
        assert image.flags["C_CONTIGUOUS"]


def check_load(description: str, data: bytes, tracebacks: _Tracebacks) -> str:
    """The outcome: the error code, or the kind of media decoded."""
    tracebacks.records.clear()
    started = time.monotonic()
    try:
        media = load_media(data, limits=LIMITS, n_frames=4)
    except IntakeError as exc:
        assert exc.code is not ErrorCode.INTERNAL, (description, exc)
        assert isinstance(exc.message, str) and exc.message, description
        assert "Traceback" not in exc.message
        outcome = exc.code.value
    except Exception as exc:
        pytest.fail(f"{description}: load_media raised {type(exc).__name__}: {exc}")
    else:
        assert_sane_media(media)
        outcome = media.kind.value
    elapsed = time.monotonic() - started
    assert elapsed < LOAD_WITHIN_S, f"{description}: {elapsed:.1f}s, budget {DECODE_BUDGET_S}s"
    assert not tracebacks.records, f"{description}: logged {tracebacks.records[0].getMessage()}"
    return outcome


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Tiny untrained networks (as tests/serving/test_engine.py); the real face detectors."""
    empty = tmp_path_factory.mktemp("no-checkpoints")
    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint("video", architecture="tiny_lstm", input_size=32, sequence_length=4, name="tiny-video")
    fields = {f: getattr(LIMITS, f) for f in ("max_file_bytes", "max_image_pixels", "max_video_seconds",
                                               "max_video_pixels", "decode_timeout_s", "max_video_frames",
                                               "max_animation_frames")}  # fmt: skip
    settings = Settings(_env_file=None, image_model=empty / "i", video_model=empty / "v", **fields)
    return Engine(settings, image_ckpt=image, video_ckpt=video, frames=4)


def check_engine(engine: Engine, description: str, data: bytes, tracebacks: _Tracebacks) -> CheckResult:
    tracebacks.records.clear()
    started = time.monotonic()
    try:
        result = engine.check(data, "fuzz.bin")
    except Exception as exc:
        pytest.fail(f"{description}: Engine.check raised {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    assert isinstance(result, CheckResult)
    if result.verdict is Verdict.INVALID:
        assert result.error is not None and result.error.code is not ErrorCode.INTERNAL, (description, result.error)
    else:
        assert result.error is None and result.kind is not None
    assert elapsed < CHECK_WITHIN_S, f"{description}: {elapsed:.1f}s"
    assert not tracebacks.records, f"{description}: logged {tracebacks.records[0].getMessage()}"
    return result


# --- the tests -------------------------------------------------------------------------------


def test_every_seed_is_accepted_as_it_is(seeds, seed_names, tracebacks) -> None:
    """The seeds themselves decode (so the mutations start from media intake really reads)."""
    for name in seed_names:
        if re.search(r"-\d+x\d+$", name) or name == "avif":  # refused or decoded, both typed
            check_load(name, seeds[name], tracebacks)
            continue
        media = load_media(seeds[name], limits=LIMITS, n_frames=4)
        assert_sane_media(media)


@pytest.mark.parametrize(
    ("description", "build"),
    [
        ("empty", lambda s: b""),
        ("one byte", lambda s: b"\xff"),
        ("jpeg magic only", lambda s: s["jpeg-photo"][:3]),
        ("png signature only", lambda s: s["png"][:8]),
        ("mp4 ftyp only", lambda s: s["mp4"][:32]),
        ("zero-length mdat", lambda s: _field(s["mp4-real"], FIELD_TAGS.index(b"stsz"), 0, 8, 0, 4, True)),
        ("png 100000x100000", lambda s: _field(s["png"], 0, 0, 0, 100_000, 4, True)),
        ("png 0x0", lambda s: _field(_field(s["png"], 0, 0, 0, 0, 4, True), 0, 0, 4, 0, 4, True)),
        ("gif screen 65535x65535", lambda s: s["gif-animated"][:6] + b"\xff\xff\xff\xff" + s["gif-animated"][10:]),
        ("apng declaring 2^32-1 frames", lambda s: _field(s["apng"], 1, 0, 0, 0xFFFFFFFF, 4, True)),
        ("mp4 as webm", lambda s: _magic(s["mp4"], b"\x1aE\xdf\xa3")),
        ("webm as mp4", lambda s: _magic(s["webm"], MAGICS[5])),
        ("jpeg in a gif", lambda s: b"GIF89a" + s["jpeg-photo"]),
        ("half an avi", lambda s: _truncate(s["avi"], 0.5)),
        ("mp4 head + webm tail", lambda s: _splice(s["mp4"], s["webm"], 0.3, 0.3)),
        # found by this fuzzer: PyAV raised UnicodeDecodeError on a tag that is not UTF-8 ...
        ("a track title that is not UTF-8", lambda s: s["mkv-tagged"].replace(b"REALCLIP", b"RE\xc8LCLIP")),
        # ... and AttributeError on a video track whose codec it could not name (codec_context None)
        ("mov cut right after the video handler", lambda s: s["mov"][: s["mov"].index(b"mhlrvide") + 8]),
        # ... and Pillow's ValueError("Truncated IHDR chunk") on a PNG whose IHDR says 12 bytes
        ("png IHDR one byte short", lambda s: s["png"][:8] + struct.pack(">I", 12) + s["png"][12:]),
        # ... and Pillow's IndexError from GIF.is_animated on a GIF cut inside its second frame
        (
            "gif cut after its first frame",
            lambda s: s["gif-animated"][: _nth(s["gif-animated"], b"\x21\xf9\x04", 2) + 1],
        ),
    ],
)
def test_named_nasty_inputs(seeds, tracebacks, engine, description: str, build: Callable[[dict], bytes]) -> None:
    data = build(seeds)
    check_load(description, data, tracebacks)
    check_engine(engine, description, data, tracebacks)


def test_load_media_on_mutated_real_media(seed_names, tracebacks) -> None:
    outcomes: collections.Counter[str] = collections.Counter()

    @FUZZ_SETTINGS
    @given(case=mutated(seed_names))
    def run(case: tuple[str, bytes]) -> None:
        outcomes[check_load(*case, tracebacks)] += 1

    run()
    print(f"load_media outcomes: {dict(outcomes)}")
    if os.environ.get("FAKEWATCH_FUZZ_TRACE"):
        print("\n".join(TRACE))
    # the mutations reach both sides: some inputs still decode, several kinds of refusal
    assert outcomes["image"] + outcomes["video"] > 0 and len(set(outcomes) - {"image", "video"}) >= 3, outcomes


def test_engine_check_on_mutated_real_media(seed_names, engine, tracebacks) -> None:
    verdicts: collections.Counter[str] = collections.Counter()

    @settings(FUZZ_SETTINGS, max_examples=CHECK_EXAMPLES)
    @given(case=mutated(seed_names))
    def run(case: tuple[str, bytes]) -> None:
        result = check_engine(engine, *case, tracebacks)
        verdicts[result.error.code.value if result.error else result.verdict.value] += 1

    run()
    print(f"Engine.check outcomes: {dict(verdicts)}")
    assert len(verdicts) >= 2, verdicts
