"""Training end to end at toy size: real crops -> a checkpoint the engine loads and uses."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from training.config import ConfigError, load_config
from training.train import EarlyStopping, run_training


def write_config(path: Path, **sections) -> Path:
    path.write_text(yaml.safe_dump(sections))
    return path


@pytest.fixture(scope="module")
def image_run(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("image_run")
    cfg = write_config(
        out / "tiny.yaml",
        name="tiny_image",
        stage="image",
        out_dir=str(out / "runs"),
        model={"architecture": "tiny_cnn", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 48, "workers": 0},
        sbi={"enabled": True, "probability": 0.5},
        optim={"epochs": 2, "batch_size": 8, "steps_per_epoch": 3, "warmup_steps": 2},
        export={"directory": str(out / "export"), "name": "tiny-image", "version": "0.0.1", "tta": "hflip"},
    )
    summary = run_training(load_config(cfg))
    return out, summary


def test_image_run_writes_everything(image_run):
    out, summary = image_run
    run = out / "runs" / "tiny_image"
    for name in (
        "metrics.csv",
        "training_curves.png",
        "roc.png",
        "reliability.png",
        "per_source.csv",
        "best.safetensors",
        "state/state.json",
        "state/optimizer.safetensors",
        "summary.json",
    ):
        assert (run / name).exists(), name
    card = json.loads((out / "export" / "model_card.json").read_text())
    assert card["trained"] is True and card["architecture"] == "tiny_cnn" and card["input_size"] == 48
    assert card["temperature"] > 0
    assert card["test_time_augmentation"] == "hflip"  # calibrated on mirrored-and-averaged logits
    assert card["thresholds"]["real_below"] <= card["thresholds"]["fake_at_or_above"]
    assert set(card["metrics"]["per_source"]) <= {"dfdc", "mesonet", "stylegan"}
    assert "fakewatch train" in card["training"]["command"]
    assert not list(run.rglob("*.pt")) and not list(run.rglob("*.pkl"))  # never pickle
    assert summary["metrics"]["overall"]["n"] > 0


def test_checkpoint_scores_a_real_face(image_run, shared_data):
    from serving.faces import create_detector, crop_face
    from serving.models import load_checkpoint, preprocess

    out, _ = image_run
    ckpt = load_checkpoint(out / "export")
    path = sorted((shared_data / "faces/stylegan/fake").glob("*.jpg"))[0]
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    crop = crop_face(rgb, create_detector("hog").detect(rgb)[0], margin=0.25, size=ckpt.card.input_size)
    prob = float(ckpt.card.calibrate(ckpt.model(preprocess(crop[None], ckpt.card)).detach())[0])
    assert 0.0 <= prob <= 1.0


def test_engine_loads_the_trained_checkpoint(image_run, shared_data):
    from fakewatch.settings import Settings
    from serving.engine import Engine

    out, _ = image_run
    engine = Engine(Settings(environment="test"), image_ckpt=out / "export")
    path = sorted((shared_data / "faces/stylegan/real").glob("*.jpg"))[0]
    result = engine.check(path)
    assert result.verdict in ("real", "uncertain", "fake")
    assert result.model.trained is True and result.model.name == "tiny-image"


def test_resume_continues_from_saved_state(image_run):
    out, _ = image_run
    config = load_config(out / "tiny.yaml", overrides=["optim.epochs=3"])
    summary = run_training(config, resume=True)
    rows = (out / "runs" / "tiny_image" / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]  # epochs 0-1 kept, only 2 added
    assert summary["stopped_by"] in ("epochs", "early_stopping")


def test_init_from_starts_at_a_checkpoint(image_run, tiny_cache, tmp_path):
    """Fine-tuning further starts from the exported weights, and the card says from what."""
    import torch

    from serving.models import create_model, load_checkpoint
    from training.train import init_from_checkpoint

    out, _ = image_run
    export = out / "export"
    fresh = create_model("tiny_cnn", pretrained=False)
    note = init_from_checkpoint(fresh, export, "tiny_cnn")
    shipped = load_checkpoint(export).model.state_dict()
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in shipped.items())
    assert note["version"] == "0.0.1" and "fakewatch train" in note["command"]
    with pytest.raises(ValueError, match="tiny_cnn"):
        init_from_checkpoint(create_model("efficientnet_lite0", pretrained=False), export, "efficientnet_lite0")

    cfg = write_config(
        tmp_path / "more.yaml",
        name="more",
        stage="image",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_cnn", "pretrained": False, "init_from": str(export)},
        data={"cache_dir": str(tiny_cache), "input_size": 48, "workers": 0},
        optim={"epochs": 1, "batch_size": 8, "steps_per_epoch": 1, "warmup_steps": 0},
    )
    run_training(load_config(cfg))
    card = json.loads((tmp_path / "more" / "checkpoint" / "model_card.json").read_text())
    assert card["training"]["data"]["initialised_from"]["name"] == "tiny-image"


def test_early_stopping_stops():
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    assert stopper.step(0.7) and not stopper.should_stop
    assert not stopper.step(0.705)  # below min_delta: not an improvement
    assert not stopper.should_stop
    assert not stopper.step(float("nan"))
    assert stopper.should_stop and stopper.best == 0.7


def test_mean_source_auc_weighs_each_source_equally():

    from training.task import Task
    from training.train import selection_metric

    # source a: perfectly ranked (AUC 1); source b: reversed (AUC 0); b is small, so pooled AUC is high
    meta = [{"source": "a"}] * 8 + [{"source": "b"}] * 2
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    probs = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.55, 0.45])
    task = Task(None, None, None, None, meta, {})
    pooled = {"auc": 0.9}
    assert selection_metric("auc", task, labels, probs, pooled) == 0.9
    assert selection_metric("mean_source_auc", task, labels, probs, pooled) == pytest.approx(0.5)
    task.epoch_val_loader, task.epoch_val_indices = object(), [0, 4, 8, 9]  # a per-epoch subsample
    sub = selection_metric("mean_source_auc", task, labels[[0, 4, 8, 9]], probs[[0, 4, 8, 9]], {})
    assert sub == pytest.approx(0.5)


def test_run_with_mean_source_auc_and_source_weights(tiny_cache, tmp_path):
    import csv
    import io

    cfg = write_config(
        tmp_path / "msa.yaml",
        name="msa",
        stage="image",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_cnn", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 32, "workers": 0, "source_weights": {"stylegan": 2.0}},
        augment={"enabled": False},
        optim={"epochs": 2, "batch_size": 4, "steps_per_epoch": 2, "warmup_steps": 0},
        early_stop={"metric": "mean_source_auc"},
    )
    run_training(load_config(cfg))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "msa" / "metrics.csv").read_text())))
    assert len(rows) == 2 and all(0.0 <= float(r["val_selection"]) <= 1.0 for r in rows)
    card = json.loads((tmp_path / "msa" / "checkpoint" / "model_card.json").read_text())
    assert card["training"]["config"]["data"]["source_weights"] == {"stylegan": 2.0}
    assert card["training"]["config"]["early_stop"]["metric"] == "mean_source_auc"


def test_run_with_one_synth_kind(tiny_cache, tmp_path):
    """The lead's ablation: synth on with one kind picked on the command line; the card records it."""
    cfg = write_config(
        tmp_path / "synth.yaml",
        name="synth",
        stage="image",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_cnn", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 32, "workers": 0},
        augment={"enabled": False},
        sbi={"enabled": True},
        synth={"enabled": True, "probability": 0.5},
        optim={"epochs": 1, "batch_size": 4, "steps_per_epoch": 2, "warmup_steps": 0},
    )
    summary = run_training(load_config(cfg, ["synth.kinds=colour"]))
    card = json.loads((tmp_path / "synth" / "checkpoint" / "model_card.json").read_text())
    assert card["training"]["synth"] == {"enabled": True, "probability": 0.5, "kinds": {"colour": 1.0}}
    assert card["training"]["sbi"]["superseded_by"] == "synth"
    assert "--set synth.kinds=colour" in card["training"]["command"]
    assert summary["pseudo_fakes"] == {k: card["training"][k] for k in ("sbi", "synth")}


