"""Videos and animated GIFs through PyAV: probe the header, demux packets, decode only what we sample.

Order of work, cheapest first, so bad files fail fast:
1. open from memory with a demuxer allowlist (no protocols: nothing can make libavformat read a
   local file or the network), refuse unsupported containers, audio-only files, oversized frames
   and a header duration over the cap — nothing decoded yet;
2. demux packets only (no decoding, a few ms for a 10 s clip) to learn every frame's timestamp
   and where the keyframes are, catching truncated files and lying durations;
3. decode towards evenly spread targets, seeking only past keyframes that would otherwise cost
   decoding, skipping non-reference frames when samples are sparse, and converting to RGB only
   the sampled frames (the conversion costs more than decoding).
"""

from __future__ import annotations

import functools
import io
import time
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.error
import numpy as np

from serving.constants import VIDEO_CONTAINERS
from serving.contract import ErrorCode, MediaKind
from serving.intake._errors import IntakeError
from serving.intake._limits import (
    NONREF_MIN_GAP,
    SEEK_MIN_SKIPPED_FRAMES,
    TRUNCATION_TOLERANCE,
    Deadline,
    IntakeLimits,
)
from serving.intake._media import Frame, Media
from serving.intake._sampling import NearestPicker, seek_target, spread_targets

_CONTAINER_OPTIONS = {
    # only these demuxers may run, whatever the probe guesses (no hls/concat/image2 tricks)
    "format_whitelist": ",".join(sorted(VIDEO_CONTAINERS)),
    # we feed bytes from memory; no demuxer may open a file or URL of its own
    "protocol_whitelist": "pipe",
}


@functools.lru_cache(maxsize=8)
def decoder_names(codecs: frozenset[str]) -> str:
    """libavcodec's software decoders for these codecs ("av1" -> "av1,libdav1d"), for the
    container's ``codec_whitelist``: the frames avformat_find_stream_info decodes while opening
    a file then go through allowed decoders only (probe refuses other codecs before decoding)."""
    names = set()
    for name in av.codecs_available:
        try:
            decoder = av.Codec(name, "r")
        except Exception:
            continue
        if decoder.canonical_name in codecs and (decoder.name == decoder.canonical_name or name.startswith("lib")):
            names.add(decoder.name)
    return ",".join(sorted(names)) or "none"


# Tolerated undecodable packets before a file counts as corrupt (a damaged packet or two in a
# long clip still leaves plenty to check).
_MAX_BAD_PACKETS = 8
# Seeking is pointless (and not supported well) for these demuxers.
_NO_SEEK_FORMATS = frozenset({"gif"})


@dataclass
class VideoPlan:
    """What the header and the packet scan told us, before any decoding."""

    container: str
    codec: str
    width: int  # coded size; displayed size may be swapped by the rotation
    height: int
    time_base: Fraction
    pts: list[int]  # every frame's presentation timestamp, sorted
    keyframes: list[int]  # presentation timestamps of keyframes, sorted
    duration_s: float | None
    fps: float | None
    details: dict[str, object] = field(default_factory=dict)


def open_container(data: bytes, limits: IntakeLimits, family: str | None) -> av.container.InputContainer:
    """Open from memory with the allowlists; map libav's failures to typed errors."""
    try:
        return av.open(
            io.BytesIO(data),
            mode="r",
            container_options={**_CONTAINER_OPTIONS, "codec_whitelist": decoder_names(limits.video_codecs)},
            # tags are whatever bytes the uploader wrote: never let them fail the open
            metadata_errors="replace",
            # decoders refuse frames over the cap, even inside avformat_find_stream_info
            options={"max_pixels": str(max(1, limits.max_video_pixels))},
        )
    except av.error.FFmpegError as exc:
        if family is not None:
            raise IntakeError(
                ErrorCode.CORRUPT,
                f"looks like {family.upper()} but the container cannot be read "
                f"(truncated or damaged?): {exc.strerror or exc}",
            ) from None
        raise IntakeError(ErrorCode.UNSUPPORTED, "not an image or video format fakewatch accepts") from None


def _is_cover_art(stream: av.stream.Stream) -> bool:
    """An attached picture (album art in an audio file) is not a video."""
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):  # pragma: no cover - older PyAV
        return False


