"""The model card: everything needed to rebuild, preprocess for and interpret a checkpoint.

Why pydantic: a card is read from disk next to weights that may come from anywhere, so it is
validated on load (thresholds in order, positive temperature, a known architecture of the right
task) rather than trusted.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from serving.models._registry import model_task


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Thresholds(BaseModel):
    """Verdict bands: ``p < real_below`` real, ``p >= fake_at_or_above`` fake, else uncertain.

    Supports ``t.real_below`` and ``t["real_below"]`` alike (the contract shows a dict).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    real_below: float
    fake_at_or_above: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not (0.0 < self.real_below <= self.fake_at_or_above < 1.0):
            raise ValueError(
                "thresholds must satisfy 0 < real_below <= fake_at_or_above < 1, got "
                f"real_below={self.real_below}, fake_at_or_above={self.fake_at_or_above}"
            )
        return self

    def __getitem__(self, key: str) -> float:
        if key not in ("real_below", "fake_at_or_above"):
            raise KeyError(key)
        return getattr(self, key)


class ModelCard(BaseModel):
    """Metadata stored as ``model_card.json`` next to ``model.safetensors``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    architecture: str = Field(min_length=1)  # a name in the model registry
    arch_args: dict[str, Any] = Field(default_factory=dict)
    task: Literal["image", "video"]
    input_size: int = Field(gt=0)  # square crop side in pixels
    sequence_length: int | None = Field(default=None, gt=0)  # frames per track (video models)
    mean: list[float] = Field(min_length=3, max_length=3)
    std: list[float] = Field(min_length=3, max_length=3)
    temperature: float = Field(default=1.0, gt=0.0)  # p = sigmoid(logit / T)
    thresholds: Thresholds
    trained: bool
    training: dict[str, Any] = Field(default_factory=dict)  # data, configuration, how it was trained
    metrics: dict[str, Any] = Field(default_factory=dict)  # validation figures, per source
    created: str = Field(default_factory=_utc_now)
    fusion: dict[str, Any] = Field(default_factory=dict)  # video: how track scores mix with the CNN
    # image models: "hflip" averages the logits of each crop and its mirror image; the
    # temperature and thresholds were fitted on those averaged logits, so they belong together
    test_time_augmentation: Literal["none", "hflip"] = "none"

    @field_validator("std")
    @classmethod
    def _positive_std(cls, std: list[float]) -> list[float]:
        if any(not (s > 0.0 and math.isfinite(s)) for s in std):
            raise ValueError(f"std must be positive and finite, got {std}")
        return std

    @field_validator("temperature")
    @classmethod
    def _finite_temperature(cls, t: float) -> float:
        if not math.isfinite(t):
            raise ValueError("temperature must be finite")
        return t

    @field_validator("arch_args")
    @classmethod
    def _no_pretrained_flag(cls, args: dict[str, Any]) -> dict[str, Any]:
        if "pretrained" in args:
            raise ValueError("arch_args must not contain 'pretrained' (loading decides that)")
        return args

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        arch_task = model_task(self.architecture)  # raises UnknownModelError (a ValueError)
        if arch_task != self.task:
            raise ValueError(f"task {self.task!r} does not match architecture {self.architecture!r} ({arch_task})")
        if self.task == "video" and self.sequence_length is None:
            raise ValueError("a video model card needs sequence_length")
        return self

    # --- small helpers serving and training share -------------------------------------------
    def calibrate(self, logits: Any) -> Any:
        """Calibrated fake probabilities ``sigmoid(logit / temperature)`` (numpy or torch)."""
        try:
            import torch

            if isinstance(logits, torch.Tensor):
                return torch.sigmoid(logits.float() / self.temperature)
        except ImportError:  # pragma: no cover - torch is always there with this package
            pass
        from serving.verdict import calibrate

        return calibrate(logits, self.temperature)

    def band(self, probability: float) -> Literal["real", "uncertain", "fake"]:
        """The verdict band of one calibrated probability, from this card's thresholds."""
        from serving.verdict import band

        return band(probability, self.thresholds).value  # type: ignore[return-value]  # a scored verdict
