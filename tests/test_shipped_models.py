"""The checkpoints that ship in models/: they load without pickle, say they are trained, fit the
repo limit, and rank a real clip below a fake one through the real engine (a preprocessing
mismatch between training and serving would make this a coin toss)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakewatch.settings import REPO_ROOT, Settings

MODELS = REPO_ROOT / "models"


@pytest.mark.parametrize("task", ["image", "video"])
def test_shipped_checkpoint_loads_and_is_documented(task: str) -> None:
    from serving.models import load_checkpoint

    folder = MODELS / task
    assert (folder / "model.safetensors").stat().st_size < 60 * 1024 * 1024
    ckpt = load_checkpoint(folder)
    card = ckpt.card
    assert card.task == task and card.trained
    assert 0 < card.thresholds.real_below < card.thresholds.fake_at_or_above < 1
    assert card.metrics.get("overall", {}).get("auc", 0) > 0.5
    assert "command" in card.training or "reproduce" in card.training


def test_shipped_models_rank_the_dfdc_fake_above_the_real(shared_videos: dict[str, Path]) -> None:
    from serving.engine import Engine

    engine = Engine(Settings(environment="test", frames_per_video=8))
    real = engine.check(shared_videos["dfdc_lynaeydofd"])
    fake = engine.check(shared_videos["dfdc_widuwuoiur"])
    assert real.model is not None and real.model.trained
    assert real.fake_probability is not None and fake.fake_probability is not None
    assert fake.fake_probability > real.fake_probability, (real.to_json(), fake.to_json())