def probe(container: av.container.InputContainer, limits: IntakeLimits, deadline: Deadline) -> VideoPlan:
    """Header checks, then a packet-only scan (no decoding) for timestamps and keyframes."""
    names = set(container.format.name.split(","))
    if not names & VIDEO_CONTAINERS:
        raise IntakeError(ErrorCode.UNSUPPORTED, f"container {container.format.name!r} is not accepted")
    videos = [s for s in container.streams.video if not _is_cover_art(s)]
    if not videos:
        if container.streams.audio:
            raise IntakeError(ErrorCode.UNSUPPORTED, "audio only: the file has no video to check")
        raise IntakeError(ErrorCode.UNSUPPORTED, "the file has no video stream")
    stream = videos[0]
    for other in container.streams:
        if other is not stream:
            other.discard = av.stream.Discard.all  # do not even read their packets
    # No codec context: libavcodec knows no decoder for the track's codec id (or it has none).
    if stream.codec_context is None:
        raise IntakeError(ErrorCode.UNSUPPORTED, "the video track's codec is unknown to us or its header is damaged")
    codec = stream.codec_context.name
    container_name = _short_name(names, codec)
    if codec not in limits.video_codecs:
        raise IntakeError(
            ErrorCode.UNSUPPORTED,
            f"video codec {codec!r} is not accepted (accepted: {', '.join(sorted(limits.video_codecs))})",
        )
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise IntakeError(ErrorCode.CORRUPT, "the video stream has no frame size (damaged header)")
    if width * height > limits.max_video_pixels:
        raise IntakeError(
            ErrorCode.TOO_LARGE,
            f"video is {width}x{height} = {width * height:,} pixels per frame, "
            f"over the cap of {limits.max_video_pixels:,}",
        )
    # Animations decode every frame in order (no seeking): their cap also counts canvas pixels.
    sequential = bool(names & _NO_SEEK_FORMATS)
    frame_cap = limits.animation_frame_cap(width, height) if sequential else limits.frame_cap
    kind = "animation" if sequential else "video"
    declared = stream.frames or 0
    if declared > frame_cap:
        raise IntakeError(ErrorCode.TOO_LARGE, _too_many_frames(f"{declared:,}", kind, frame_cap))
    time_base = stream.time_base or Fraction(1, 1_000_000)
    claimed = _header_seconds(container, stream, time_base)
    if claimed is not None and claimed > limits.max_video_seconds:
        raise IntakeError(
            ErrorCode.TOO_LONG,
            f"the header says the video lasts {_hms(claimed)}, over the {_hms(limits.max_video_seconds)} cap",
        )

    pts: list[int] = []
    keyframes: list[int] = []
    last_duration = 0
    limit_ticks = limits.max_video_seconds / float(time_base)
    damaged: str | None = None
    first: int | None = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count % 64 == 0:
                deadline.check("scanning packets")
            if packet.size == 0:
                continue  # end-of-stream marker
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:  # raw streams without timestamps: one tick per frame
                stamp = pts[-1] + (last_duration or 1) if pts else 0
            pts.append(stamp)
            first = stamp if first is None else min(first, stamp)
            last_duration = packet.duration or last_duration
            if packet.is_keyframe:
                keyframes.append(stamp)
            if len(pts) > frame_cap:
                raise IntakeError(ErrorCode.TOO_LARGE, _too_many_frames(f"more than {frame_cap:,}", kind, frame_cap))
            if stamp - first > limit_ticks:
                raise IntakeError(
                    ErrorCode.TOO_LONG,
                    f"the video runs past the {_hms(limits.max_video_seconds)} cap "
                    "(its timestamps go further than its header says)",
                )
    except av.error.FFmpegError as exc:
        damaged = exc.strerror or str(exc)
    if not pts:
        raise IntakeError(
            ErrorCode.CORRUPT,
            "the file has a video header but no video data (header only or truncated)",
        )
    promised = stream.frames or 0
    if damaged is not None or (promised and len(pts) < promised * (1 - TRUNCATION_TOLERANCE)):
        raise IntakeError(
            ErrorCode.CORRUPT,
            f"the video is truncated or damaged: the header promises {promised or 'more'} frames, "
            f"the file holds {len(pts)}" + (f" ({damaged})" if damaged else ""),
        )
    span = (max(pts) - min(pts) + last_duration) * float(time_base)
    promised_s = _video_seconds(container, stream, time_base)
    if promised_s and span < promised_s * (1 - TRUNCATION_TOLERANCE) - 0.5:
        raise IntakeError(
            ErrorCode.CORRUPT,
            f"the video is truncated: the header promises {promised_s:.1f} s, the file holds {span:.1f} s",
        )
    pts = sorted(set(pts))
    keyframes = sorted(set(keyframes)) or [pts[0]]
    duration_s = span if span > 0 else claimed
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else (len(pts) / duration_s if duration_s else None)
    return VideoPlan(
        container=container_name,
        codec=codec,
        width=width,
        height=height,
        time_base=Fraction(time_base),
        pts=pts,
        keyframes=keyframes,
        duration_s=duration_s,
        fps=fps,
        details={"frame_count": len(pts), "keyframes": len(keyframes)},
    )


