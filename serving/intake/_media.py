"""What intake hands to the rest of the engine: decoded RGB frames plus what we learned on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serving.contract import MediaKind, Provenance


@dataclass
class Frame:
    """One decoded picture, upright (EXIF orientation / display matrix applied)."""

    image: np.ndarray  # RGB uint8, H x W x 3, C-contiguous
    index: int  # 0..n-1 position among the sampled frames
    t: float | None  # seconds from the start of the clip; None for still images


@dataclass
class Media:
    """A validated, decoded input: one frame for an image, evenly spread samples for a video."""

    kind: MediaKind
    frames: list[Frame]
    width: int  # displayed size (after rotation)
    height: int
    duration_s: float | None
    fps: float | None
    container: str
    codec: str | None
    timings_ms: dict[str, float]
    # How it was decoded (strategy, seeks, frames decoded, rotation...): for logs and benchmarks.
    details: dict[str, Any] = field(default_factory=dict)
    # What the file itself says about its origin (credentials, marks), read from the raw bytes.
    provenance: Provenance = field(default_factory=Provenance)
