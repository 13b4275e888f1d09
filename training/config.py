"""Training configuration: YAML or TOML, validated, with ``key.sub=value`` overrides from the CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fakewatch.settings import REPO_ROOT
from training.constants import SYNTH_DEFAULT_WEIGHTS, SYNTH_KINDS


class ConfigError(Exception):
    """The config file is missing, unparsable, or has a wrong/unknown field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelSection(_Strict):
    architecture: str = "efficientnet_lite0"
    args: dict[str, Any] = Field(default_factory=dict)  # e.g. trainable_blocks, stn_after_block
    pretrained: bool = True  # ImageNet init where the architecture has it
    # a checkpoint directory (weights + card) to start from instead; several directories start
    # from their weighted average ("model soup": fine-tunes of one parent, averaged, often beat
    # each of them on held-out data at no cost at inference)
    init_from: Path | list[Path] | None = None
    init_weights: list[float] | None = None  # one per init_from directory; None = equal


class DataSection(_Strict):
    cache_dir: Path = REPO_ROOT / "data" / "cache"
    sources: list[str] = Field(default_factory=lambda: ["dfdc", "mesonet", "stylegan"])
    input_size: int = Field(128, gt=0)
    limit: int = 0  # at most N crops per (split, source, label); 0 = all (tests use a few)
    balance: Literal["sampler", "pos_weight", "none"] = "sampler"
    source_temperature: float = 0.5  # source weights ∝ size**t: 1 = as is, 0 = equal per source
    source_weights: dict[str, float] = Field(default_factory=dict)  # extra multiplier per source
    workers: int = 1  # DataLoader processes (the machine has 2 cores)
    val_during_training: int = 0  # >0: per-epoch early stopping on this many val items (fixed,
    # stratified); calibration and reports always use the whole validation split


class AugmentSection(_Strict):
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)  # AugmentConfig overrides


class SbiSection(_Strict):
    enabled: bool = False
    probability: float = Field(0.25, ge=0.0, le=1.0)  # share of real training crops turned pseudo-fake


class SynthSection(_Strict):
    """Synthesised pseudo-fakes (training.synth): a share of real crops become one of several kinds.

    ``kinds`` weighs which kind a real crop becomes. A mapping is the whole table: kinds it does
    not name get weight 0 (what a file lists is what trains). A name or a list of names means
    those kinds at equal weight, for ablations: ``--set synth.kinds=restorer``. A dotted override
    of one entry (``--set synth.kinds.swap=0``) changes that entry of the file's table, or of the
    default table when the file has none. ``sbi`` is one kind of the family, so when both
    sections are enabled synth wins and the ``sbi`` section is ignored (the card says so).
    """

    enabled: bool = False
    probability: float = Field(0.25, ge=0.0, le=1.0)  # share of real training crops turned pseudo-fake
    kinds: dict[str, float] = Field(default_factory=lambda: dict(SYNTH_DEFAULT_WEIGHTS))

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds_table(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        if isinstance(value, list | tuple):
            value = {str(k): 1.0 for k in value}
        if not isinstance(value, dict):
            return value  # pydantic reports the type error
        unknown = sorted(set(value) - set(SYNTH_KINDS))
        if unknown:
            raise ValueError(f"unknown synth kinds {unknown}; known: {', '.join(SYNTH_KINDS)}")
        return {k: value.get(k, 0.0) for k in SYNTH_KINDS}

    @field_validator("kinds")
    @classmethod
    def _some_weight(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError(f"synth kind weights must be >= 0 with at least one > 0, got {value}")
        return value

    def active_kinds(self) -> dict[str, float]:
        """The kinds that can be drawn, with their weights (for the dataset and the card)."""
        return {k: w for k, w in self.kinds.items() if w > 0}


class OptimSection(_Strict):
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    epochs: int = 5
    steps_per_epoch: int = 0  # 0 = one pass over the sampler; else a fixed number of batches
    warmup_steps: int = 100
    schedule: Literal["cosine", "plateau"] = "cosine"
    label_smoothing: float = 0.0
    grad_clip: float = 5.0
    time_limit_min: float = 0.0  # stop (and still finish cleanly) after this many minutes; 0 = none


class EarlyStopSection(_Strict):
    patience: int = 3
    min_delta: float = 1e-3
    # "auc": pooled validation AUC; "mean_source_auc": the mean of the per-source AUCs, so a
    # small source that lags (StyleGAN: 7 % of validation) counts as much as DFDC
    metric: Literal["auc", "mean_source_auc"] = "auc"


class VideoSection(_Strict):
    sequence_length: int = 16  # the card's window: the engine cuts longer tracks into these
    clip_length: int = 8  # frames per training clip (the LSTM mean-pools, so lengths transfer)
    max_train_clips: int = 300
    max_val_clips: int = 160
    image_model: Path | None = None  # image CNN checkpoint for choosing fusion on validation clips
    pseudo_clips_per_crop: float = 0.15  # pseudo-clips per still crop (sampled)
    clips_from_sequences: bool = True  # also clips from consecutive MesoNet frames of one video
    encoder_from: Path | None = None  # stage-2: a stage-1 run directory whose encoder is reused
    shared_videos: Path | None = REPO_ROOT.parent / "shared" / "data" / "videos"
    video_weight: float = 5.0  # sampling weight of the real-video tracks vs one pseudo-clip


class ExportSection(_Strict):
    directory: Path | None = None  # where to save the shipped checkpoint (None: run dir only)
    name: str = "fakewatch-image"
    version: str = "0.1.0"
    half: bool = True
    target_precision: float = 0.95
    # image models: calibrate, report and ship with this test-time augmentation (serving applies it)
    tta: Literal["none", "hflip"] = "none"


class TrainConfig(_Strict):
    name: str = "run"
    stage: Literal["image", "video_encoder", "video_lstm"] = "image"
    seed: int = 0
    out_dir: Path = REPO_ROOT / "runs"
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    augment: AugmentSection = Field(default_factory=AugmentSection)
    sbi: SbiSection = Field(default_factory=SbiSection)
    synth: SynthSection = Field(default_factory=SynthSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    early_stop: EarlyStopSection = Field(default_factory=EarlyStopSection)
    video: VideoSection = Field(default_factory=VideoSection)
    export: ExportSection = Field(default_factory=ExportSection)
    config_path: str | None = None
    overrides: list[str] = Field(default_factory=list)  # the --set values, for the card's command

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default_table(keys: list[str]) -> dict:
    """The default of a mapping-valued field (not a section) at ``keys``; ``{}`` otherwise.

    Why: ``--set synth.kinds.swap=0`` on a file without ``synth.kinds`` must zero one entry of
    the default table, not make a one-entry table.
    """
    model: type[BaseModel] = TrainConfig
    for key in keys[:-1]:
        field = model.model_fields.get(key)
        if field is None or not _is_section(field.annotation):
            return {}
        model = field.annotation  # type: ignore[assignment]
    field = model.model_fields.get(keys[-1])
    if field is None or _is_section(field.annotation):
        return {}
    default = field.get_default(call_default_factory=True)
    return dict(default) if isinstance(default, dict) else {}


def _set_path(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for depth, key in enumerate(keys[:-1]):
        if key not in node:
            node[key] = _default_table(keys[: depth + 1])
        node = node[key]
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {key} is not a section")
    node[keys[-1]] = value


def load_config(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        key, value = item.split("=", 1)
        _set_path(raw, key.strip(), yaml.safe_load(value))
    raw.setdefault("config_path", str(path))
    raw["overrides"] = list(raw.get("overrides", [])) + list(overrides)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