def _too_many_frames(count: str, kind: str, cap: int) -> str:
    return f"the {kind} has {count} frames; at most {cap:,} are accepted"


def choose_skip(frame_count: int, samples: int) -> str | None:
    """Which frames the decoder may skip, from the average gap between samples.

    Only non-reference frames: nothing else depends on them, so every decoded frame stays exact.
    """
    if frame_count / max(1, samples) >= NONREF_MIN_GAP:
        return "NONREF"
    return None


def decode(
    data: bytes,
    container: av.container.InputContainer,
    plan: VideoPlan,
    *,
    limits: IntakeLimits,
    deadline: Deadline,
    n_frames: int,
    skip: str | None = "auto",
    seek: bool = True,
) -> tuple[list[Frame], dict[str, object]]:
    """Decode the frames nearest ``n_frames`` evenly spread targets; returns frames + how.

    ``skip="auto"`` decides by the sample gap (``choose_skip``); None or an ffmpeg skip level
    ("NONREF") forces it (benchmarks). If skipping yields fewer samples than planned (a codec
    that marks most frames non-reference), decode again without skipping.
    """
    targets = spread_targets(plan.pts, n_frames)
    if skip == "auto":
        skip = choose_skip(len(plan.pts), len(targets))
    frames, info = _decode_pass(container, plan, targets, deadline, skip=skip, seek=seek)
    if skip is not None and len(frames) < len(targets):
        container.close()
        retry = open_container(data, limits, None)
        try:
            frames, info = _decode_pass(retry, plan, targets, deadline, skip=None, seek=seek)
            info["fallback"] = f"skipping {skip} frames gave too few samples"
        finally:
            retry.close()
    return frames, info


def _select_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    stream = next(s for s in container.streams.video if not _is_cover_art(s))
    for other in container.streams:
        if other is not stream:
            other.discard = av.stream.Discard.all
    return stream


def _decode_pass(
    container: av.container.InputContainer,
    plan: VideoPlan,
    targets: list[int],
    deadline: Deadline,
    *,
    skip: str | None,
    seek: bool,
) -> tuple[list[Frame], dict[str, object]]:
    stream = _select_stream(container)
    stream.thread_type = "AUTO"
    if skip is not None:
        stream.codec_context.skip_frame = skip  # type: ignore[assignment]  # PyAV types it as a Literal
    can_seek = seek and not (set(container.format.name.split(",")) & _NO_SEEK_FORMATS)
    picker: NearestPicker[av.VideoFrame] = NearestPicker(targets)
    frames: list[Frame] = []
    rotation: int | None = None
    position = plan.keyframes[0]  # decoding starts at the first keyframe: no seek needed there
    decoded = seeks = bad_packets = 0
    origin = plan.pts[0]
    tb = float(plan.time_base)

    def take(picked: list[tuple[int, av.VideoFrame]]) -> None:
        nonlocal rotation
        for stamp, video_frame in picked:
            if rotation is None:
                rotation = int(getattr(video_frame, "rotation", 0) or 0)
            rgb = video_frame.to_ndarray(format="rgb24")
            quarter_turns = round(rotation / 90) % 4
            if quarter_turns:
                rgb = np.rot90(rgb, quarter_turns)  # display matrix: counter-clockwise degrees
            frames.append(Frame(np.ascontiguousarray(rgb), index=len(frames), t=max(0.0, (stamp - origin) * tb)))

    restart = True
    while restart and not picker.done:
        restart = False
        for packet in container.demux(stream):
            deadline.check("decoding video frames")
            try:
                decoded_frames = packet.decode()
            except av.error.FFmpegError as exc:
                bad_packets += 1
                if bad_packets > _MAX_BAD_PACKETS:
                    raise IntakeError(ErrorCode.CORRUPT, f"the video data is damaged ({exc.strerror or exc})") from None
                continue
            for video_frame in decoded_frames:
                decoded += 1
                stamp = video_frame.pts if video_frame.pts is not None else position + 1
                take(picker.offer(stamp, video_frame))
                position = max(position, stamp)
            if picker.done:
                break
            keyframe = None
            wanted = picker.next_target  # not None: the picker is not done
            if can_seek and wanted is not None:
                keyframe = seek_target(position, wanted, plan.keyframes, plan.pts, SEEK_MIN_SKIPPED_FRAMES)
            if keyframe is not None and keyframe > position:
                try:
                    container.seek(keyframe, stream=stream, backward=True, any_frame=False)
                except av.error.FFmpegError:
                    can_seek = False  # keep decoding in order from where we are
                    continue
                stream.codec_context.flush_buffers()
                seeks += 1
                position = keyframe  # the next keyframe now lies after the one we jumped to
                restart = True
                break
    take(picker.finish())
    if not frames:
        raise IntakeError(ErrorCode.CORRUPT, "no frame of the video could be decoded")
    strategy = (f"skip-{skip.lower()}" if skip else "all") + ("+seek" if seeks else "")
    return frames, {
        "strategy": strategy,
        "seeks": seeks,
        "frames_decoded": decoded,
        "bad_packets": bad_packets,
        "rotation": rotation or 0,
    }


