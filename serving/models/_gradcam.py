"""Grad-CAM for the face classifiers: where in the crop the "fake" evidence sits (seed, Fig. 8).

Works on frozen, eval-mode models: the input is made to require grad so the path through
frozen layers still carries gradients, and ``torch.autograd.grad`` is used instead of
``backward`` so no parameter ``.grad`` is touched (a serving replica never accumulates grads).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _fake_logit(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # Video models explain one frame through their stage-1 head (encoder + frame_head).
    classify_frames = getattr(model, "classify_frames", None)
    out = classify_frames(x) if callable(classify_frames) else model(x)
    if isinstance(out, tuple):
        raise TypeError("grad_cam needs an image classifier returning logits [B]")
    return out.reshape(-1)[0]


def grad_cam(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Heat map ``[S,S]`` in 0..1 for one normalised crop ``x [1,3,S,S]``.

    The model needs a ``cam_layer`` module (its output is the conv feature map explained).
    A map of zeros means no region pushes towards "fake".
    """
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise ValueError(f"grad_cam expects one crop [1,3,S,S], got {tuple(x.shape)}")
    layer = getattr(model, "cam_layer", None)
    if not isinstance(layer, nn.Module):
        raise TypeError(f"{type(model).__name__} has no cam_layer to explain")
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(False), torch.enable_grad():
            param = next(model.parameters(), None)
            inp = x.detach().clone().to(param.device if param is not None else x.device)
            inp.requires_grad_(True)
            logit = _fake_logit(model, inp)
            if not captured:
                raise RuntimeError("cam_layer was not used by the forward pass")
            activation = captured[-1]
            (grads,) = torch.autograd.grad(logit, activation)
    finally:
        handle.remove()
        model.train(was_training)
    act = activation.detach()[0]
    weights = grads.detach()[0].mean(dim=(1, 2), keepdim=True)
    cam = F.relu((weights * act).sum(0, keepdim=True)).unsqueeze(0)
    cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
    cam = torch.nan_to_num(cam.float(), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(cam.max())
    if top > 0.0:
        cam = cam / top
    return cam.clamp_(0.0, 1.0).cpu().numpy().astype(np.float32)
