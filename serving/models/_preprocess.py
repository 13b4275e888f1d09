"""Face crops -> normalised tensors, shared by serving and training so they never disagree."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from serving.models._card import ModelCard


def preprocess(crops: np.ndarray, card: ModelCard) -> torch.Tensor:
    """``uint8 [N,H,W,3]`` RGB crops -> ``float32 [N,3,S,S]`` normalised with the card's mean/std.

    Crops of another size are resized to ``card.input_size`` with ``cv2.INTER_AREA`` (the
    training cache uses the same call, so train and serve see the same pixels).
    """
    if not isinstance(crops, np.ndarray):
        raise TypeError(f"crops must be a numpy array, not {type(crops).__name__}")
    if crops.dtype != np.uint8:
        raise ValueError(f"crops must be uint8, got {crops.dtype}")
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.shape[1] < 1 or crops.shape[2] < 1:
        raise ValueError(f"crops must be [N,H,W,3], got shape {crops.shape}")
    size = card.input_size
    if crops.shape[1:3] != (size, size):
        crops = (
            np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])
            if len(crops)
            else np.empty((0, size, size, 3), np.uint8)
        )
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(card.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(card.std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def image_logits(model: torch.nn.Module, x: torch.Tensor, card: ModelCard | str) -> torch.Tensor:
    """The image CNN's logits ``[N]`` for preprocessed crops, with the card's test-time augmentation.

    Serving and training both call this, so the temperature a card was calibrated with always
    meets the same kind of logits. ``card`` may also be the augmentation's name (training, before
    a card exists). ``hflip``: the mean of the logits of a crop and its mirror (one forward pass).
    """
    tta = card if isinstance(card, str) else card.test_time_augmentation
    if tta not in ("none", "hflip"):
        raise ValueError(f"unknown test-time augmentation {tta!r}")
    if tta == "hflip" and len(x):
        both = model(torch.cat([x, torch.flip(x, dims=[3])])).float().reshape(-1)
        return (both[: len(x)] + both[len(x) :]) / 2
    return model(x).float().reshape(-1)
