"""Tiny architectures with the real interfaces: fast tests and smoke-test training runs."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from serving.models._registry import register_model
from serving.models.resnext_lstm import SequenceClassifier


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class TinyCNN(nn.Module):
    """Three strided convs -> pool -> 1 logit; same contract as the EfficientNet classifier."""

    def __init__(self, width: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(3, width), _conv(width, width * 2), _conv(width * 2, width * 4))
        self.cam_layer = nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.cam_layer(self.body(x))).flatten(1)
        return self.head(self.dropout(x)).squeeze(1)


class TinyEncoder(nn.Module):
    """Two strided convs -> pool: ``[N,3,S,S] -> [N,width*2]`` (ResNeXtEncoder's stand-in)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(3, width), _conv(width, width * 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = width * 2

    @property
    def cam_layer(self) -> nn.Module:
        return self.body[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(x)).flatten(1)


@register_model("tiny_cnn", task="image")
def tiny_cnn(pretrained: bool = False, width: int = 16, dropout: float = 0.0, **kwargs: Any) -> TinyCNN:
    """A few thousand parameters; ``pretrained`` is accepted and ignored (nothing to load)."""
    if kwargs:
        raise TypeError(f"unexpected arguments {sorted(kwargs)}")
    return TinyCNN(width=width, dropout=dropout)


@register_model("tiny_lstm", task="video")
def tiny_lstm(
    pretrained: bool = False,
    width: int = 8,
    lstm_layers: int = 1,
    lstm_hidden: int = 16,
    bidirectional: bool = False,
    dropout: float = 0.0,
    **kwargs: Any,
) -> SequenceClassifier:
    """The video model's interface (encode / classify_features / frame_head) at toy size."""
    if kwargs:
        raise TypeError(f"unexpected arguments {sorted(kwargs)}")
    return SequenceClassifier(
        TinyEncoder(width),
        lstm_layers=lstm_layers,
        lstm_hidden=lstm_hidden,
        bidirectional=bidirectional,
        dropout=dropout,
    )
