"""Model registry, architectures, checkpoints and model cards (timm style).

Importing this package registers every architecture: ``efficientnet_lite0``, ``resnext50_lstm``,
``tiny_cnn``, ``tiny_lstm``. It imports torch, so the bot must not import it.
"""

from serving.models import efficientnet, resnext_lstm, tiny  # noqa: F401  (registers architectures)
from serving.models._card import ModelCard, Thresholds
from serving.models._checkpoint import (
    Checkpoint,
    CheckpointError,
    card_json,
    init_checkpoint,
    load_checkpoint,
    read_card,
    save_checkpoint,
)
from serving.models._constants import IMAGENET_MEAN, IMAGENET_STD
from serving.models._gradcam import grad_cam
from serving.models._preprocess import image_logits, preprocess
from serving.models._registry import (
    UnknownModelError,
    create_model,
    list_models,
    model_task,
    register_model,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Checkpoint",
    "CheckpointError",
    "ModelCard",
    "Thresholds",
    "UnknownModelError",
    "card_json",
    "create_model",
    "grad_cam",
    "image_logits",
    "init_checkpoint",
    "list_models",
    "load_checkpoint",
    "model_task",
    "preprocess",
    "read_card",
    "register_model",
    "save_checkpoint",
]
