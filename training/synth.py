"""Synthesised fakes made from real faces at training time: a family of pseudo-fake kinds.

Self-blended images (training.sbi) teach the blending boundary of a face swap. Today's one-click
swappers and face editors leave further traces that a detector trained only on SBI misses, so
each kind here imitates one of them inside a mask over the face:

- ``sbi``: the self-blend itself (a transformed copy of the face inside a soft landmark mask);
- ``lowres_inner``: the inner face re-rendered at low resolution (swappers generate the face at
  128 px for a whole frame) and upscaled with a random interpolation;
- ``restorer``: edge-preserving smoothing, optionally re-sharpened (the waxy GFPGAN/CodeFormer look);
- ``seam``: a transformed copy blended in through varied mask shapes (hull, inner hull, ellipse,
  rectangle; eroded or dilated; hard or soft edge) -- seams of many swap pipelines;
- ``colour``: colour and lighting mismatch (LAB mean/std shift, gamma, a directional gradient);
- ``swap``: another real person's face warped onto the landmarks, colour-matched and blended;
- ``upsampler``: the whole crop remade through a generator-like x2 upsampling layer (the pixel
  phase trace NPR looks for), for fully generated faces, which have no blend to find.

Every kind is ``(rgb, rng, landmarks, **context) -> (image, mask) | None``: ``rgb`` is an HxWx3
uint8 face crop cut by ``serving.faces.crop_face`` (margin 0.25), ``landmarks`` its points from
``training.sbi.face_landmarks``; the mask is float in [0, 1] and pixels where it is 0 are left
exactly as they were. All randomness comes from ``rng``, so a seed repeats a sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cv2
import numpy as np

from training.constants import SYNTH_DEFAULT_WEIGHTS, SYNTH_KINDS
from training.sbi import _transform_source, face_landmarks, landmark_mask, self_blend

Result = tuple[np.ndarray, np.ndarray]
Donor = tuple[np.ndarray, np.ndarray]  # (rgb crop, its landmarks)
Kind = Callable[..., Result | None]

# what swap pipelines paste back with; nearest-neighbour blocks would add, not remove, fine detail
_UPSCALERS = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_LANCZOS4)
_UPSCALER_P = (0.45, 0.4, 0.15)


def _blend(rgb: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``source`` over ``rgb`` through ``mask``; exactly ``rgb`` where the mask is 0."""
    weight = mask[..., None]
    out = source.astype(np.float32) * weight + rgb.astype(np.float32) * (1 - weight)
    return np.where(weight > 0, np.clip(np.rint(out), 0, 255), rgb).astype(np.uint8)


def _odd(n: float) -> int:
    return max(1, int(n)) * 2 + 1


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """Float LAB (L 0..100): no 8-bit rounding, so small shifts survive."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0, 0, 255)


# --- the kinds -------------------------------------------------------------------------------


def sbi(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """The self-blend of training.sbi as one kind of the family."""
    result = self_blend(rgb, rng=rng, landmarks=landmarks, return_mask=True)
    return None if result is None else (result[0], result[1])


def lowres_inner(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """The face rendered with 32-64 px across and upscaled: a 128-px swapper's face in a bigger frame."""
    mask = landmark_mask(rgb.shape[:2], landmarks, rng)
    if not mask.any():
        return None
    h, w = rgb.shape[:2]
    face_w = max(float(np.ptp(landmarks[:, 0])), 1.0)
    scale = float(np.clip(rng.uniform(32, 64) / face_w, 0.15, 0.75))
    down = cv2.INTER_AREA if rng.random() < 0.6 else cv2.INTER_LINEAR
    small = cv2.resize(rgb, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=down)
    up = _UPSCALERS[int(rng.choice(len(_UPSCALERS), p=_UPSCALER_P))]
    return _blend(rgb, cv2.resize(small, (w, h), interpolation=up), mask), mask


