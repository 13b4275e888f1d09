"""Augmentations that mimic what chat apps do to a photo before it reaches us.

Why these: Telegram/WhatsApp re-encode JPEGs at lower quality, shrink and re-enlarge, and
phones add noise, blur and colour shifts. A detector that only saw pristine crops learns
compression fingerprints of its training set instead of faces; these make those cues unreliable.
Every transform keeps the image size and never touches the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    hflip: float = 0.5
    shift_scale: float = 0.5  # probability of a small random re-framing (the detector's box jitters)
    max_shift: float = 0.06  # of the side
    min_zoom: float = 0.9
    max_zoom: float = 1.1
    color: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    resample: float = 0.3  # downscale then upscale back
    min_resample_scale: float = 0.35
    blur: float = 0.2
    max_blur_sigma: float = 1.5
    noise: float = 0.2
    max_noise_sigma: float = 8.0
    jpeg: float = 0.6
    min_jpeg_quality: int = 30
    max_jpeg_quality: int = 95
    cutout: float = 0.3
    max_cutout: float = 0.35  # of the side


def jpeg_recompress(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        return rgb
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover - we just encoded it
        return rgb
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def downscale_upscale(rgb: np.ndarray, scale: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(8, int(w * scale)), max(8, int(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def shift_scale(rgb: np.ndarray, rng: np.random.Generator, max_shift: float, zoom: tuple[float, float]) -> np.ndarray:
    h, w = rgb.shape[:2]
    z = rng.uniform(*zoom)
    tx, ty = rng.uniform(-max_shift, max_shift, 2) * (w, h)
    matrix = np.array([[z, 0, (1 - z) * w / 2 + tx], [0, z, (1 - z) * h / 2 + ty]], dtype=np.float32)
    return cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def color_jitter(rgb: np.ndarray, rng: np.random.Generator, b: float, c: float, s: float) -> np.ndarray:
    x = rgb.astype(np.float32)
    x = x * rng.uniform(1 - b, 1 + b)
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - c, 1 + c) + mean
    gray = x.mean(axis=2, keepdims=True)
    x = (x - gray) * rng.uniform(1 - s, 1 + s) + gray
    return np.clip(x, 0, 255).astype(np.uint8)


def cutout(rgb: np.ndarray, rng: np.random.Generator, max_frac: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    ch, cw = int(h * rng.uniform(0.1, max_frac)), int(w * rng.uniform(0.1, max_frac))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = rgb.copy()
    out[y : y + ch, x : x + cw] = rng.integers(0, 256, size=3, dtype=np.uint8)
    return out


class ChatAppAugment:
    """``augment(rgb) -> rgb`` with the same shape and dtype; random but seedable."""

    def __init__(self, config: AugmentConfig | None = None, *, seed: int | None = None) -> None:
        self.config = config or AugmentConfig()
        self.rng = np.random.default_rng(seed)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
        cfg, rng = self.config, self.rng
        out = rgb
        if rng.random() < cfg.hflip:
            out = out[:, ::-1]
        if rng.random() < cfg.shift_scale:
            out = shift_scale(out, rng, cfg.max_shift, (cfg.min_zoom, cfg.max_zoom))
        if rng.random() < cfg.color:
            out = color_jitter(out, rng, cfg.brightness, cfg.contrast, cfg.saturation)
        if rng.random() < cfg.resample:
            out = downscale_upscale(out, rng.uniform(cfg.min_resample_scale, 0.9))
        if rng.random() < cfg.blur:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, cfg.max_blur_sigma))
        if rng.random() < cfg.noise:
            noise = rng.normal(0, rng.uniform(1.0, cfg.max_noise_sigma), out.shape)
            out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        if rng.random() < cfg.jpeg:
            out = jpeg_recompress(
                np.ascontiguousarray(out), int(rng.integers(cfg.min_jpeg_quality, cfg.max_jpeg_quality + 1))
            )
        if rng.random() < cfg.cutout:
            out = cutout(out, rng, cfg.max_cutout)
        return np.ascontiguousarray(out)
