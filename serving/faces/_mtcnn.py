"""MTCNN (Zhang et al. 2016) with the P/R/O-Net weights that ship in the facenet-pytorch wheel.

Why MTCNN: dlib's HOG is a frontal detector and misses heads that are turned, tilted back or
small; dlib's CNN finds more but costs about a second per photo on a CPU. MTCNN's cascade of
three tiny networks rejects most of a face-less photo in its first stage, so it is cheap where
HOG finds nothing (benchmarks/bench_faces.py, benchmarks/results/faces-cpu2.json).

Why our own cascade around facenet-pytorch's networks rather than its ``MTCNN.detect``: its
second and third stages cut and resize every candidate in a Python loop (slow on the textured
photos that yield thousands of candidates) and fail on inputs smaller than one 12-px window;
here the candidates are cut in one ``roi_align`` call and tiny inputs simply have no face.
Only the network classes are imported (``facenet_pytorch.models.mtcnn``) and the weights are
read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

PNET_CELL = 12  # P-Net's window in pixels
PNET_STRIDE = 2
RNET_SIZE, ONET_SIZE = 24, 48
PYRAMID_FACTOR = 0.709  # the paper's scale step between pyramid levels
# Per-stage score thresholds (P-, R-, O-Net): facenet-pytorch's defaults; callers choose the last.
THRESHOLDS = (0.6, 0.7, 0.7)
MAX_CANDIDATES = 2000  # P-Net survivors kept for R-Net (a bound on the cost of textured photos)

_nets_lock = threading.Lock()
_nets: tuple[Any, Any, Any] | None = None


def weights_dir() -> Path:
    """The facenet-pytorch wheel's data folder, found without importing the package."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "facenet-pytorch is not installed (make venv installs it: pip install --no-deps facenet-pytorch==2.6.0)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_nets() -> tuple[Any, Any, Any]:
    """P-, R- and O-Net in eval mode, built once per process (read-only, shared by threads)."""
    global _nets
    with _nets_lock:
        if _nets is None:
            import torch
            from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

            folder = weights_dir()
            nets = []
            for cls, file in ((PNet, "pnet.pt"), (RNet, "rnet.pt"), (ONet, "onet.pt")):
                net = cls(pretrained=False)
                net.load_state_dict(torch.load(folder / file, map_location="cpu", weights_only=True))
                nets.append(net.eval().requires_grad_(False))
            # P-Net runs convolutions over whole images: channels-last halves its cost here.
            nets[0] = nets[0].to(memory_format=torch.channels_last)
            _nets = (nets[0], nets[1], nets[2])
        return _nets


def _square(boxes: Any) -> Any:
    """Boxes grown to squares about their centres (the networks see square windows)."""
    import torch

    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    cx = boxes[:, 0] + w / 2
    cy = boxes[:, 1] + h / 2
    out = boxes.clone()
    out[:, 0], out[:, 1] = cx - side / 2, cy - side / 2
    out[:, 2], out[:, 3] = cx + side / 2, cy + side / 2
    return out


def _regress(boxes: Any, reg: Any) -> Any:
    """Apply the networks' box regression (offsets in units of the box's width/height)."""
    import torch

    w = (boxes[:, 2] - boxes[:, 0]).unsqueeze(1)
    h = (boxes[:, 3] - boxes[:, 1]).unsqueeze(1)
    return boxes[:, :4] + reg * torch.cat([w, h, w, h], dim=1)


def _cut(image: Any, boxes: Any, size: int) -> Any:
    """Every box cut from ``image`` [1,3,H,W] and resized to size×size; outside the image is 0
    (the normalised mid-grey), as in the reference implementation's zero padding."""
    from torchvision.ops import roi_align

    rois = boxes.new_zeros((len(boxes), 5))
    rois[:, 1:] = boxes[:, :4]
    return roi_align(image, rois, output_size=(size, size), spatial_scale=1.0, sampling_ratio=-1, aligned=True)


