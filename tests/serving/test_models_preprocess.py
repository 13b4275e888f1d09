"""serving.models._preprocess: uint8 crops -> normalised tensors the models expect."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serving.models import ModelCard, preprocess


@pytest.fixture
def card() -> ModelCard:
    return ModelCard(
        name="p",
        version="1",
        architecture="tiny_cnn",
        task="image",
        input_size=32,
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
        thresholds={"real_below": 0.35, "fake_at_or_above": 0.65},
        trained=False,
    )


def test_normalises_with_card_mean_and_std(card: ModelCard) -> None:
    crops = np.zeros((2, 32, 32, 3), np.uint8)
    crops[1] = 255
    crops[0, :, :, 0] = 124  # ~ mean of the red channel
    x = preprocess(crops, card)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    assert abs(float(x[0, 0].mean())) < 0.01
    torch.testing.assert_close(x[0, 1], torch.full((32, 32), -0.456 / 0.224))
    torch.testing.assert_close(x[1, 2], torch.full((32, 32), (1 - 0.406) / 0.225))


def test_resizes_other_sizes_with_area_interpolation(card: ModelCard) -> None:
    crops = np.zeros((3, 64, 64, 3), np.uint8)
    crops[:, :, 32:] = 255  # right half white
    x = preprocess(crops, card)
    assert x.shape == (3, 3, 32, 32)
    left, right = x[0, 0, :, :16], x[0, 0, :, 16:]
    assert float(left.max()) < float(right.min())
    assert preprocess(np.zeros((0, 64, 64, 3), np.uint8), card).shape == (0, 3, 32, 32)


@pytest.mark.parametrize(
    "crops, error",
    [
        (np.zeros((2, 32, 32, 3), np.float32), ValueError),
        (np.zeros((32, 32, 3), np.uint8), ValueError),
        (np.zeros((2, 32, 32, 4), np.uint8), ValueError),
        (np.zeros((2, 0, 32, 3), np.uint8), ValueError),
        ([[0]], TypeError),
    ],
)
def test_bad_crops_raise_typed_errors(card: ModelCard, crops: object, error: type) -> None:
    with pytest.raises(error):
        preprocess(crops, card)  # type: ignore[arg-type]


def test_image_logits_hflip_averages_a_crop_and_its_mirror():
    import torch

    from serving.models import create_model, image_logits, init_checkpoint

    torch.manual_seed(0)
    model = create_model("tiny_cnn").eval()
    x = torch.randn(3, 3, 32, 32)
    mirrored = torch.flip(x, dims=[3])
    with torch.inference_mode():
        plain = image_logits(model, x, "none")
        tta = image_logits(model, x, "hflip")
        assert torch.allclose(plain, model(x).reshape(-1))
        assert torch.allclose(tta, (model(x).reshape(-1) + model(mirrored).reshape(-1)) / 2, atol=1e-6)
        assert torch.allclose(tta, image_logits(model, mirrored, "hflip"), atol=1e-6)  # mirror-invariant
        assert not torch.allclose(plain, image_logits(model, mirrored, "none"))
        card = init_checkpoint("image", architecture="tiny_cnn", input_size=32).card
        assert torch.allclose(image_logits(model, x, card.model_copy(update={"test_time_augmentation": "hflip"})), tta)
        assert image_logits(model, x[:0], "hflip").shape == (0,)
    with pytest.raises(ValueError, match="test-time augmentation"):
        image_logits(model, x, "rotate")
