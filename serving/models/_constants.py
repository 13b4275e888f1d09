"""Numbers the model package agrees on with serving and training, in one place."""

from __future__ import annotations

from typing import Final

# ImageNet normalisation: both backbones were designed (and the EfficientNet weights trained) with it.
IMAGENET_MEAN: Final[tuple[float, float, float]] = (0.485, 0.456, 0.406)
IMAGENET_STD: Final[tuple[float, float, float]] = (0.229, 0.224, 0.225)

# Verdict bands of an untrained model: wide "uncertain" band so random weights rarely sound sure.
DEFAULT_REAL_BELOW: Final[float] = 0.35
DEFAULT_FAKE_AT_OR_ABOVE: Final[float] = 0.65

IMAGE_INPUT_SIZE: Final[int] = 224  # EfficientNet-Lite0's native resolution
VIDEO_INPUT_SIZE: Final[int] = 112  # ResNeXt50 per-frame crops: 4x cheaper than 224 on CPU
VIDEO_SEQUENCE_LENGTH: Final[int] = 32

UNTRAINED_VERSION: Final[str] = "untrained"

# Checkpoint layout: weights and card side by side in one directory.
WEIGHTS_FILE: Final[str] = "model.safetensors"
CARD_FILE: Final[str] = "model_card.json"
CHECKPOINT_FORMAT: Final[str] = "fakewatch-checkpoint/1"

# EfficientNet-Lite0 has 16 MBConv blocks (1+2+2+3+3+4+1); the seed paper retrains the last 8 or 16.
EFFICIENTNET_LITE0_BLOCKS: Final[int] = 16
RESNEXT_FEATURE_DIM: Final[int] = 2048