def load_video(data: bytes, limits: IntakeLimits, deadline: Deadline, n_frames: int, family: str | None) -> Media:
    """Probe, plan, decode: the whole video path with per-stage timings."""
    started = time.perf_counter()
    container = open_container(data, limits, family)
    try:
        plan = probe(container, limits, deadline)
        probed = time.perf_counter()
        if not _rewind(container, plan):
            container.close()
            container = open_container(data, limits, family)
        frames, info = decode(data, container, plan, limits=limits, deadline=deadline, n_frames=n_frames)
    except av.error.FFmpegError as exc:
        raise IntakeError(ErrorCode.CORRUPT, f"the video cannot be decoded: {exc.strerror or exc}") from None
    finally:
        container.close()
    finished = time.perf_counter()
    quarter_turns = round(float(info.get("rotation", 0) or 0) / 90) % 4  # type: ignore[arg-type]
    height, width = frames[0].image.shape[:2]
    return Media(
        kind=MediaKind.VIDEO,
        frames=frames,
        width=width,
        height=height,
        duration_s=plan.duration_s,
        fps=plan.fps,
        container=plan.container,
        codec=plan.codec,
        timings_ms={"probe": (probed - started) * 1000, "decode": (finished - probed) * 1000},
        details={**plan.details, **info, "rotated": bool(quarter_turns)},
    )


def _rewind(container: av.container.InputContainer, plan: VideoPlan) -> bool:
    """Back to the first keyframe after the packet scan; False means "reopen instead".

    Seeking is cheaper than reopening: opening runs avformat_find_stream_info, which decodes
    frames (~15 ms quiet, ~60 ms on a busy 2-core machine for the 1080p clips).
    """
    if set(container.format.name.split(",")) & _NO_SEEK_FORMATS:
        return False
    try:
        container.seek(plan.keyframes[0], stream=_select_stream(container), backward=True, any_frame=False)
    except av.error.FFmpegError:
        return False
    return True


def _header_seconds(container: av.container.InputContainer, stream: av.stream.Stream, tb: Fraction) -> float | None:
    """The longest duration any header field claims (container, stream), in seconds."""
    claims = []
    if container.duration and container.duration > 0:
        claims.append(container.duration / av.time_base)
    if stream.duration and stream.duration > 0:
        claims.append(float(stream.duration * tb))
    return max(claims) if claims else None


def _video_seconds(container: av.container.InputContainer, stream: av.stream.Stream, tb: Fraction) -> float | None:
    """How long the header says the *video* track lasts (None when only the whole file's is known
    and other tracks could legitimately run longer)."""
    if stream.duration and stream.duration > 0:
        return float(stream.duration * tb)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:  # Matroska per-track tag "HH:MM:SS.nnnnnnnnn"
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            return None
    if len(container.streams) == 1 and container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _short_name(names: set[str], codec: str) -> str:
    """A readable container name from libavformat's comma list ("mov,mp4,m4a,..." -> "mp4").

    libavformat names Matroska and WebM alike; WebM is the Matroska that carries VP8/VP9/AV1.
    """
    if "webm" in names:
        return "webm" if codec in ("vp8", "vp9", "av1") else "matroska"
    for preferred in ("mp4", "avi", "gif", "mov"):
        if preferred in names:
            return preferred
    return sorted(names)[0]


def _hms(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:g} s"
