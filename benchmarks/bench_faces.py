"""Face detection figures: recall on people, speed on face-less photos, clips, and framing.

Not a test. Prints one JSON document (``--out`` also writes it):

    nice -n 5 .venv/bin/python benchmarks/bench_faces.py [--sections framing,photos,clips,no_face]
        [--per-cell 50] [--out benchmarks/results/faces-cpu2.json]

Detector configurations compared (``CONFIGS``): ``hog`` (the primary alone), ``hog+cnn`` (the
dlib CNN fallback, the 1.6.0 default), ``hog+mtcnn`` (the MTCNN fallback), ``mtcnn`` (the
fallback alone) and, on the shared face images only, ``cnn`` alone (slow).

* ``framing``: on shared face images where HOG and another detector find the same face, HOG's
  side over the other's box size and the centre shift; these are ``CNN_TO_HOG_*`` and
  ``MTCNN_TO_HOG_*`` in serving/faces/_detector.py. ``after_reframe`` is the IoU of the
  re-framed fallback box with HOG's box (how closely a fallback crop matches a HOG crop).
* ``photos``: share of images with at least one face found, per set of photos of people:
  the shared face images (dfdc, mesonet, stylegan, lfw-faceswap; each holds a face), the clips'
  sampled frames taken as stills, and sets built here from those (``small_in_scene``: a shared
  FFHQ/LFW photo shrunk so its face is 40-100 px and pasted into a 1280x960 face-less photo;
  ``tilted``: face photos rolled 25-40 degrees) plus the few photos of people that ship with
  installed packages (matplotlib's grace_hopper, scikit-image's astronaut, opencv-doc's messi5
  and basketball1/2, when present).
* ``clips``: faces found per sampled frame (32 frames) on the six shared clips through
  ``detect_frames`` with the engine's video detector, and its wall time.
* ``no_face``: face-less 1-2 MP photos, JPEG-encoded (quality 90), through ``Engine.check`` with
  the shipped models: median / p95 / max seconds of the whole check and of its decode and detect
  stages and the share where a face was
  (wrongly) found. The set (``no_face_set``): photos from installed Debian packages
  (mate-backgrounds nature photos; opencv-doc's sample photos), scikit-image's bundled photos,
  strips of the shared clips' frames away from every face, and procedurally drawn scenes, each
  resized to 1-2 MP (most upscaled: smoother than a camera's photo). Missing sources are
  skipped and listed.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
SHARED = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FACE_SOURCES = ("dfdc", "mesonet", "stylegan", "lfw-faceswap")
CONFIGS = ("hog", "hog+cnn", "hog+mtcnn", "mtcnn")
FRAMES = 32
NO_FACE_MEGAPIXELS = (1.0, 2.0)  # face-less photos are resized to a size drawn from this range
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_NO_FACE = (
    "aero1.jpg",
    "aero3.jpg",
    "aloeL.jpg",
    "apple.jpg",
    "baboon.jpg",
    "board.jpg",
    "box_in_scene.png",
    "building.jpg",
    "butterfly.jpg",
    "chicky_512.png",
    "ela_original.jpg",
    "fruits.jpg",
    "graf1.png",
    "home.jpg",
    "leuvenA.jpg",
    "leuvenB.jpg",
    "licenseplate_motion.jpg",
    "orange.jpg",
    "smarties.png",
    "squirrel_cls.jpg",
    "starry_night.jpg",
    "stuff.jpg",
)
OPENCV_PEOPLE = ("messi5.jpg", "basketball1.png", "basketball2.png")
MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
SKIMAGE_NO_FACE = (
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "brick",
    "grass",
    "gravel",
    "immunohistochemistry",
    "retina",
)


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _resize_area(rgb: np.ndarray, megapixels: float) -> np.ndarray:
    """``rgb`` resized (aspect kept) to about ``megapixels`` million pixels."""
    import cv2

    h, w = rgb.shape[:2]
    scale = (megapixels * 1e6 / (h * w)) ** 0.5
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    arr = np.asarray(values)
    return {
        "n": len(values),
        "median": round(float(np.median(arr)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
    }


# --- detectors ------------------------------------------------------------------------------
def _detectors(names: tuple[str, ...]) -> dict[str, Any]:
    from serving.faces import create_detector

    out: dict[str, Any] = {}
    for name in names:
        primary, _, fallback = name.partition("+")
        out[name] = create_detector(primary, fallback=fallback or None)
    return out


# --- sets of photos of people ----------------------------------------------------------------
def _face_files(per_cell: int) -> dict[str, list[Path]]:
    out = {}
    for source in FACE_SOURCES:
        for label in ("real", "fake"):
            files = sorted((SHARED / "faces" / source / label).glob("*.jpg"))
            step = max(1, len(files) // per_cell)
            out[f"{source}/{label}"] = files[::step][:per_cell]
    return out


def _clip_frames() -> dict[str, list[np.ndarray]]:
    """The frames the engine samples from each shared clip (its own intake and limits)."""
    from fakewatch.settings import get_settings
    from serving.intake import IntakeLimits, load_media

    limits = IntakeLimits.from_settings(get_settings())
    out = {}
    for path in sorted((SHARED / "videos").glob("*/*.mp4")):
        media = load_media(path, limits=limits, n_frames=FRAMES)
        out[path.stem] = [frame.image for frame in media.frames]
    return out


def _nature_photos() -> list[tuple[str, np.ndarray]]:
    out = []
    for path in sorted(MATE_NATURE.glob("*.jpg")):
        out.append((f"mate/{path.stem}", _rgb(path)))
    return out


def _people_built(rng: np.random.Generator, backgrounds: list[np.ndarray], n: int) -> dict[str, list[np.ndarray]]:
    """Photos of people built from the shared real face photos (FFHQ with hair, LFW with background)."""
    import cv2

    pool = sorted((SHARED / "faces" / "stylegan" / "real").glob("*.jpg"))[::7][: n // 2]
    pool += sorted((SHARED / "faces" / "lfw-faceswap" / "real").glob("*.jpg"))[::97][: n - len(pool)]
    small, tilted = [], []
    for i, path in enumerate(pool):
        face = _rgb(path)
        # The face spans about 55 % of an FFHQ image's side and 57 % of an LFW crop's.
        target = float(rng.uniform(40, 100))
        side = max(24, int(round(target / 0.56)))
        person = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        bg = backgrounds[i % len(backgrounds)]
        canvas = cv2.resize(bg, (1280, 960), interpolation=cv2.INTER_AREA).copy()
        x, y = int(rng.integers(0, 1280 - side)), int(rng.integers(0, 960 - side))
        canvas[y : y + side, x : x + side] = person
        small.append(canvas)
        angle = float(rng.uniform(25, 40)) * (1 if i % 2 else -1)
        h, w = face.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        tilted.append(cv2.warpAffine(face, matrix, (w, h), borderMode=cv2.BORDER_REFLECT))
    return {"small_in_scene": small, "tilted": tilted}


def _people_shipped() -> list[tuple[str, np.ndarray]]:
    out = []
    try:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
            from PIL import Image

            out.append(("grace_hopper", np.asarray(Image.open(handle).convert("RGB"))))
    except Exception:
        pass
    try:
        skimage = importlib.import_module("skimage")  # optional: used only when installed
        importlib.import_module("skimage.data")

        out.append(("astronaut", skimage.data.astronaut()))
    except Exception:
        pass
    for name in OPENCV_PEOPLE:
        if (OPENCV_DATA / name).exists():
            out.append((name, _rgb(OPENCV_DATA / name)))
    return out


# --- the face-less set -----------------------------------------------------------------------
def _procedural(rng: np.random.Generator, n: int) -> list[tuple[str, np.ndarray]]:
    """Drawn scenes: a sky-to-ground gradient, textured noise, rectangles, ellipses and lines."""
    import cv2

    out = []
    for i in range(n):
        h, w = 1000, 1500
        top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
        t = np.linspace(0, 1, h)[:, None, None]
        img = (top * (1 - t) + bottom * t).repeat(w, axis=1)
        noise = cv2.resize(rng.normal(0, 40, (h // 8, w // 8, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img + noise + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(10, 40))):
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            kind = int(rng.integers(0, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            if kind == 0:
                cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 400)), y + int(rng.integers(20, 300))), colour, -1)
            elif kind == 1:
                cv2.ellipse(
                    img,
                    (x, y),
                    (int(rng.integers(10, 200)), int(rng.integers(10, 200))),
                    float(rng.uniform(0, 180)),
                    0,
                    360,
                    colour,
                    -1,
                )
            else:
                end = (int(rng.integers(0, w)), int(rng.integers(0, h)))
                cv2.line(img, (x, y), end, colour, int(rng.integers(1, 8)))
        out.append((f"drawn/{i}", cv2.GaussianBlur(img, (0, 0), 1.0)))
    return out


def _clip_background_crops(
    frames: dict[str, list[np.ndarray]], detectors: dict[str, Any]
) -> list[tuple[str, np.ndarray]]:
    """The widest strips of each clip's frames that no detector's face box (grown 1.5 sides) touches."""
    out = []
    for clip, images in frames.items():
        w = images[0].shape[1]
        blocked = np.zeros(w, bool)
        for image in images[::4]:
            for detector in detectors.values():
                for box in detector.detect(image):
                    grow = int(box.side * 1.5)
                    blocked[max(0, box.x1 - grow) : min(w, box.x2 + grow)] = True
        # Every free run of columns at least 300 px wide, from a few frames.
        runs, start = [], None
        for x in range(w + 1):
            free = x < w and not blocked[x]
            if free and start is None:
                start = x
            elif not free and start is not None:
                if x - start >= 300:
                    runs.append((start, x))
                start = None
        for k, (x1, x2) in enumerate(runs):
            for j in (2, 9, 17, 24, 29):
                strip = images[min(j, len(images) - 1)][:, x1:x2]
                out.append((f"clip/{clip}/{k}/{j}", strip))
    return out


def _no_face_set(
    frames: dict[str, list[np.ndarray]], detectors: dict[str, Any], rng: np.random.Generator
) -> tuple[list[tuple[str, np.ndarray]], dict[str, Any]]:
    found: list[tuple[str, np.ndarray]] = []
    sources: dict[str, Any] = {}
    nature = _nature_photos()
    found += nature
    sources["mate-backgrounds nature photos (downscaled)"] = len(nature)
    opencv = [(f"opencv/{n}", _rgb(OPENCV_DATA / n)) for n in OPENCV_NO_FACE if (OPENCV_DATA / n).exists()]
    found += opencv
    sources["opencv-doc sample photos (upscaled)"] = len(opencv)
    try:
        skimage = importlib.import_module("skimage")  # optional: used only when installed
        importlib.import_module("skimage.data")

        ski = []
        for name in SKIMAGE_NO_FACE:
            try:
                loaded = getattr(skimage.data, name)()
            except Exception:
                continue
            rgb = np.asarray(loaded[0] if isinstance(loaded, tuple) else loaded)
            if rgb.ndim == 2:
                rgb = np.repeat(rgb[:, :, None], 3, axis=2)
            ski.append((f"skimage/{name}", rgb[:, :, :3].astype(np.uint8)))
        found += ski
        sources["scikit-image bundled photos (upscaled)"] = len(ski)
    except ImportError:
        sources["scikit-image bundled photos (upscaled)"] = "scikit-image not installed: skipped"
    crops = _clip_background_crops(frames, detectors)
    found += crops
    sources["shared clip frames, strips away from every face (upscaled)"] = len(crops)
    drawn = _procedural(rng, 12)
    found += drawn
    sources["procedurally drawn scenes"] = len(drawn)
    # Every photo at a size drawn uniformly from 1-2 megapixels (aspect kept).
    images = [(name, _resize_area(rgb, float(rng.uniform(*NO_FACE_MEGAPIXELS)))) for name, rgb in found]
    return images, sources


# --- sections --------------------------------------------------------------------------------
def _found_rate(detector: Any, images: list[np.ndarray]) -> dict[str, Any]:
    found = 0
    times = []
    for image in images:
        start = time.perf_counter()
        boxes = detector.detect(image)
        times.append(time.perf_counter() - start)
        found += bool(boxes)
    return {
        "n": len(images),
        "found": found,
        "rate": round(found / max(1, len(images)), 3),
        "median_s": round(float(np.median(times)), 4) if times else None,
    }


def section_framing(per_cell: int) -> dict[str, Any]:
    from serving.faces import CNN_TO_HOG_SCALE, CNN_TO_HOG_SHIFT, FaceBox, create_detector, mtcnn_to_hog, reframe

    hog, cnn, mtcnn = create_detector("hog"), create_detector("cnn"), create_detector("mtcnn")
    pairs: dict[str, list[tuple[float, ...]]] = {"cnn": [], "mtcnn": []}
    after: dict[str, list[float]] = {"cnn": [], "mtcnn": []}
    for files in _face_files(per_cell).values():
        for path in files:
            rgb = _rgb(path)
            hog_boxes = hog.detect(rgb)
            if not hog_boxes:
                continue
            h = hog_boxes[0]
            for name, raw in (("cnn", cnn.detect(rgb)), ("mtcnn", mtcnn.detect_raw(rgb))):
                if not raw or h.iou(raw[0]) <= 0.2:
                    continue
                b: FaceBox = raw[0]
                base = b.side if name == "cnn" else float(np.sqrt(b.width * b.height))
                pairs[name].append(
                    (h.side / base, (h.center[0] - b.center[0]) / base, (h.center[1] - b.center[1]) / base)
                )
                framed = (
                    reframe(b, CNN_TO_HOG_SCALE, CNN_TO_HOG_SHIFT, rgb.shape)
                    if name == "cnn"
                    else mtcnn_to_hog(b, rgb.shape)
                )
                after[name].append(h.iou(framed))
    out: dict[str, Any] = {"images_per_cell": per_cell}
    for name, rows in pairs.items():
        arr = np.asarray(rows)
        if not len(arr):
            continue
        q = np.percentile(arr, [25, 50, 75], axis=0)
        out[name] = {
            "pairs": len(arr),
            "basis": "box side" if name == "cnn" else "sqrt(width x height) of the box",
            "hog_side_over_basis": {
                "median": round(float(q[1, 0]), 3),
                "iqr": [round(float(q[0, 0]), 3), round(float(q[2, 0]), 3)],
            },
            "hog_centre_minus_centre_in_basis": [round(float(q[1, 1]), 3), round(float(q[1, 2]), 3)],
            "after_reframe_iou_with_hog": {
                "median": round(float(np.median(after[name])), 3),
                "p10": round(float(np.percentile(after[name], 10)), 3),
            },
        }
    return out


def section_photos(
    per_cell: int, cnn_per_cell: int, frames: dict[str, list[np.ndarray]], rng: np.random.Generator
) -> dict[str, Any]:
    detectors = _detectors(CONFIGS)
    sets: dict[str, list[np.ndarray]] = {}
    for cell, files in _face_files(per_cell).items():
        sets[f"shared/{cell}"] = [_rgb(p) for p in files]
    sets["clip_frames_as_stills"] = [image for images in frames.values() for image in images]
    backgrounds = [rgb for _, rgb in _nature_photos()] or [np.full((960, 1280, 3), 120, np.uint8)]
    sets.update(_people_built(rng, backgrounds, 40))
    shipped = _people_shipped()
    sets["photos_of_people_shipped_with_packages"] = [rgb for _, rgb in shipped]
    out: dict[str, Any] = {"sets": {}, "shipped_photos": [name for name, _ in shipped]}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, images in sets.items():
        row = {}
        for config, detector in detectors.items():
            row[config] = _found_rate(detector, images)
            totals[config][0] += row[config]["found"]
            totals[config][1] += row[config]["n"]
        out["sets"][name] = row
    out["all_sets"] = {
        c: {"n": n, "found": f, "no_face_rate": round(1 - f / max(1, n), 3)} for c, (f, n) in totals.items()
    }
    if cnn_per_cell:
        from serving.faces import create_detector

        cnn = create_detector("cnn")
        out["cnn_alone_on_shared"] = {
            cell: _found_rate(cnn, [_rgb(p) for p in files]) for cell, files in _face_files(cnn_per_cell).items()
        }
    return out


def section_clips(frames: dict[str, list[np.ndarray]], repeats: int) -> dict[str, Any]:
    from serving.faces import create_detector, detect_frames, link_tracks

    out: dict[str, Any] = {}
    configs: dict[str, Any] = {
        "hog": create_detector("hog"),
        "hog+mtcnn": create_detector("hog", fallback="mtcnn").video,
    }
    configs["hog+mtcnn"].warm(2)
    for clip, images in frames.items():
        row = {"frames": len(images), "size": f"{images[0].shape[1]}x{images[0].shape[0]}"}
        hog_boxes = None
        for name, detector in configs.items():
            times, cpu = [], []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                found = detect_frames(detector, images, workers=2)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            tracks = link_tracks(found)
            row[name] = {
                "frames_with_face": sum(bool(b) for b in found),
                "tracks": len(tracks),
                "detect_s_median": round(statistics.median(times), 3),
                "detect_cpu_s_median": round(statistics.median(cpu), 3),
            }
            if name == "hog":
                hog_boxes = found
            else:
                # Every box HOG found is still there, unchanged (crops of HOG's faces do not move).
                row[name]["hog_boxes_kept"] = all(set(h) <= set(f) for h, f in zip(hog_boxes or [], found))
        out[clip] = row
    return out


def section_no_face(frames: dict[str, list[np.ndarray]], rng: np.random.Generator, repeats: int) -> dict[str, Any]:
    from fakewatch.settings import get_settings
    from serving.engine import Engine

    detectors = _detectors(("hog", "hog+cnn", "hog+mtcnn"))
    images, sources = _no_face_set(frames, _detectors(("hog+cnn", "mtcnn")), rng)
    payloads = [(name, _jpeg(rgb)) for name, rgb in images]
    pixels = [rgb.shape[0] * rgb.shape[1] / 1e6 for _, rgb in images]
    out: dict[str, Any] = {
        "no_face_set": {
            "sources": sources,
            "n": len(images),
            "megapixels": [round(min(pixels), 2), round(max(pixels), 2)],
        }
    }
    for config, detector in detectors.items():
        engine = Engine(get_settings(), detector=detector).load()
        engine.check(payloads[0][1])  # warm-up: models, detector copies
        engine.check(_jpeg(np.full((900, 1200, 3), 128, np.uint8)))  # builds a lazy fallback (the CNN)
        check, cpu, detect, decode, false_faces = [], [], [], [], []
        for name, payload in payloads:
            runs: list[tuple[float, float, dict[str, float]]] = []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                result = engine.check(payload)
                stages = dict(result.timings_ms or {})
                runs.append((time.perf_counter() - start, time.process_time() - start_cpu, stages))
            runs.sort(key=lambda r: r[0])
            wall, cpu_s, stages = runs[len(runs) // 2]
            check.append(wall)
            cpu.append(cpu_s)
            detect.append(stages.get("detect", 0.0) / 1000)
            decode.append(stages.get("decode", 0.0) / 1000)
            if result.faces:
                false_faces.append(name)
        out[config] = {
            "check_s": _stats(check),
            "check_cpu_s": _stats(cpu),
            "detect_s": _stats(detect),
            "decode_s": _stats(decode),
            "faces_found_in": len(false_faces),
            "faces_found_rate": round(len(false_faces) / len(payloads), 3),
            "faces_found_examples": false_faces[:12],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="framing,photos,clips,no_face")
    parser.add_argument("--per-cell", type=int, default=50, help="shared face images per source and label")
    parser.add_argument("--cnn-per-cell", type=int, default=12, help="of those, how many dlib's CNN alone sees (slow)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sections already in --out (rerun timings on a quieter machine)",
    )
    opts = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)  # as the engine (DEFAULT_TORCH_THREADS)
    sections = [s for s in opts.sections.split(",") if s]
    report: dict[str, Any] = {}
    if opts.merge and opts.out and opts.out.exists():
        report = json.loads(opts.out.read_text())
    report.update({"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()})
    rng = np.random.default_rng(0)
    frames = _clip_frames() if {"photos", "clips", "no_face"} & set(sections) else {}
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "framing": lambda: section_framing(opts.per_cell),
        "photos": lambda: section_photos(opts.per_cell, opts.cnn_per_cell, frames, rng),
        "clips": lambda: section_clips(frames, opts.repeats),
        "no_face": lambda: section_no_face(frames, rng, opts.repeats),
    }
    for section in sections:
        started, load_before = time.perf_counter(), _load()
        report[section] = runners[section]()
        report[section]["load_average_before"] = load_before
        report[section]["load_average_after"] = _load()
        report[section]["section_s"] = round(time.perf_counter() - started, 1)
        print(f"[{section} done in {report[section]['section_s']} s, load {_load()}]", file=sys.stderr)
    text = json.dumps(report, indent=2)
    if opts.out:
        opts.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
