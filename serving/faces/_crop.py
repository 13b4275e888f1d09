"""Square face crops, cut the same way for training and inference.

Why square and centred on the box with edge replication: the models see a fixed framing
whatever the face's position, and a face at the frame border keeps its size instead of
being squashed or shifted.
"""

from __future__ import annotations

import cv2
import numpy as np

from serving.faces._detector import FaceBox, _check_rgb


def crop_box(box: FaceBox, margin: float) -> tuple[int, int, int, int]:
    """The square (x1, y1, x2, y2) that ``crop_face`` cuts; may extend past the image."""
    if margin < 0:
        raise ValueError(f"margin must not be negative, got {margin}")
    if box.width <= 0 or box.height <= 0:
        raise ValueError(f"empty face box {box}")
    side = max(1, int(round(max(box.width, box.height) * (1.0 + 2.0 * margin))))
    cx, cy = box.center
    x1 = int(round(cx - side / 2.0))
    y1 = int(round(cy - side / 2.0))
    return x1, y1, x1 + side, y1 + side


def crop_face(rgb: np.ndarray, box: FaceBox, *, margin: float, size: int) -> np.ndarray:
    """An RGB uint8 ``size``×``size`` crop: side = max(w, h)·(1 + 2·margin), border replicated."""
    rgb = _check_rgb(rgb)
    if size < 1:
        raise ValueError(f"crop size must be positive, got {size}")
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = crop_box(box, margin)
    # Cut what lies inside the image, then replicate its edges for what lies outside.
    cx1, cy1 = min(max(x1, 0), w - 1), min(max(y1, 0), h - 1)
    cx2, cy2 = max(min(x2, w), cx1 + 1), max(min(y2, h), cy1 + 1)
    inside = rgb[cy1:cy2, cx1:cx2]
    top, left = cy1 - y1, cx1 - x1
    bottom, right = y2 - cy2, x2 - cx2
    if top or left or bottom or right:
        inside = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_REPLICATE)
    side = x2 - x1
    if side == size:
        return np.ascontiguousarray(inside)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(inside, (size, size), interpolation=interp)
