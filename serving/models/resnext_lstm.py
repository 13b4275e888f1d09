"""ResNeXt50 frame encoder + LSTM over a face track (the video model).

Why split into ``encode`` and ``classify_features``: training caches encoder features once and
trains the LSTM on them (stage 2), and serving can push the frames of several tracks through the
encoder as one batch. ``frame_head`` on the raw 2048-d features lets stage 1 train the encoder
alone as an image classifier (``classify_frames``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from serving.models._constants import RESNEXT_FEATURE_DIM
from serving.models._registry import register_model


class ResNeXtEncoder(nn.Module):
    """torchvision ``resnext50_32x4d`` without its fc: ``[N,3,S,S] -> [N,2048]``."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import resnext50_32x4d

        net = resnext50_32x4d(weights=None)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = RESNEXT_FEATURE_DIM

    @property
    def cam_layer(self) -> nn.Module:
        return self.layer4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.pool(x).flatten(1)


class SequenceClassifier(nn.Module):
    """Any frame encoder + LSTM: one logit per track and one per frame.

    ``forward(x [B,T,3,S,S], lengths [B] | None) -> (track_logits [B], frame_logits [B,T])``.
    Tracks shorter than T are right-padded; their ``lengths`` keep padding out of the LSTM and
    out of the track score. Frame logits at padded steps are 0 and must be masked by callers.
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        lstm_layers: int = 1,
        lstm_hidden: int = 512,
        bidirectional: bool = False,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if lstm_layers < 1 or lstm_hidden < 1:
            raise ValueError("lstm_layers and lstm_hidden must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        feat = int(encoder.out_features)  # type: ignore[arg-type]  # our encoders set it as an int attribute
        self.encoder = encoder
        self.feature_dim = feat
        self.frame_head = nn.Linear(feat, 1)  # stage 1: the encoder alone as an image classifier
        self.lstm = nn.LSTM(
            feat,
            lstm_hidden,
            num_layers=lstm_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        out = lstm_hidden * (2 if bidirectional else 1)
        self.dropout = nn.Dropout(dropout)
        self.step_head = nn.Linear(out, 1)  # per-frame logits (the timeline)
        self.track_head = nn.Linear(out, 1)  # track logit from the mean of valid LSTM outputs

    @property
    def cam_layer(self) -> nn.Module:
        layer = self.encoder.cam_layer
        assert isinstance(layer, nn.Module)
        return layer

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Frame features ``[N,3,S,S] -> [N,F]``."""
        if x.dim() != 4:
            raise ValueError(f"encode expects [N,3,S,S], got shape {tuple(x.shape)}")
        return self.encoder(x)

    def classify_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Stage-1 image logits ``[N,3,S,S] -> [N]`` (encoder + ``frame_head``, no LSTM)."""
        return self.frame_head(self.dropout(self.encode(x))).squeeze(1)

    def classify_features(
        self, feats: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """LSTM part: ``feats [B,T,F]`` (+ ``lengths [B]``) -> ``(track [B], frames [B,T])``."""
        if feats.dim() != 3 or feats.shape[-1] != self.feature_dim:
            raise ValueError(f"expected features [B,T,{self.feature_dim}], got {tuple(feats.shape)}")
        batch, steps = feats.shape[:2]
        if steps == 0:
            raise ValueError("a track needs at least one frame")
        if lengths is None:
            out, _ = self.lstm(feats)
            mask = torch.ones(batch, steps, dtype=torch.bool, device=feats.device)
        else:
            lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
            if lengths.shape != (batch,) or int(lengths.min()) < 1 or int(lengths.max()) > steps:
                raise ValueError(f"lengths must be [B] in 1..{steps}, got {lengths.tolist()}")
            packed = pack_padded_sequence(feats, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
            mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
            mask = mask.to(feats.device)
        out = self.dropout(out)
        frame_logits = self.step_head(out).squeeze(-1) * mask
        weights = mask.to(out.dtype).unsqueeze(-1)
        pooled = (out * weights).sum(1) / weights.sum(1)
        track_logits = self.track_head(pooled).squeeze(-1)
        return track_logits, frame_logits

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 5:
            raise ValueError(f"expected [B,T,3,S,S], got shape {tuple(x.shape)}")
        batch, steps = x.shape[:2]
        feats = self.encode(x.flatten(0, 1)).view(batch, steps, -1)
        return self.classify_features(feats, lengths)


@register_model("resnext50_lstm", task="video")
def resnext50_lstm(
    pretrained: bool = False,
    lstm_layers: int = 1,
    lstm_hidden: int = 512,
    bidirectional: bool = False,
    dropout: float = 0.3,
    **kwargs: Any,
) -> SequenceClassifier:
    """ResNeXt50_32x4d (torchvision, random init: no weights are downloaded) + LSTM.

    ``pretrained`` is accepted for a uniform factory signature; there are no shipped ImageNet
    weights for this encoder, so it starts random either way.
    """
    if kwargs:
        raise TypeError(f"unexpected arguments {sorted(kwargs)}")
    return SequenceClassifier(
        ResNeXtEncoder(),
        lstm_layers=lstm_layers,
        lstm_hidden=lstm_hidden,
        bidirectional=bidirectional,
        dropout=dropout,
    )
