"""The result of one check: exactly the JSON contract of ``fakewatch scan --json``.

The same object is returned by ``POST /v1/check``, stored by the bot and read by tests,
so it lives in one place and serialises itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from serving.constants import ErrorCode, MediaKind, Verdict


@dataclass(frozen=True)
class FaceResult:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the original image / frame pixels
    fake_probability: float  # calibrated
    frame: int | None = None  # index into the sampled frames (videos)
    track: int | None = None  # person id within a video


@dataclass(frozen=True)
class TimelinePoint:
    t: float  # seconds from the start of the video
    fake_probability: float


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    trained: bool


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    message: str


@dataclass
class CheckResult:
    """One input's verdict. ``to_dict`` gives the documented JSON object, key for key."""

    path: str | None
    kind: MediaKind | None
    verdict: Verdict
    fake_probability: float | None
    faces: list[FaceResult] = field(default_factory=list)
    frames_sampled: int | None = None
    timeline: list[TimelinePoint] = field(default_factory=list)
    model: ModelInfo | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: ErrorInfo | None = None
    # Not part of the JSON contract: extras for the API / bot (suspicious moments, tracks…).
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def invalid(
        cls, path: str | None, code: ErrorCode | str, message: str, *, kind: MediaKind | None = None
    ) -> "CheckResult":
        return cls(
            path=path,
            kind=kind,
            verdict=Verdict.INVALID,
            fake_probability=None,
            error=ErrorInfo(code=str(code), message=message),
        )

    def to_dict(self) -> dict[str, Any]:
        """The exact ``--json`` object (plus ``moments`` when a video has them)."""
        out: dict[str, Any] = {
            "path": self.path,
            "kind": str(self.kind) if self.kind is not None else None,
            "verdict": str(self.verdict),
            "fake_probability": (
                None if self.fake_probability is None else round(float(self.fake_probability), 6)
            ),
            "faces": [
                {
                    "box": [int(v) for v in f.box],
                    "fake_probability": round(float(f.fake_probability), 6),
                    "frame": f.frame,
                    "track": f.track,
                }
                for f in self.faces
            ],
            "frames_sampled": self.frames_sampled,
            "timeline": [
                {"t": round(p.t, 3), "fake_probability": round(float(p.fake_probability), 6)}
                for p in self.timeline
            ],
            "model": asdict(self.model) if self.model else None,
            "timings_ms": {k: round(float(v), 2) for k, v in self.timings_ms.items()},
            "error": asdict(self.error) if self.error else None,
        }
        out.update(self.extra)
        return out
