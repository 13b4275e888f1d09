"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): pseudo-fakes made from real faces.

A real face is blended with a slightly transformed copy of itself (colour, scale, shift,
sharpen/blur) inside a soft mask from its 68 landmarks (convex hull, elastically deformed,
Gaussian-blurred edge). The result has the boundary and statistics mismatch of a face swap
but no particular method's fingerprint, so a detector trained on it learns what swaps have in
common -- which generalises to manipulations it never saw.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

_LANDMARKS = None


def face_landmarks(rgb: np.ndarray, margin: float = 0.25) -> np.ndarray | None:
    """68 (x, y) points of the face centred in a crop cut with ``margin`` (serving.faces.crop_face).

    The crop's face box is known from how the crop was cut, so only the (fast) shape predictor
    runs, not a detector.
    """
    global _LANDMARKS
    if _LANDMARKS is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import face_recognition
        _LANDMARKS = face_recognition.face_landmarks
    side = rgb.shape[0]
    inset = int(round(side * margin / (1 + 2 * margin)))
    box = (inset, side - inset, side - inset, inset)  # top, right, bottom, left
    found = _LANDMARKS(np.ascontiguousarray(rgb), face_locations=[box], model="large")
    if not found:
        return None
    points = np.array([p for part in found[0].values() for p in part], dtype=np.float32)
    return points if len(points) >= 20 else None


def landmark_mask(shape: tuple[int, int], points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft float mask in [0, 1]: convex hull, elastic deformation, random erosion/dilation, blurred edge."""
    h, w = shape
    hull = cv2.convexHull(points.astype(np.int32))
    mask: np.ndarray = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    # elastic deformation: a smooth random displacement field
    alpha, sigma = rng.uniform(0.02, 0.06) * w, rng.uniform(0.04, 0.08) * w
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma) * alpha
    dx *= alpha / (np.abs(dx).max() + 1e-6)
    dy *= alpha / (np.abs(dy).max() + 1e-6)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mask = cv2.remap(mask, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    k = max(1, int(rng.uniform(0.01, 0.05) * w)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    blur = max(1, int(rng.uniform(0.02, 0.08) * w)) * 2 + 1
    mask = cv2.GaussianBlur(mask, (blur, blur), 0)
    mask[mask < 1e-3] = 0.0  # exact zeros outside: the blend must leave the background untouched
    peak = mask.max()
    return mask / peak if peak > 0 else mask


def _transform_source(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The copy that gets blended in: colour shift, sharpen or blur, slight scale and shift."""
    x: np.ndarray = rgb.astype(np.float32)
    x += rng.uniform(-12, 12, size=3)  # per-channel shift
    x = (x - 128) * rng.uniform(0.9, 1.1) + 128 + rng.uniform(-10, 10)
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        blurred = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
        amount = rng.uniform(0.3, 1.0)
        x = cv2.addWeighted(x, 1 + amount, blurred, -amount, 0)  # unsharp mask
    else:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.2))
    h, w = x.shape[:2]
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, 2) * (w, h)
    matrix = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    return cv2.warpAffine(x, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def self_blend(
    rgb: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    landmarks: np.ndarray | None = None,
    margin: float = 0.25,
    return_mask: bool = False,
):
    """A self-blended pseudo-fake of a real face crop, or ``None`` when no landmarks are found.

    With ``return_mask`` returns ``(image, mask)``; pixels where ``mask == 0`` are unchanged.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    rng = rng or np.random.default_rng()
    points = landmarks if landmarks is not None else face_landmarks(rgb, margin)
    if points is None:
        return None
    mask = landmark_mask(rgb.shape[:2], points, rng)
    if not mask.any():
        return None
    ratio = rng.choice([0.5, 0.75, 1.0, 1.0, 1.0])
    weight = (mask * ratio)[..., None]
    source = _transform_source(rgb, rng)
    out = source.astype(np.float32) * weight + rgb.astype(np.float32) * (1 - weight)
    out = np.where(weight > 0, np.clip(np.rint(out), 0, 255), rgb).astype(np.uint8)
    return (out, mask) if return_mask else out