def test_training_stops_early_when_auc_stalls(tiny_cache, tmp_path):
    cfg = write_config(
        tmp_path / "stall.yaml",
        name="stall",
        stage="image",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_cnn", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 32, "workers": 0},
        augment={"enabled": False},
        optim={"epochs": 30, "batch_size": 4, "steps_per_epoch": 1, "warmup_steps": 0, "lr": 1e-9},
        early_stop={"patience": 2, "min_delta": 0.5},
    )
    summary = run_training(load_config(cfg))
    assert summary["stopped_by"] == "early_stopping"
    assert len((tmp_path / "stall" / "metrics.csv").read_text().strip().splitlines()) - 1 == 3


def test_video_two_stages(tiny_cache, image_run, tmp_path, shared_videos):
    out, _ = image_run
    stage1 = write_config(
        tmp_path / "s1.yaml",
        name="s1",
        stage="video_encoder",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_lstm", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 32, "workers": 0},
        optim={"epochs": 1, "batch_size": 8, "steps_per_epoch": 2, "warmup_steps": 1},
        video={"sequence_length": 8},
    )
    run_training(load_config(stage1))
    stage2 = write_config(
        tmp_path / "s2.yaml",
        name="s2",
        stage="video_lstm",
        out_dir=str(tmp_path),
        model={"architecture": "tiny_lstm", "pretrained": False},
        data={"cache_dir": str(tiny_cache), "input_size": 32, "workers": 0},
        optim={"epochs": 2, "batch_size": 4, "steps_per_epoch": 3, "warmup_steps": 1},
        video={
            "encoder_from": str(tmp_path / "s1"),
            "sequence_length": 8,
            "clip_length": 4,
            "pseudo_clips_per_crop": 0.5,
            "max_train_clips": 20,
            "max_val_clips": 12,
            "image_model": str(out / "export"),
        },
        export={"directory": str(tmp_path / "video_export"), "name": "tiny-video", "half": False},
    )
    summary = run_training(load_config(stage2))
    assert (tmp_path / "s2" / "features_train.safetensors").exists()
    card = json.loads((tmp_path / "video_export" / "model_card.json").read_text())
    assert card["task"] == "video" and card["sequence_length"] == 8
    assert 0.0 <= card["fusion"]["video_weight"] <= 1.0
    assert "pseudo-clips" in card["training"]["data"]["how"]
    assert summary["metrics"]["overall"]["n"] > 0

    from fakewatch.settings import Settings
    from serving.engine import Engine

    engine = Engine(
        Settings(environment="test", frames_per_video=8),
        image_ckpt=out / "export",
        video_ckpt=tmp_path / "video_export",
    )
    result = engine.check(shared_videos["ffpp_cyshih704_real"])
    assert result.kind == "video" and result.verdict in ("real", "uncertain", "fake")
    assert result.model.trained is True

    from training.video import refit_fusion

    post = refit_fusion(load_config(stage2), tmp_path / "video_export")
    card = json.loads((tmp_path / "video_export" / "model_card.json").read_text())
    assert card["fusion"]["video_weight"] == post["fusion"]["video_weight"]
    assert card["fusion"]["image_model"].startswith("tiny-image")


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: {epochs: 1, unknown_key: 3}\n")
    with pytest.raises(ConfigError, match="unknown_key"):
        load_config(bad)
    toml = tmp_path / "ok.toml"
    toml.write_text('name = "t"\n[optim]\nepochs = 2\n')
    config = load_config(toml, overrides=["optim.lr=0.01", "model.args.trainable_blocks=8"])
    assert config.optim.epochs == 2 and config.optim.lr == 0.01 and config.model.args == {"trainable_blocks": 8}
    with pytest.raises(ConfigError, match="key.sub=value"):
        load_config(toml, overrides=["nonsense"])


