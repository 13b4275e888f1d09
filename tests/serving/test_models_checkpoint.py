"""serving.models._checkpoint: safetensors + card round trips, and refusal of anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from serving.models import (
    CheckpointError,
    ModelCard,
    create_model,
    init_checkpoint,
    load_checkpoint,
    read_card,
    save_checkpoint,
)


def make_card(architecture: str = "tiny_cnn", **changes: object) -> ModelCard:
    video = architecture in ("tiny_lstm", "resnext50_lstm")
    fields: dict = dict(
        name=f"test-{architecture}",
        version="t1",
        architecture=architecture,
        arch_args={},
        task="video" if video else "image",
        input_size=32,
        sequence_length=4 if video else None,
        mean=[0.5, 0.5, 0.5],
        std=[0.25, 0.25, 0.25],
        temperature=1.3,
        thresholds={"real_below": 0.4, "fake_at_or_above": 0.6},
        trained=True,
    )
    fields.update(changes)
    return ModelCard.model_validate(fields)


@pytest.fixture
def no_torch_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a checkpoint must never reach torch.load / pickle."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("torch.load called while loading a checkpoint")

    monkeypatch.setattr(torch, "load", refuse)


def _trained_tiny(architecture: str, **arch_args: object) -> torch.nn.Module:
    torch.manual_seed(1)
    model = create_model(architecture, **arch_args)
    model.train()
    with torch.no_grad():  # move BN statistics away from their defaults so they are checked too
        if architecture == "tiny_cnn":
            model(torch.randn(4, 3, 32, 32))
        else:
            model(torch.randn(2, 3, 3, 32, 32))
    return model.eval()


@pytest.mark.parametrize("architecture", ["tiny_cnn", "tiny_lstm"])
def test_fp32_round_trip_is_bit_for_bit(tmp_path: Path, architecture: str, no_torch_load: None) -> None:
    model = _trained_tiny(architecture, width=8)
    card = make_card(architecture, arch_args={"width": 8})
    assert save_checkpoint(model, card, tmp_path / "ckpt") == tmp_path / "ckpt"
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["model.safetensors", "model_card.json"]
    ckpt = load_checkpoint(tmp_path / "ckpt")
    assert ckpt.card == card and ckpt.path == tmp_path / "ckpt"
    assert not ckpt.model.training
    original, loaded = model.state_dict(), ckpt.model.state_dict()
    assert original.keys() == loaded.keys()
    for key in original:
        assert torch.equal(original[key], loaded[key]), key
    with safe_open(str(tmp_path / "ckpt" / "model.safetensors"), "pt") as fh:
        assert fh.metadata()["dtype"] == "float32"
    for saved in (tmp_path / "ckpt").iterdir():  # readable by a non-root server process
        assert saved.stat().st_mode & 0o044 == 0o044, saved


def test_fp16_round_trip_within_tolerance(tmp_path: Path, no_torch_load: None) -> None:
    model = _trained_tiny("tiny_cnn")
    save_checkpoint(model, make_card(), tmp_path, half=True)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as fh:
        assert fh.metadata()["dtype"] == "float16"
        assert fh.get_tensor("head.weight").dtype == torch.float16
        assert fh.get_tensor("body.0.1.num_batches_tracked").dtype == torch.int64  # ints stay ints
    ckpt = load_checkpoint(tmp_path)
    assert all(p.dtype == torch.float32 for p in ckpt.model.parameters())
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x), model(x), rtol=1e-2, atol=1e-2)


def test_resnext50_lstm_fp16_checkpoint_is_under_60_mb(tmp_path: Path) -> None:
    model = create_model("resnext50_lstm").eval()
    card = make_card("resnext50_lstm", input_size=112, sequence_length=32)
    save_checkpoint(model, card, tmp_path, half=True)
    size_mb = (tmp_path / "model.safetensors").stat().st_size / 1e6
    assert size_mb < 60, size_mb
    ckpt = load_checkpoint(tmp_path)
    a = model.state_dict()["encoder.layer4.2.conv3.weight"]
    torch.testing.assert_close(ckpt.model.state_dict()["encoder.layer4.2.conv3.weight"], a, rtol=1e-3, atol=1e-4)


def test_pickle_in_place_of_safetensors_is_refused(tmp_path: Path) -> None:
    model = _trained_tiny("tiny_cnn")
    save_checkpoint(model, make_card(), tmp_path)
    torch.save(model.state_dict(), tmp_path / "model.safetensors")  # a pickle with the right name
    with pytest.raises(CheckpointError, match="not a valid safetensors file.*pickle"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "model.safetensors").unlink(), "no model.safetensors"),
        (lambda d: (d / "model_card.json").unlink(), "no model_card.json"),
        (lambda d: (d / "model.safetensors").write_bytes(b""), "not a valid safetensors"),
        (
            lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:300]),
            "not a valid safetensors",
        ),
        (lambda d: (d / "model_card.json").write_text("{not json"), "invalid model card"),
        (
            lambda d: (d / "model_card.json").write_text(
                json.dumps({**json.loads((d / "model_card.json").read_text()), "temperature": -1})
            ),
            "invalid model card",
        ),
        (
            lambda d: (d / "model_card.json").write_text(
                json.dumps({**json.loads((d / "model_card.json").read_text()), "arch_args": {"width": 4}})
            ),
            "weights do not fit",
        ),
        (
            lambda d: (d / "model_card.json").write_text(
                json.dumps({**json.loads((d / "model_card.json").read_text()), "arch_args": {"depth": 4}})
            ),
            "cannot build tiny_cnn",
        ),
    ],
    ids=[
        "no-weights",
        "no-card",
        "empty",
        "truncated",
        "card-not-json",
        "card-invalid",
        "wrong-shapes",
        "bad-arch-args",
    ],
)
def test_broken_checkpoints_raise_checkpoint_error(tmp_path: Path, damage, message: str) -> None:
    save_checkpoint(_trained_tiny("tiny_cnn"), make_card(), tmp_path)
    damage(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path)


def test_missing_directory_and_nan_weights(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    model = _trained_tiny("tiny_cnn")
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    save_checkpoint(model, make_card(), tmp_path)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path)


def test_saving_weights_that_do_not_fit_the_card_is_refused(tmp_path: Path) -> None:
    model = create_model("tiny_cnn", width=8)
    with pytest.raises(CheckpointError, match="does not match card"):
        save_checkpoint(model, make_card(arch_args={"width": 16}), tmp_path)
    assert not (tmp_path / "model.safetensors").exists()
    with pytest.raises(TypeError):
        save_checkpoint(model, {"name": "x"}, tmp_path)  # type: ignore[arg-type]


def test_unusable_device_is_a_checkpoint_error(tmp_path: Path) -> None:
    save_checkpoint(_trained_tiny("tiny_cnn"), make_card(), tmp_path)
    with pytest.raises(CheckpointError, match="cannot move the model"):
        load_checkpoint(tmp_path, device="no-such-device")


def test_read_card_without_building_the_model(tmp_path: Path) -> None:
    save_checkpoint(_trained_tiny("tiny_cnn"), make_card(), tmp_path)
    assert read_card(tmp_path).name == "test-tiny_cnn"


def test_init_checkpoint_image_is_imagenet_and_says_untrained() -> None:
    ckpt = init_checkpoint("image")
    card = ckpt.card
    assert (card.trained, card.version, card.architecture, card.task) == (
        False,
        "untrained",
        "efficientnet_lite0",
        "image",
    )
    assert (card.thresholds.real_below, card.thresholds.fake_at_or_above, card.temperature) == (0.35, 0.65, 1.0)
    assert card.input_size == 224 and card.mean == [0.485, 0.456, 0.406] and ckpt.path is None
    assert not ckpt.model.training
    # the backbone is ImageNet, not random: BN statistics differ from their init values
    assert not torch.equal(ckpt.model.backbone._bn1.running_var, torch.ones(1280))


def test_init_checkpoint_video_and_overrides() -> None:
    ckpt = init_checkpoint("video")
    assert (ckpt.card.architecture, ckpt.card.input_size, ckpt.card.sequence_length) == ("resnext50_lstm", 112, 32)
    assert ckpt.card.trained is False
    tiny = init_checkpoint("video", architecture="tiny_lstm", arch_args={"width": 4}, input_size=32)
    assert tiny.model.feature_dim == 8 and tiny.card.input_size == 32
    with pytest.raises(ValueError):
        init_checkpoint("audio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not match"):
        init_checkpoint("image", architecture="tiny_lstm")
