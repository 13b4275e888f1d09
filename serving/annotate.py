"""The picture the bot sends back: faces boxed and scored, the most suspicious one with its
Grad-CAM heat map blended in (like Fig. 8 of the seed paper).

Drawn on the downscaled copy ``prepare(..., with_views=True)`` kept, so annotating a 4K frame
never needs the full-resolution pixels again.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from serving.contract import Verdict
from serving.faces import FaceBox

# RGB colours per band.
BAND_COLOURS: dict[Verdict, tuple[int, int, int]] = {
    Verdict.REAL: (46, 204, 64),
    Verdict.UNCERTAIN: (255, 176, 0),
    Verdict.FAKE: (230, 30, 30),
}
HEAT_ALPHA = 0.45  # weight of the heat map over the face
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(canvas: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int], scale: float) -> None:
    """Text on a filled box above (or, at the top edge, inside) the face box."""
    thickness = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    top = y - th - base - 4
    if top < 0:
        top = y
    cv2.rectangle(canvas, (x, top), (x + tw + 6, top + th + base + 4), colour, -1)
    cv2.putText(canvas, text, (x + 3, top + th + 2), FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def _blend_heat(canvas: np.ndarray, cam: np.ndarray, square: tuple[int, int, int, int], box: FaceBox) -> None:
    """Colour-map ``cam`` (the crop square's heat) and blend the part over the face box."""
    sx1, sy1, sx2, sy2 = square
    side = max(1, sx2 - sx1)
    heat = cv2.resize((cam * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_LINEAR)
    heat = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    h, w = canvas.shape[:2]
    x1, y1 = max(0, box.x1, sx1), max(0, box.y1, sy1)
    x2, y2 = min(w, box.x2, sx2), min(h, box.y2, sy2)
    if x2 <= x1 or y2 <= y1:
        return
    patch = heat[y1 - sy1 : y2 - sy1, x1 - sx1 : x2 - sx1]
    region = canvas[y1:y2, x1:x2]
    canvas[y1:y2, x1:x2] = cv2.addWeighted(region, 1.0 - HEAT_ALPHA, patch, HEAT_ALPHA, 0.0)


def _with_caption(canvas: np.ndarray, caption: str, scale: float) -> np.ndarray:
    """A dark strip under the picture with the verdict, so it never covers a face."""
    thickness = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(caption, FONT, scale, thickness)
    if tw + 8 > canvas.shape[1]:  # small pictures: shrink the text to fit the width
        scale *= (canvas.shape[1] - 8) / (tw + 8)
        thickness = 1
        (tw, th), base = cv2.getTextSize(caption, FONT, scale, thickness)
    strip = np.full((th + base + 10, canvas.shape[1], 3), 30, np.uint8)
    cv2.putText(strip, caption, (4, th + 5), FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return np.vstack([canvas, strip])


@dataclass(frozen=True)
class Mark:
    """One face to draw: its box in view pixels, its probability and band, and whether it is
    the most suspicious one (drawn thicker, under the heat map)."""

    box: FaceBox
    fake_probability: float
    verdict: Verdict
    worst: bool = False


@dataclass(frozen=True)
class Heat:
    """A Grad-CAM map ``cam`` [S,S] in 0..1 of the crop square ``square`` (view pixels), shown
    over the face ``box`` only."""

    cam: np.ndarray
    square: tuple[int, int, int, int]
    box: FaceBox


def render(view: np.ndarray, marks: list[Mark], *, caption: str, heat: Heat | None = None, quality: int = 90) -> bytes:
    """JPEG bytes of ``view`` (RGB) with the heat map, the boxed and scored faces, and a caption.

    Pure drawing: the caller (``Engine.annotate``) decides which frame, which faces and which
    thresholds, and runs Grad-CAM; this module never touches a model.
    """
    canvas = np.ascontiguousarray(view).copy()
    thickness = max(2, int(round(max(canvas.shape[:2]) / 400)))
    text_scale = max(0.5, max(canvas.shape[:2]) / 1400)
    if heat is not None:  # first, so boxes and labels stay readable on top of it
        _blend_heat(canvas, heat.cam, heat.square, heat.box)
    for mark in marks:
        colour = BAND_COLOURS.get(mark.verdict, BAND_COLOURS[Verdict.UNCERTAIN])
        box = mark.box
        cv2.rectangle(canvas, (box.x1, box.y1), (box.x2, box.y2), colour, thickness + int(mark.worst))
        _label(canvas, f"fake {mark.fake_probability:.0%}", box.x1, box.y1, colour, text_scale)
    canvas = _with_caption(canvas, caption, text_scale)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV refuses only absurd inputs
        raise ValueError("JPEG encoding failed")
    return jpeg.tobytes()


__all__ = ["BAND_COLOURS", "Heat", "Mark", "render"]