def test_init_from_several_checkpoints_starts_at_their_weighted_average(image_run, tiny_cache, tmp_path):
    """A model soup: the weights are the weighted mean of the ingredients, the card names each."""
    import torch

    from serving.models import create_model, load_checkpoint, save_checkpoint
    from training.train import init_from_checkpoint

    out, _ = image_run
    first = load_checkpoint(out / "export")
    other = create_model("tiny_cnn", pretrained=False)  # different weights, same architecture
    save_checkpoint(other, first.card, tmp_path / "other")
    other_state = load_checkpoint(tmp_path / "other").model.state_dict()

    soup = create_model("tiny_cnn", pretrained=False)
    note = init_from_checkpoint(soup, [out / "export", tmp_path / "other"], "tiny_cnn", weights=[3, 1])
    for key, value in soup.state_dict().items():
        if value.is_floating_point():
            expected = 0.75 * first.model.state_dict()[key] + 0.25 * other_state[key]
            assert torch.allclose(value, expected, atol=1e-6), key
    assert note["weights"] == [0.75, 0.25] and [n["version"] for n in note["soup"]] == ["0.0.1", "0.0.1"]
    for bad in ([1], [1, 0], [1, -2]):
        with pytest.raises(ValueError, match="init_weights"):
            init_from_checkpoint(soup, [out / "export", tmp_path / "other"], "tiny_cnn", weights=bad)

    cfg = write_config(
        tmp_path / "soup.yaml",
        name="soup",
        stage="image",
        out_dir=str(tmp_path),
        model={
            "architecture": "tiny_cnn",
            "pretrained": False,
            "init_from": [str(out / "export"), str(tmp_path / "other")],
        },
        data={"cache_dir": str(tiny_cache), "input_size": 48, "workers": 0},
        optim={"epochs": 0, "batch_size": 8},
    )
    run_training(load_config(cfg))  # epochs 0: calibrate and save the average as it is
    card = json.loads((tmp_path / "soup" / "checkpoint" / "model_card.json").read_text())
    assert card["training"]["data"]["initialised_from"]["weights"] == [0.5, 0.5]
    saved = load_checkpoint(tmp_path / "soup" / "checkpoint").model.state_dict()
    key = next(k for k, v in saved.items() if v.is_floating_point())
    assert torch.allclose(saved[key], 0.5 * first.model.state_dict()[key] + 0.5 * other_state[key], atol=1e-6)
