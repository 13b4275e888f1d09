"""Fabricate good and bad media in memory (PyAV, Pillow, raw bytes) for intake tests.

Nothing here is a fixture file on disk: every test builds exactly the input it needs, so a bad
input is as small as possible and says in code what is wrong with it. Others may import this
module (``from _media_factory import png_bomb``) to feed bad media to the bot or the HTTP app.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# ---------------------------------------------------------------------------------------------
# pictures


def gradient(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An RGB picture whose corners differ: orientation mistakes show up in the pixels.

    Top-left is dark, the red channel grows to the right, the green channel grows downwards.
    """
    xs = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(xs, (height, width))
    green = np.broadcast_to(ys, (height, width))
    blue = np.full((height, width), (seed * 37) % 256, dtype=np.float32)
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def image_bytes(width: int = 64, height: int = 48, fmt: str = "PNG", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient(width, height)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def jpeg_with_orientation(width: int = 60, height: int = 30, orientation: int = 6) -> bytes:
    """A JPEG stored sideways with an EXIF Orientation tag (6 = display rotated 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(gradient(width, height)).save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header (IHDR with a correct CRC) claiming a huge size, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def animated_gif(frames: int = 6, width: int = 48, height: int = 32, delay_ms: int = 100) -> bytes:
    pictures = [Image.fromarray(gradient(width, height, seed=i)).convert("P") for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=delay_ms, loop=0)
    return buffer.getvalue()


def animated_webp(frames: int = 5, width: int = 48, height: int = 32, delay_ms: int = 100) -> bytes:
    pictures = [Image.fromarray(gradient(width, height, seed=i)) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="WEBP", save_all=True, append_images=pictures[1:], duration=delay_ms, lossless=True)
    return buffer.getvalue()


def gif_bomb(*, screen: tuple[int, int] = (1, 1), frames: int = 2, delay_cs: int = 0) -> bytes:
    """A hand-written GIF: a logical screen of any size and any number of 1x1 frames.

    ``screen=(65535, 65535)`` is the "huge canvas" bomb (a decoder allocating the canvas needs
    16 GiB); ``frames=20_000`` is the "endless animation" bomb (a few hundred KB on disk).
    """
    width, height = screen
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    one_frame = (
        b"\x21\xf9\x04\x00"
        + struct.pack("<H", delay_cs)
        + b"\x00\x00"  # graphic control extension
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)  # 1x1 image at (0, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW data of one pixel
    )
    return header + loop + one_frame * frames + b"\x3b"


# ---------------------------------------------------------------------------------------------
# videos


def video_bytes(
    *,
    frames: int = 10,
    width: int = 64,
    height: int = 48,
    fps: int = 10,
    container: str = "mp4",
    codec: str = "libx264",
    rotation: int | None = None,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> bytes:
    """Encode a small clip in memory; each frame's blue channel encodes its index."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if options:
            stream.options = options
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(gradient(width, height, seed=index), format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def sparse_long_video(seconds: float = 36_000.0, *, width: int = 32, height: int = 32) -> bytes:
    """Two frames, the second one ``seconds`` after the first: really that long, but tiny."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 1)
        for index, pts in enumerate((0, int(seconds))):
            frame = av.VideoFrame.from_ndarray(gradient(width, height, seed=index), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def audio_only(seconds: float = 1.0, *, container: str = "mp4") -> bytes:
    """An AAC track and nothing else (an .m4a voice message)."""
    rate = 44_100
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream("aac", rate=rate)
        samples = int(rate * seconds)
        tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / rate)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = tone[None, start : start + 1024]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def faststart(mp4: bytes) -> bytes:
    """Remux an MP4 with the moov box first (as phones and web uploads do) without re-encoding.

    The muxer rewrites the file in a second pass to move moov, so it needs a real file.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "faststart.mp4"
        _remux(mp4, path, {"movflags": "faststart"})
        return path.read_bytes()


def _remux(mp4: bytes, path: Path, options: dict[str, str]) -> None:
    with (
        av.open(io.BytesIO(mp4)) as source,
        av.open(str(path), mode="w", format="mp4", options=options) as output,
    ):
        video = source.streams.video[0]
        target = output.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is None:
                continue
            packet.stream = target
            output.mux(packet)


# ---------------------------------------------------------------------------------------------
# ISO-BMFF (MP4) surgery


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Top-level boxes in ``data[start:end]`` as ``(type, offset, size)``."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = end - offset
        if size < 8:
            return
        yield kind, offset, size
        offset += size


def header_only(mp4: bytes) -> bytes:
    """``ftyp`` + ``moov`` with the media data (``mdat``) left out: a header and nothing to play."""
    kept = [mp4[o : o + s] for kind, o, s in boxes(mp4) if kind in (b"ftyp", b"moov")]
    return b"".join(kept)


_CONTAINERS = {b"moov", b"trak", b"mdia", b"edts", b"minf", b"stbl"}


def claim_duration(mp4: bytes, seconds: float) -> bytes:
    """Rewrite the header so it claims ``seconds``; the media data stays a 1 s clip.

    libavformat trusts the sample tables over the summary boxes, so besides the durations in
    mvhd/tkhd/mdhd and the edit list, the time-to-sample table (stts) is stretched: the header
    then describes frames an hour apart, while the file holds ten frames of a tiny clip.
    """
    data = bytearray(mp4)
    scales = {"movie": 1000, "media": 1000}

    def patch(start: int, end: int) -> None:
        for kind, offset, size in boxes(bytes(data), start, end):
            body = offset + 8
            version = data[body]
            if kind in _CONTAINERS:
                patch(body, offset + size)
            elif kind in (b"mvhd", b"mdhd"):
                scale_at, duration_at, fmt = (
                    (body + 20, body + 24, ">Q") if version == 1 else (body + 12, body + 16, ">I")
                )
                timescale = struct.unpack(">I", data[scale_at : scale_at + 4])[0]
                scales["movie" if kind == b"mvhd" else "media"] = timescale
                struct.pack_into(fmt, data, duration_at, int(seconds * timescale))
            elif kind == b"tkhd":
                at, fmt = (body + 28, ">Q") if version == 1 else (body + 20, ">I")
                struct.pack_into(fmt, data, at, int(seconds * scales["movie"]))
            elif kind == b"elst":
                count = struct.unpack(">I", data[body + 4 : body + 8])[0]
                entry, fmt = (20, ">Q") if version == 1 else (12, ">I")
                for i in range(count):
                    struct.pack_into(fmt, data, body + 8 + i * entry, int(seconds * scales["movie"]))
            elif kind == b"stts":
                count = struct.unpack(">I", data[body + 4 : body + 8])[0]
                entries = [struct.unpack(">II", data[body + 8 + 8 * i : body + 16 + 8 * i]) for i in range(count)]
                samples = sum(n for n, _ in entries) or 1
                delta = int(seconds * scales["media"] / samples)
                for i, (n, _) in enumerate(entries):
                    struct.pack_into(">II", data, body + 8 + 8 * i, n, delta)

    patch(0, len(data))
    return bytes(data)
