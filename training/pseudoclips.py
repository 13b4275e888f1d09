"""Pseudo-clips: face-track-like sequences built from still crops.

../shared/data has six videos, far too few for a temporal model, so the LSTM is trained mostly
on sequences synthesised from still face crops, as a phone clip sent through a chat app would
look: the face drifts, zooms and turns slightly along a smooth random path, the light drifts,
and every frame is re-compressed (at one quality per clip, jittered per frame). MesoNet's
frames (``<video>_<frame>.jpg``) also give real sequences: consecutive frames of one video,
moved the same way. A clip keeps its crop's label and group, so held-out groups give
held-out clips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from training.augment import jpeg_recompress


@dataclass(frozen=True)
class ClipSpec:
    """How to render one clip: which crops (one still, or frames of one video) and a seed."""

    crops: tuple[str, ...]
    label: int
    group: str
    source: str
    kind: str  # "still" | "sequence" | "video"
    seed: int
    video: str = ""  # the clip's own id (for video-level metrics)


def smooth_path(length: int, rng: np.random.Generator, scale: float, smoothness: float = 4.0) -> np.ndarray:
    """A smooth random walk of ``length`` steps with amplitude about ``scale``."""
    steps = rng.normal(0, 1, length + 8).cumsum()
    kernel = np.exp(-0.5 * (np.arange(-8, 9) / smoothness) ** 2)
    smooth = np.convolve(steps, kernel / kernel.sum(), mode="same")[4 : 4 + length]
    smooth -= smooth.mean()
    peak = np.abs(smooth).max()
    return smooth / peak * scale * rng.uniform(0.3, 1.0) if peak > 0 else smooth


def render_clip(frames: Sequence[np.ndarray], length: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``[length, size, size, 3]`` uint8: ``frames`` (1 still or a sequence) moved along smooth paths."""
    if not frames:
        raise ValueError("a clip needs at least one frame")
    h, w = frames[0].shape[:2]
    tx, ty = smooth_path(length, rng, 0.04 * w), smooth_path(length, rng, 0.04 * h)
    zoom = 1.0 + smooth_path(length, rng, 0.05)
    angle = smooth_path(length, rng, 4.0)  # degrees
    light = 1.0 + smooth_path(length, rng, 0.08)
    quality = int(rng.integers(40, 92))
    flip = rng.random() < 0.5
    out = np.empty((length, size, size, 3), np.uint8)
    for t in range(length):
        src = frames[min(len(frames) - 1, int(t * len(frames) / length))]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(angle[t]), float(zoom[t]))
        matrix[:, 2] += (tx[t], ty[t])
        frame = cv2.warpAffine(src, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame = np.clip(frame.astype(np.float32) * light[t], 0, 255).astype(np.uint8)
        if flip:
            frame = frame[:, ::-1]
        frame = cv2.resize(np.ascontiguousarray(frame), (size, size), interpolation=cv2.INTER_AREA)
        q = int(np.clip(quality + rng.integers(-5, 6), 20, 98))
        out[t] = jpeg_recompress(frame, q)
    return out


def plan_clips(
    rows: Sequence[dict[str, str]],
    *,
    per_crop: float,
    seed: int,
    sequences: bool = True,
    sequence_frames: int = 8,
) -> list[ClipSpec]:
    """Clip specs for one split: a sampled share of still crops, plus MesoNet frame sequences."""
    rng = np.random.default_rng(seed)
    specs: list[ClipSpec] = []
    for row in rows:
        if row["source"] == "videos" or rng.random() >= per_crop:
            continue
        specs.append(
            ClipSpec(
                (row["crop"],),
                int(row["label"]),
                row["group"],
                row["source"],
                "still",
                int(rng.integers(2**31)),
                video=f"still:{row['crop']}",
            )
        )
    if sequences:
        by_video: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
        for row in rows:
            if row["source"] != "mesonet":
                continue
            stem = row["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
            frame = int(stem.rsplit("_", 1)[1]) if "_" in stem and stem.rsplit("_", 1)[1].isdigit() else 0
            by_video[(row["group"], row["label"], row["source"])].append((frame, row["crop"]))
        for (group, label, source), items in sorted(by_video.items()):
            items.sort()
            crops = [c for _, c in items]
            for start in range(0, max(1, len(crops) - sequence_frames + 1), sequence_frames):
                chunk = tuple(crops[start : start + sequence_frames])
                specs.append(
                    ClipSpec(
                        chunk,
                        int(label),
                        group,
                        source,
                        "sequence",
                        int(rng.integers(2**31)),
                        video=f"mesonet:{label}:{group}",
                    )
                )
    return specs