def detect_mtcnn(
    rgb: np.ndarray, *, min_face: float, thresholds: tuple[float, float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Faces in an RGB uint8 image: ``(boxes [N,4] x1 y1 x2 y2 float, scores [N])``.

    ``min_face`` is the smallest face side searched for, in ``rgb`` pixels (at least P-Net's
    12-px window). An image whose shorter side is below it has no face by definition.
    """
    import torch
    from torch.nn.functional import interpolate
    from torchvision.ops import batched_nms, nms

    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    thresholds = thresholds or THRESHOLDS
    min_face = max(float(PNET_CELL), float(min_face))
    h, w = rgb.shape[:2]
    if min(h, w) < min_face:
        return empty
    pnet, rnet, onet = load_nets()
    with torch.inference_mode():
        image = torch.from_numpy(np.array(rgb, np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float()
        image = (image - 127.5) * 0.0078125

        # Stage 1: P-Net over an image pyramid; the first level maps min_face onto 12 px.
        scale = PNET_CELL / min_face
        found, scores, regs, levels = [], [], [], []
        level = 0
        while min(h, w) * scale >= PNET_CELL:
            size = (max(PNET_CELL, int(math.ceil(h * scale))), max(PNET_CELL, int(math.ceil(w * scale))))
            level_image = interpolate(image, size=size, mode="area").contiguous(memory_format=torch.channels_last)
            reg, prob = pnet(level_image)
            keep = prob[0, 1] >= thresholds[0]
            ys, xs = keep.nonzero(as_tuple=True)
            if len(ys):
                pos = torch.stack([xs, ys], dim=1).float()
                q1 = torch.floor((PNET_STRIDE * pos + 1) / scale)
                q2 = torch.floor((PNET_STRIDE * pos + PNET_CELL) / scale)
                found.append(torch.cat([q1, q2], dim=1))
                scores.append(prob[0, 1][keep])
                regs.append(reg[0][:, ys, xs].T)
                levels.append(torch.full((len(ys),), level))
            scale *= PYRAMID_FACTOR
            level += 1
        if not found:
            return empty
        boxes, score, reg, level_of = torch.cat(found), torch.cat(scores), torch.cat(regs), torch.cat(levels)
        keep = batched_nms(boxes, score, level_of, 0.5)
        boxes, score, reg = boxes[keep], score[keep], reg[keep]
        keep = nms(boxes, score, 0.7)[:MAX_CANDIDATES]
        boxes = _square(_regress(boxes[keep], reg[keep]))

        # Stage 2: R-Net on 24-px cuts of every candidate.
        reg, prob = rnet(_cut(image, boxes, RNET_SIZE))
        keep = prob[:, 1] >= thresholds[1]
        if not bool(keep.any()):
            return empty
        boxes, score, reg = boxes[keep], prob[keep, 1], reg[keep]
        keep = nms(boxes, score, 0.7)
        boxes = _square(_regress(boxes[keep], reg[keep]))

        # Stage 3: O-Net on 48-px cuts; its regressed boxes are the answer.
        reg, _landmarks, prob = onet(_cut(image, boxes, ONET_SIZE))
        keep = prob[:, 1] >= thresholds[2]
        if not bool(keep.any()):
            return empty
        boxes, score = _regress(boxes[keep], reg[keep]), prob[keep, 1]
        # NMS by the smaller box's area ("Min"): a face inside a larger face box is the same face.
        order = torch.argsort(score, descending=True)
        boxes, score = boxes[order], score[order]
        area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
        chosen: list[int] = []
        for i in range(len(boxes)):
            ok = True
            for j in chosen:
                ix = (torch.minimum(boxes[i, 2], boxes[j, 2]) - torch.maximum(boxes[i, 0], boxes[j, 0])).clamp(min=0)
                iy = (torch.minimum(boxes[i, 3], boxes[j, 3]) - torch.maximum(boxes[i, 1], boxes[j, 1])).clamp(min=0)
                if float(ix * iy) > 0.7 * float(torch.minimum(area[i], area[j]).clamp(min=1e-6)):
                    ok = False
                    break
            if ok:
                chosen.append(i)
        return boxes[chosen].numpy().astype(np.float32), score[chosen].numpy().astype(np.float32)