def restorer(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """Edge-preserving smoothing (+ mild sharpening): skin loses its texture, edges stay crisp."""
    mask = landmark_mask(rgb.shape[:2], landmarks, rng)
    if not mask.any():
        return None
    w = rgb.shape[1]
    method = int(rng.integers(3))
    smooth = rgb
    if method == 0:
        for _pass in range(int(rng.integers(1, 3))):
            d = int(rng.integers(5, 10))
            smooth = cv2.bilateralFilter(smooth, d, rng.uniform(60, 110), rng.uniform(3, 9) * w / 128)
    elif method == 1:
        flags = int(rng.choice([cv2.RECURS_FILTER, cv2.NORMCONV_FILTER]))
        smooth = cv2.edgePreservingFilter(rgb, flags=flags, sigma_s=rng.uniform(20, 60), sigma_r=rng.uniform(0.3, 0.5))
    else:
        strength = rng.uniform(14, 22)
        smooth = cv2.fastNlMeansDenoisingColored(rgb, None, strength, strength, 5, 11)
    if rng.random() < 0.4:  # restorers re-sharpen eyes and edges; mild, or the texture comes back
        blurred = cv2.GaussianBlur(smooth, (0, 0), rng.uniform(0.8, 1.6))
        amount = rng.uniform(0.15, 0.4)
        smooth = cv2.addWeighted(smooth, 1 + amount, blurred, -amount, 0)
    return _blend(rgb, smooth, mask), mask


def seam_mask(shape: tuple[int, int], points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mask of a varied shape: whole hull, inner-face hull, ellipse or rectangle; resized; hard or soft."""
    h, w = shape
    mask: np.ndarray = np.zeros((h, w), np.float32)
    shape_kind = int(rng.integers(4))
    if shape_kind == 0:
        cv2.fillConvexPoly(mask, cv2.convexHull(points.astype(np.int32)), 1.0)
    elif shape_kind == 1:  # brows, eyes, nose, mouth: the region many swappers replace
        inner = points[17:] if len(points) > 20 else points
        cv2.fillConvexPoly(mask, cv2.convexHull(inner.astype(np.int32)), 1.0)
    elif shape_kind == 2:
        (cx, cy), (ax, ay), angle = cv2.fitEllipse(points.astype(np.float32))
        s = rng.uniform(0.75, 1.0)
        axes = (max(1, int(ax * s / 2)), max(1, int(ay * s / 2)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, angle, 0, 360, 1.0, -1)
    else:
        x0, y0 = points.min(0)
        x1, y1 = points.max(0)
        jx0, jy0, jx1, jy1 = rng.uniform(-0.05, 0.08, 4) * w
        cv2.rectangle(mask, (int(x0 + jx0), int(y0 + jy0)), (int(x1 - jx1), int(y1 - jy1)), 1.0, -1)
    if rng.random() < 0.7:
        grow = rng.random() < 0.5  # growing less than shrinking: the mask stays on the face
        k = _odd(rng.uniform(0.005, 0.025 if grow else 0.05) * w)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.dilate(mask, kernel) if grow else cv2.erode(mask, kernel)
    if rng.random() < 0.7:  # soft edge; else a hard cut
        blur = _odd(rng.uniform(0.01, 0.08) * w)
        mask = cv2.GaussianBlur(mask, (blur, blur), 0)
        mask[mask < 1e-3] = 0.0
    peak = mask.max()
    return mask / peak if peak > 0 else mask


def seam(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """A transformed copy of the face blended in through a varied mask: many seam shapes, one family."""
    mask = seam_mask(rgb.shape[:2], landmarks, rng)
    if not mask.any():
        return None
    mask = mask * rng.choice([0.6, 0.8, 1.0, 1.0])
    return _blend(rgb, _transform_source(rgb, rng), mask), mask


def colour(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """Face colour and lighting that do not match the frame: LAB shift and scale, gamma, a light gradient."""
    mask = landmark_mask(rgb.shape[:2], landmarks, rng)
    inside = mask > 0.5
    if inside.sum() < 10:
        return None
    lab = _to_lab(rgb)
    mean = lab[inside].mean(0)
    direction = rng.normal(size=3)
    shift = direction / (np.linalg.norm(direction) + 1e-6) * rng.uniform(6, 16)
    lab = (lab - mean) * rng.uniform(0.85, 1.15, 3) + mean + shift
    out = _from_lab(lab) / 255.0
    if rng.random() < 0.5:  # gamma in the direction of the lightness shift, so the two add up
        g = rng.uniform(0.75, 0.95) if shift[0] > 0 else rng.uniform(1.05, 1.33)
        out = np.power(np.clip(out, 0, 1), g)
    if rng.random() < 0.5:  # light from one side
        h, w = rgb.shape[:2]
        theta = rng.uniform(0, 2 * np.pi)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        ramp = ((gx - w / 2) * np.cos(theta) + (gy - h / 2) * np.sin(theta)) / (w / 2)
        out = out * (1 + rng.uniform(0.08, 0.25) * ramp)[..., None]
    return _blend(rgb, np.clip(out * 255.0, 0, 255), mask), mask


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) taking ``src`` points to ``dst``: a 2x3 matrix."""
    src, dst = src.astype(np.float64), dst.astype(np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    u, sig, vt = np.linalg.svd(d0.T @ s0 / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    scale = (sig * np.diag(sign)).sum() / max((s0**2).sum() / len(src), 1e-9)
    matrix = np.hstack([scale * rot, (md - scale * rot @ ms)[:, None]])
    return matrix


def _delaunay(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Triangles (T x 3 point indices) of a Delaunay triangulation (OpenCV's Subdiv2D)."""
    w, h = size
    lo = np.floor(np.minimum(points.min(0), 0)) - 2
    hi = np.ceil(np.maximum(points.max(0), (w, h))) + 2
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1])))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    tris = np.asarray(subdiv.getTriangleList(), np.float32).reshape(-1, 3, 2)
    if not len(tris):
        return np.zeros((0, 3), np.int64)
    dist = ((tris[:, :, None, :] - points[None, None, :, :]) ** 2).sum(-1)  # T x 3 x N
    real = dist.min(-1).max(-1) < 1e-3  # drop triangles on Subdiv2D's virtual outer vertices
    return np.asarray(dist.argmin(-1)[real])


def _warp_inverse(image: np.ndarray, matrices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``matrices[labels] @ (x, y, 1)`` for each output pixel."""
    h, w = labels.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    a = matrices.astype(np.float32)[labels]  # h x w x 2 x 3
    map_x = a[..., 0, 0] * gx + a[..., 0, 1] * gy + a[..., 0, 2]
    map_y = a[..., 1, 0] * gx + a[..., 1, 1] * gy + a[..., 1, 2]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def warp_face(
    donor: np.ndarray, donor_points: np.ndarray, points: np.ndarray, *, piecewise: bool, size: tuple[int, int]
) -> np.ndarray:
    """The donor's face moved onto ``points``: one similarity, or piecewise-affine over a Delaunay mesh.

    Piecewise: each target triangle samples the donor's matching triangle, so the donor's face
    takes the target's shape (eyes, mouth, jaw line); outside the mesh the similarity applies.
    """
    w, h = size
    inverse = _similarity(points, donor_points)  # target -> donor, for remap
    if not piecewise:
        return _warp_inverse(donor, inverse[None], np.zeros((h, w), np.int32))
    _, first = np.unique(np.round(points, 1), axis=0, return_index=True)
    keep = np.sort(first)  # face_recognition repeats the mouth corners in both lips
    dst, src = points[keep].astype(np.float64), donor_points[keep].astype(np.float64)
    labels = np.zeros((h, w), np.int32)  # 0: the similarity; i + 1: triangle i
    matrices = [inverse]
    for tri in _delaunay(dst.astype(np.float32), (w, h)):
        corners = np.vstack([dst[tri].T, np.ones(3)])
        if abs(np.linalg.det(corners)) < 1e-3:
            continue
        matrices.append(src[tri].T @ np.linalg.inv(corners))
        cv2.fillConvexPoly(labels, np.round(dst[tri]).astype(np.int32), len(matrices) - 1)
    return _warp_inverse(donor, np.stack(matrices), labels)


def match_colour(source: np.ndarray, reference: np.ndarray, region: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``source`` with the LAB mean and spread of ``reference`` inside ``region`` (Reinhard transfer)."""
    if region.sum() < 10:
        return source
    ls, lr = _to_lab(source), _to_lab(reference)
    ms, ss = ls[region].mean(0), ls[region].std(0) + 1e-3
    mr, sr = lr[region].mean(0), lr[region].std(0) + 1e-3
    matched = (ls - ms) / ss * sr + mr
    return _from_lab(ls + strength * (matched - ls))


def swap(
    rgb: np.ndarray,
    rng: np.random.Generator,
    landmarks: np.ndarray,
    *,
    donor_rgb: np.ndarray | None = None,
    donor_landmarks: np.ndarray | None = None,
    **_: Any,
) -> Result | None:
    """Another real person's face warped onto these landmarks, colour-matched, blended in the hull.

    ``None`` without a usable donor (the caller then picks another kind).
    """
    if donor_rgb is None or donor_landmarks is None or len(donor_landmarks) != len(landmarks):
        return None
    h, w = rgb.shape[:2]
    donor_points = donor_landmarks.astype(np.float32)
    if donor_rgb.shape[:2] != (h, w):
        dh, dw = donor_rgb.shape[:2]
        interp = cv2.INTER_AREA if dw > w else cv2.INTER_LINEAR
        donor_rgb = cv2.resize(donor_rgb, (w, h), interpolation=interp)
        donor_points = donor_points * np.array([w / dw, h / dh], np.float32)
    mask = landmark_mask((h, w), landmarks, rng)
    if not mask.any():
        return None
    warped = warp_face(donor_rgb, donor_points, landmarks, piecewise=rng.random() < 0.6, size=(w, h))
    warped = match_colour(warped, rgb, mask > 0.5, strength=rng.uniform(0.6, 1.0))
    return _blend(rgb, warped, mask), mask


def _upsample2(small: np.ndarray, size: tuple[int, int], kernel: np.ndarray) -> np.ndarray:
    """Zero-insertion x2 then a 4x4 filter: a stride-2 transposed convolution, the generator's upsampler."""
    h, w = small.shape[:2]
    zeros = np.zeros((2 * h, 2 * w, 3), np.float32)
    zeros[::2, ::2] = small.astype(np.float32)
    up = cv2.filter2D(zeros, -1, kernel, anchor=(1, 1), borderType=cv2.BORDER_REFLECT_101)
    return cv2.resize(up, size, interpolation=cv2.INTER_LINEAR) if up.shape[1::-1] != size else up


def upsampler(rgb: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray, **_: Any) -> Result | None:
    """The whole crop remade through a generator's last upsampling layer, with its detail put back.

    GAN and diffusion decoders build the image by learned x2 upsampling; the four pixel phases of
    each 2x2 block then relate to their neighbours differently (checkerboard, NPR's trace). Here a
    random 4x4 transposed-convolution kernel (bilinear plus noise, so the phases differ) upsamples
    the half-size crop and part of the lost fine detail is added back, so the fake is not simply
    blurrier. Fully generated faces have no mask edge: the mask is the whole crop.
    """
    h, w = rgb.shape[:2]
    if h < 16 or w < 16:
        return None
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    base = np.array([0.25, 0.75, 0.75, 0.25], np.float32)
    kernel = np.outer(base, base) * (1 + rng.normal(0.0, rng.uniform(0.05, 0.3), (4, 4))).astype(np.float32)
    for i in (0, 1):  # each output phase reads one 2x2 sub-kernel; its gain is 1 give or take a trace
        for j in (0, 1):
            sub = kernel[i::2, j::2]
            sub *= (1 + rng.normal(0.0, rng.uniform(0.003, 0.02))) / sub.sum()
    up = _upsample2(small, (w, h), kernel)
    detail = rgb.astype(np.float32) - cv2.GaussianBlur(rgb, (0, 0), 1.0).astype(np.float32)
    out = np.clip(np.rint(up + rng.uniform(0.3, 0.8) * detail), 0, 255).astype(np.uint8)
    return out, np.ones((h, w), np.float32)


KINDS: dict[str, Kind] = {
    "sbi": sbi,
    "lowres_inner": lowres_inner,
    "restorer": restorer,
    "seam": seam,
    "colour": colour,
    "swap": swap,
    "upsampler": upsampler,
}
assert tuple(KINDS) == SYNTH_KINDS, "training.constants.SYNTH_KINDS and KINDS must list the same kinds"


def check_weights(kinds_weights: Mapping[str, float]) -> dict[str, float]:
    """Weights of known kinds, non-negative; kinds not named get 0."""
    unknown = set(kinds_weights) - set(SYNTH_KINDS)
    if unknown:
        raise ValueError(f"unknown synth kinds {sorted(unknown)}; known: {', '.join(SYNTH_KINDS)}")
    weights = {k: float(kinds_weights.get(k, 0.0)) for k in SYNTH_KINDS}
    if any(not w >= 0 for w in weights.values()):
        raise ValueError(f"synth weights must be >= 0, got {dict(kinds_weights)}")
    return weights


def synthesize(
    rgb: np.ndarray,
    rng: np.random.Generator,
    kinds_weights: Mapping[str, float] = SYNTH_DEFAULT_WEIGHTS,
    *,
    donor: Donor | Callable[[], Donor | None] | None = None,
    landmarks: np.ndarray | None = None,
    margin: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """A pseudo-fake of a real face crop: ``(image, mask, kind)``, or ``None`` without landmarks.

    The kind is drawn with ``kinds_weights``. ``donor`` (for ``swap``) may be a callable, called
    only when ``swap`` is drawn, since finding a donor's landmarks costs time; a kind that cannot
    run (no donor, empty mask) is dropped and another is drawn.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    weights = {k: w for k, w in check_weights(kinds_weights).items() if w > 0}
    points = landmarks if landmarks is not None else face_landmarks(rgb, margin)
    if points is None:
        return None
    while weights:
        names = list(weights)
        p = np.array([weights[k] for k in names])
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
        context: dict[str, Any] = {}
        if kind == "swap":
            found = donor() if callable(donor) else donor
            if found is None:
                del weights[kind]
                continue
            context = {"donor_rgb": found[0], "donor_landmarks": found[1]}
        result = KINDS[kind](rgb, rng, points, **context)
        if result is not None:
            return result[0], result[1], kind
        del weights[kind]
    return None
