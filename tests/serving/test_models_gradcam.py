"""serving.models._gradcam: a finite 0..1 map per crop, on frozen eval-mode models, no side effects."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from serving.models import create_model, grad_cam, init_checkpoint, preprocess


def _real_faces(shared_data: Path, n: int = 2) -> np.ndarray:
    paths = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[:1]
    paths += sorted((shared_data / "faces" / "dfdc" / "fake").glob("*.jpg"))[: n - 1]
    crops = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    return np.stack([cv2.resize(c, (224, 224), interpolation=cv2.INTER_AREA) for c in crops])


def test_grad_cam_on_frozen_imagenet_efficientnet(shared_data: Path) -> None:
    torch.manual_seed(0)
    ckpt = init_checkpoint("image", arch_args={"trainable_blocks": 0})
    model = ckpt.model
    assert not any(p.requires_grad for n, p in model.named_parameters() if not n.startswith("head."))
    x = preprocess(_real_faces(shared_data), ckpt.card)
    with torch.inference_mode():  # serving calls it from inference code: must still work
        maps = [grad_cam(model, x[i : i + 1]) for i in range(2)]
    for cam in maps:
        assert cam.shape == (224, 224) and cam.dtype == np.float32
        assert np.isfinite(cam).all() and cam.min() >= 0.0 and cam.max() <= 1.0
        assert cam.max() == pytest.approx(1.0)  # a random head still points somewhere
    assert np.abs(maps[0] - maps[1]).mean() > 0.01  # different faces, different evidence
    assert all(p.grad is None for p in model.parameters())  # no gradient left behind
    assert not model.training


def test_grad_cam_restores_train_mode_and_ignores_dropout() -> None:
    torch.manual_seed(0)
    model = create_model("tiny_cnn", dropout=0.5).train()
    x = torch.randn(1, 3, 48, 48)
    first, second = grad_cam(model, x), grad_cam(model, x)
    assert model.training
    np.testing.assert_array_equal(first, second)  # eval mode inside: deterministic


def test_grad_cam_explains_a_video_model_frame() -> None:
    model = create_model("tiny_lstm").eval()
    cam = grad_cam(model, torch.randn(1, 3, 40, 40))
    assert cam.shape == (40, 40) and np.isfinite(cam).all()


def test_grad_cam_rejects_bad_inputs() -> None:
    model = create_model("tiny_cnn")
    with pytest.raises(ValueError, match=r"\[1,3,S,S\]"):
        grad_cam(model, torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError):
        grad_cam(model, torch.randn(3, 32, 32))
    with pytest.raises(TypeError, match="cam_layer"):
        grad_cam(torch.nn.Conv2d(3, 1, 3), torch.randn(1, 3, 32, 32))
