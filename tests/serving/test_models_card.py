"""serving.models._card: validation and JSON round trip of the model card."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from serving.models import ModelCard


def card_fields(**changes: object) -> dict:
    fields: dict = dict(
        name="face-cnn",
        version="2026.11.25",
        architecture="efficientnet_lite0",
        arch_args={"trainable_blocks": 8},
        task="image",
        input_size=160,
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
        temperature=1.7,
        thresholds={"real_below": 0.3, "fake_at_or_above": 0.7},
        trained=True,
        training={"data": ["dfdc", "stylegan"], "epochs": 3},
        metrics={"val": {"dfdc": {"auc": 0.93}}},
    )
    fields.update(changes)
    return fields


def test_json_round_trip() -> None:
    card = ModelCard.model_validate(card_fields())
    text = card.model_dump_json()
    again = ModelCard.model_validate_json(text)
    assert again == card
    data = json.loads(text)
    assert data["thresholds"] == {"real_below": 0.3, "fake_at_or_above": 0.7}
    assert data["created"] and data["fusion"] == {} and data["sequence_length"] is None
    # the contract shows thresholds as a dict: both access styles work
    assert card.thresholds["real_below"] == card.thresholds.real_below == 0.3


def test_video_card() -> None:
    card = ModelCard.model_validate(
        card_fields(
            architecture="resnext50_lstm", task="video", arch_args={}, sequence_length=32, fusion={"image_weight": 0.5}
        )
    )
    assert card.sequence_length == 32
    with pytest.raises(ValidationError, match="sequence_length"):
        ModelCard.model_validate(card_fields(architecture="resnext50_lstm", task="video", arch_args={}))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"thresholds": {"real_below": 0.7, "fake_at_or_above": 0.3}}, "real_below <= fake_at_or_above"),
        ({"thresholds": {"real_below": 0.0, "fake_at_or_above": 0.5}}, "0 < real_below"),
        ({"thresholds": {"real_below": 0.5, "fake_at_or_above": 1.0}}, "fake_at_or_above < 1"),
        ({"thresholds": {"real_below": 0.5}}, "fake_at_or_above"),
        ({"temperature": 0.0}, "greater than 0"),
        ({"temperature": -1.0}, "greater than 0"),
        ({"temperature": float("inf")}, "finite"),
        ({"input_size": 0}, "greater than 0"),
        ({"task": "video", "sequence_length": 8}, "does not match architecture"),
        ({"architecture": "resnet9000"}, "unknown model architecture"),
        ({"std": [0.2, 0.0, 0.2]}, "positive"),
        ({"mean": [0.5, 0.5]}, "at least 3"),
        ({"arch_args": {"pretrained": True}}, "pretrained"),
        ({"colour": "blue"}, "Extra inputs"),
        ({"task": "audio"}, "task"),
    ],
)
def test_invalid_cards_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelCard.model_validate(card_fields(**changes))


def test_calibrate_and_band() -> None:
    card = ModelCard.model_validate(card_fields(temperature=2.0))
    logits = np.array([-4.0, 0.0, 4.0])
    probs = card.calibrate(logits)
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits / 2.0)))
    torch.testing.assert_close(card.calibrate(torch.tensor(logits)), torch.tensor(probs, dtype=torch.float32))
    assert [card.band(p) for p in (0.1, 0.3, 0.5, 0.7, 0.99)] == ["real", "uncertain", "uncertain", "fake", "fake"]
