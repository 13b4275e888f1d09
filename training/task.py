"""What a training stage is (:class:`Task`) and how it is scored, shared by image and video stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class Task:
    """What differs between stages: the model, how a batch becomes logits, the data."""

    model: nn.Module
    train_loader: Any
    val_loader: Any
    forward: Callable[[nn.Module, Any, torch.device], tuple[torch.Tensor, torch.Tensor]]
    val_meta: list[dict[str, Any]]  # one dict per validation item: source, group, kind...
    card_fields: dict[str, Any]
    pos_weight: float | None = None
    extra_training: dict[str, Any] = field(default_factory=dict)
    epoch_val_loader: Any = None  # a fixed subsample for per-epoch early stopping (None: val_loader)
    epoch_val_indices: list[int] | None = None  # which val items that subsample holds
    post_calibrate: Callable[..., dict[str, Any]] | None = None  # video: fusion + fused bands


def evaluate_task(task: Task, device: torch.device, loader: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels over a loader (default: the whole validation set), in eval mode."""
    task.model.eval()
    logits, labels = [], []
    with torch.inference_mode():
        for batch in loader if loader is not None else task.val_loader:
            out, y = task.forward(task.model, batch, device)
            logits.append(out.float().cpu().numpy())
            labels.append(y.cpu().numpy())
    return np.concatenate(logits) if logits else np.zeros(0), np.concatenate(labels).astype(
        np.int64
    ) if labels else np.zeros(0, np.int64)
