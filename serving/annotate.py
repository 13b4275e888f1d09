"""The picture the bot sends back: faces boxed and scored, the most suspicious one with its
Grad-CAM heat map blended in (like Fig. 8 of the seed paper).

Drawn on the downscaled copy ``prepare(..., with_views=True)`` kept, so annotating a 4K frame
never needs the full-resolution pixels again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from serving.constants import Verdict
from serving.faces import FaceBox, crop_box
from serving.models import grad_cam, preprocess
from serving.result import CheckResult
from serving.verdict import band

if TYPE_CHECKING:
    from serving.engine import Engine, Prepared

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


def render(engine: "Engine", prepared: "Prepared", result: CheckResult, *, quality: int = 90) -> bytes:
    """JPEG bytes; raises ValueError when there is nothing to draw on (invalid input, no views)."""
    if isinstance(prepared, CheckResult) or result.verdict == Verdict.INVALID:
        raise ValueError("an invalid input has no picture to annotate")
    if not prepared.views:
        raise ValueError("nothing to annotate: prepare the input with with_views=True")
    if len(result.faces) != len(prepared.faces):
        raise ValueError("the result does not belong to this prepared input (face counts differ)")
    scale = prepared.view_scale
    if result.faces:
        worst = int(np.argmax([f.fake_probability for f in result.faces]))
        frame = prepared.faces[worst].frame
        frame = 0 if frame is None else frame
    else:
        worst, frame = -1, next(iter(prepared.views))
    if frame not in prepared.views:
        raise ValueError(f"frame {frame} was not kept for annotation")
    canvas = prepared.views[frame].copy()
    thickness = max(2, int(round(max(canvas.shape[:2]) / 400)))
    text_scale = max(0.5, max(canvas.shape[:2]) / 1400)
    thresholds = engine.thresholds_for(prepared.kind)

    if worst >= 0:
        # Heat map first, so boxes and labels stay readable on top of it.
        ckpt = engine.image_checkpoint
        x = preprocess(prepared.crops[worst : worst + 1], ckpt.card).to(engine.device)
        cam = grad_cam(ckpt.model, x)
        face = prepared.faces[worst]
        sq = crop_box(face.box, prepared.margin)
        square = tuple(int(round(v * scale)) for v in sq)
        _blend_heat(canvas, cam, square, face.box.scaled(scale))  # type: ignore[arg-type]

    for i, (face, scored) in enumerate(zip(prepared.faces, result.faces)):
        if (face.frame if face.frame is not None else 0) != frame:
            continue
        box = face.box.scaled(scale)
        colour = BAND_COLOURS[band(scored.fake_probability, thresholds)]
        cv2.rectangle(canvas, (box.x1, box.y1), (box.x2, box.y2), colour, thickness + (i == worst))
        _label(canvas, f"fake {scored.fake_probability:.0%}", box.x1, box.y1, colour, text_scale)

    if result.verdict == Verdict.NO_FACE:
        caption = "no face found"
    elif result.fake_probability is not None:
        caption = f"{result.verdict}: fake probability {result.fake_probability:.0%}"
    else:
        caption = str(result.verdict)
    if result.model is not None and not result.model.trained:
        caption += " (untrained model)"
    canvas = _with_caption(canvas, caption, text_scale)

    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV refuses only absurd inputs
        raise ValueError("JPEG encoding failed")
    return jpeg.tobytes()


__all__ = ["BAND_COLOURS", "render"]
