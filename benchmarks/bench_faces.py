"""Face detection figures: the CNN fallback's framing relative to HOG, its cost, and what it finds.

Not a test. Prints one JSON document:

    .venv/bin/python benchmarks/bench_faces.py [--per-cell 60] [--out results.json]

* ``framing``: on ../shared/data face images where both HOG and the CNN find the face, the median
  ratio HOG side / CNN side and the median HOG-centre minus CNN-centre in CNN sides; these are
  ``serving.faces._detector.CNN_TO_HOG_SCALE`` / ``CNN_TO_HOG_SHIFT``.
* ``no_face_rescued``: per source and label, of the images HOG finds no face in, the share the
  fallback finds one in.
* ``fallback_ms``: what the fallback adds when it runs (a small crop, and a 1280x720 photo
  without a face: the worst case a user can trigger).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
SHARED = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _files(per_cell: int) -> dict[tuple[str, str], list[Path]]:
    out = {}
    for source in ("dfdc", "mesonet", "stylegan"):
        for label in ("real", "fake"):
            files = sorted((SHARED / "faces" / source / label).glob("*.jpg"))
            step = max(1, len(files) // per_cell)
            out[(source, label)] = files[::step][:per_cell]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=60, help="images per source and label")
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args(argv)

    import cv2

    from serving.faces import FallbackDetector, create_detector

    hog = create_detector("hog")
    cnn = create_detector("cnn")
    scales, shifts_x, shifts_y = [], [], []
    missed: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # cell -> [HOG found none, CNN found]
    for (source, label), files in _files(opts.per_cell).items():
        for path in files:
            rgb = _rgb(path)
            h_boxes, c_boxes = hog.detect(rgb), cnn.detect(rgb)
            if h_boxes and c_boxes:
                h, c = h_boxes[0], c_boxes[0]
                if h.iou(c) > 0.2:
                    scales.append(h.side / c.side)
                    shifts_x.append((h.center[0] - c.center[0]) / c.side)
                    shifts_y.append((h.center[1] - c.center[1]) / c.side)
            elif not h_boxes:
                cell = missed[f"{source}/{label}"]
                cell[0] += 1
                cell[1] += bool(c_boxes)

    fallback = FallbackDetector(hog, "cnn")
    fallback.warm(1)
    small = _rgb(sorted((SHARED / "faces" / "dfdc" / "fake").glob("*.jpg"))[0])
    faceless_small = np.ascontiguousarray(np.rot90(cv2.GaussianBlur(small, (0, 0), 8)))
    rng = np.random.default_rng(0)
    faceless_photo = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    timings = {}
    for name, image in (("crop_224_no_face", faceless_small), ("photo_1280x720_no_face", faceless_photo)):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            fallback.detect(image)
            runs.append((time.perf_counter() - start) * 1000)
        timings[name] = round(float(np.median(runs)), 1)
        start = time.perf_counter()
        hog.detect(image)
        timings[name + "_hog_only"] = round((time.perf_counter() - start) * 1000, 1)

    report = {
        "images_per_cell": opts.per_cell,
        "framing": {
            "pairs": len(scales),
            "hog_side_over_cnn_side": round(float(np.median(scales)), 3) if scales else None,
            "hog_centre_minus_cnn_centre_in_cnn_sides": [round(float(np.median(shifts_x)), 3),
                                                         round(float(np.median(shifts_y)), 3)] if scales else None,
        },
        "no_face_rescued": {
            cell: {"hog_no_face": n, "cnn_found": found, "rescued": round(found / n, 3) if n else None}
            for cell, (n, found) in sorted(missed.items())
        },
        "fallback_ms": timings,
    }
    text = json.dumps(report, indent=2)
    if opts.out:
        opts.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
