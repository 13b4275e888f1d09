"""The check result contract: one typed definition of what a check answers.

The engine builds a ``CheckResult``, ``fakewatch scan --json`` prints it, the HTTP API returns it
as FastAPI's ``response_model`` (so the OpenAPI schema is this file), the client parses it, and the
bot and the database read its typed fields. Light on purpose: pydantic and the standard library
only (no torch, no Ray, nothing of the bot), so every process may import it.
``serving/check_result.schema.json`` is generated from it (``python -m serving.contract``).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


class Verdict(StrEnum):
    """The answer for one input; ``no_face`` and ``invalid`` are verdicts of their own."""

    REAL = "real"
    UNCERTAIN = "uncertain"
    FAKE = "fake"
    NO_FACE = "no_face"
    INVALID = "invalid"


#: Verdicts that carry a fake probability (the face model, or provenance, judged the file).
SCORED_VERDICTS: frozenset[Verdict] = frozenset({Verdict.REAL, Verdict.UNCERTAIN, Verdict.FAKE})


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class ErrorCode(StrEnum):
    """Why an input is ``invalid``; stable strings the bot, the API and the database rely on."""

    EMPTY = "empty"
    UNSUPPORTED = "unsupported"  # decodes as nothing we accept (text, random bytes, audio…)
    CORRUPT = "corrupt"  # looks like media but cannot be decoded (truncated, broken)
    TOO_LARGE = "too_large"  # bytes, pixels, frames or faces over the caps (incl. bombs)
    TOO_LONG = "too_long"  # duration over the cap
    TIMEOUT = "timeout"  # decoding took longer than the decode budget
    NOT_FOUND = "not_found"  # a path that does not exist (CLI)
    INTERNAL = "internal"  # a bug on our side; the message says what


class Reason(StrEnum):
    """What decided a scored verdict."""

    FACE_MODEL = "face_model"  # the face models' calibrated probability
    PROVENANCE = "provenance"  # the file's own credentials or marks declare generative AI
    LOW_RESOLUTION = "low_resolution"  # every face too small to judge: uncertain whatever the score


class ProvenanceSource(StrEnum):
    """Where a provenance finding was read."""

    C2PA = "c2pa"  # a C2PA manifest (content credentials)
    XMP = "xmp"  # IPTC/XMP DigitalSourceType or a generator tag in EXIF/XMP
    PNG_TEXT = "png-text"  # text chunks written by image-generation front-ends
    WATERMARK = "watermark"  # the invisible watermark of the reference Stable Diffusion scripts


def _round6(value: float) -> float:
    return round(float(value), 6)


def _round3(value: float) -> float:
    return round(float(value), 3)


def _round_timings(value: dict[str, float]) -> dict[str, float]:
    return {str(k): round(float(v), 2) for k, v in value.items()}


#: A calibrated probability in [0, 1], kept to 6 decimals in JSON.
Probability = Annotated[float, Field(ge=0.0, le=1.0), AfterValidator(_round6)]
Seconds = Annotated[float, Field(ge=0.0), AfterValidator(_round3)]
Timings = Annotated[dict[str, float], PlainSerializer(_round_timings, return_type=dict[str, float])]


class _Part(BaseModel):
    # Assignments are validated too: the engine fills a result in stages, and every value must
    # still be in range and rounded as the JSON will carry it.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Face(_Part):
    """One scored face: where (pixels of the image or sampled frame), how likely fake."""

    box: tuple[int, int, int, int] = Field(description="x1, y1, x2, y2 in original pixels")
    fake_probability: Probability
    frame: int | None = Field(None, description="index into the sampled frames (videos)")
    track: int | None = Field(None, description="person id within a video")


class TimelinePoint(_Part):
    """A moment of a video: the most suspicious face at that time."""

    t: Seconds = Field(description="seconds from the start of the video")
    fake_probability: Probability


class TrackScore(_Part):
    """One person through a video: the fused score and what each model said."""

    id: int
    faces: int = Field(ge=0, description="how many sampled frames show this person")
    fake_probability: Probability
    video_model_probability: Probability
    image_model_probability: Probability


class ModelInfo(_Part):
    name: str
    version: str
    trained: bool


class ErrorInfo(_Part):
    code: ErrorCode
    message: str


class Provenance(_Part):
    """What the file itself says about where it came from (read before any re-encoding)."""

    found: bool = Field(False, description="a credential or mark was found")
    ai_generated: bool | None = Field(
        None, description="true: declares generative AI; false: declares a capture; null: says neither"
    )
    generator: str | None = Field(None, description="the generating or signing tool, when named")
    source: ProvenanceSource | None = Field(None, description="where the deciding finding was read")
    signed: bool | None = Field(None, description="the finding is cryptographically signed (C2PA)")
    signature_valid: bool | None = Field(None, description="the signature validates")
    trusted: bool | None = Field(None, description="the signer is on the shipped C2PA trust list")
    details: dict[str, Any] = Field(default_factory=dict, description="what was read, by source")


class CheckResult(_Part):
    """One input's verdict: exactly what ``scan --json`` prints and ``POST /v1/check`` returns."""

    path: str | None = None
    kind: MediaKind | None = None
    verdict: Verdict
    reason: Reason | None = Field(None, description="what decided a real/uncertain/fake verdict")
    fake_probability: Probability | None = None
    faces: list[Face] = Field(default_factory=list)
    frames_sampled: int | None = None
    timeline: list[TimelinePoint] = Field(default_factory=list)
    moments: list[TimelinePoint] = Field(default_factory=list, description="most suspicious first")
    tracks: list[TrackScore] = Field(default_factory=list)
    fusion: str | None = Field(None, description="how the two models' scores were mixed (videos)")
    model: ModelInfo | None = None
    timings_ms: Timings = Field(default_factory=dict)
    error: ErrorInfo | None = None
    provenance: Provenance = Field(default_factory=Provenance)
    annotated_jpeg_base64: str | None = Field(None, description="boxes + heat map, when asked for")

    @classmethod
    def invalid(
        cls, path: str | None, code: ErrorCode | str, message: str, *, kind: MediaKind | None = None
    ) -> CheckResult:
        return cls(
            path=path, kind=kind, verdict=Verdict.INVALID, error=ErrorInfo(code=ErrorCode(code), message=message)
        )

    @property
    def people(self) -> int:
        """How many people were scored: tracks for a video, faces for an image."""
        if self.tracks:
            return len(self.tracks)
        tracked = {f.track for f in self.faces if f.track is not None}
        return len(tracked) if tracked else len(self.faces)

    def to_json(self) -> dict[str, Any]:
        """The JSON object (enums as strings, tuples as lists)."""
        return self.model_dump(mode="json")


class ApiErrorDetail(_Part):
    code: str
    message: str


class ApiError(_Part):
    """An HTTP answer that is not a check result (overloaded, not ready, bad request)."""

    error: ApiErrorDetail


class ModelSummary(_Part):
    task: str
    name: str | None
    version: str | None
    trained: bool | None


class ModelsAnswer(BaseModel):
    """``GET /v1/models``: the models being served and their full cards."""

    model_config = ConfigDict(extra="allow")

    models: list[ModelSummary]
    image: dict[str, Any] = Field(default_factory=dict)
    video: dict[str, Any] = Field(default_factory=dict)

    def served_versions(self) -> set[str]:
        """The versions in service now (never the lineage inside the cards)."""
        return {m.version for m in self.models if m.version}


SCHEMA_PATH = Path(__file__).resolve().parent / "check_result.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON schema of ``CheckResult`` as it is serialised."""
    return CheckResult.model_json_schema(mode="serialization")


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m serving.contract [--check]
    if "--check" in sys.argv[1:]:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        sys.exit(0 if current == schema_text() else 1)
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(SCHEMA_PATH)
