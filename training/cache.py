"""The face-crop cache: every image / sampled video frame through the engine's own detector and crop.

Why a cache: face detection is the slow part and identical across epochs and experiments, so it
runs once. Why the engine's code: a model must see at training time exactly the crops inference
will give it (the shared faces are cut differently per source; re-detecting removes that cue).

The manifest (CSV, one row per crop or per failed input) is appended as work finishes, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing as mp
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.constants import (
    CACHE_CROP_SIZE,
    CACHE_JPEG_QUALITY,
    LABEL_NAMES,
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    STATUS_ERROR,
    STATUS_NO_FACE,
    STATUS_OK,
)
from training.datasets import Sample

log = logging.getLogger(__name__)

MANIFEST_FIELDS_FULL = (*MANIFEST_FIELDS, "crop_impl")


def face_api():
    """``(create_detector, crop_face, FaceBox, impl_name)``: always the engine's own."""
    from serving.faces import FaceBox, create_detector, crop_face

    return create_detector, crop_face, FaceBox, "serving.faces"


def _impl_name(detector) -> str:
    return f"serving.faces:{getattr(detector, 'name', 'detector')}"


@dataclass(frozen=True)
class CacheConfig:
    detector: str = "hog"
    image_fallback: str = "cnn"  # as the engine: a CNN search where HOG finds no face in a still
    detect_max_side: int = 480
    min_face_px: int = 24
    margin: float = 0.25
    size: int = CACHE_CROP_SIZE
    frames_per_video: int = 32
    jpeg_quality: int = CACHE_JPEG_QUALITY


def sample_key(source: str, file: str) -> str:
    return f"{source}|{file}"


def read_manifest(cache_dir: Path) -> list[dict[str, str]]:
    path = Path(cache_dir) / MANIFEST_NAME
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def ok_rows(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in rows if row["status"] == STATUS_OK]


# --- worker side -----------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(config: CacheConfig, cache_dir: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    create_detector, crop_face, _face_box, impl = face_api()
    _WORKER.update(
        config=config,
        cache_dir=Path(cache_dir),
        detector=create_detector(
            config.detector,
            max_side=config.detect_max_side,
            min_face_px=config.min_face_px,
            fallback=config.image_fallback,
        ),
        crop_face=crop_face,
        impl=impl,
    )
    _WORKER["impl"] = _impl_name(_WORKER["detector"])


def _crop_name(sample: Sample, frame: int, track: int) -> str:
    stem = sample.path.stem
    return f"crops/{sample.source.replace('/', '_')}/{LABEL_NAMES[sample.label]}/{stem}_f{frame}_t{track}.jpg"


def _row(sample: Sample, file: str, status: str, *, frame: int = -1, track: int = -1, box=None, crop: str = "") -> dict:
    x1, y1, x2, y2 = (box.x1, box.y1, box.x2, box.y2) if box is not None else ("", "", "", "")
    return dict(
        source=sample.source,
        file=file,
        frame=frame,
        track=track,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        label=sample.label,
        group=sample.group,
        split=sample.split or "",
        status=status,
        crop=crop,
        crop_impl=_WORKER.get("impl", ""),
    )


def _save_crop(rgb: np.ndarray, box, sample: Sample, frame: int, track: int) -> str:
    config: CacheConfig = _WORKER["config"]
    crop = _WORKER["crop_face"](rgb, box, margin=config.margin, size=config.size)
    rel = _crop_name(sample, frame, track)
    out = _WORKER["cache_dir"] / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(crop).save(out, quality=config.jpeg_quality)
    return rel


def _largest(boxes):
    return max(boxes, key=lambda b: (b.x2 - b.x1) * (b.y2 - b.y1))


def _process_image(sample: Sample, file: str) -> list[dict]:
    with Image.open(sample.path) as image:
        rgb = np.asarray(image.convert("RGB"))
    boxes = _WORKER["detector"].detect(rgb)
    if not boxes:
        return [_row(sample, file, STATUS_NO_FACE)]
    box = _largest(boxes)  # a face dataset image shows one subject: keep the main face
    return [_row(sample, file, STATUS_OK, frame=0, track=0, box=box, crop=_save_crop(rgb, box, sample, 0, 0))]


def _process_video(sample: Sample, file: str) -> list[dict]:
    from serving.faces import detect_frames, link_tracks
    from serving.intake import IntakeLimits, load_media

    config: CacheConfig = _WORKER["config"]
    limits = IntakeLimits(
        max_file_bytes=500 * 1024 * 1024,
        max_image_pixels=40_000_000,
        max_video_seconds=3600.0,
        max_video_pixels=3840 * 2160,
        decode_timeout_s=300.0,
    )
    media = load_media(sample.path, limits=limits, n_frames=config.frames_per_video)
    # the engine's own video path: full search on keyframes, region search in between
    video_detector = getattr(_WORKER["detector"], "primary", _WORKER["detector"])  # as Engine.video_detector
    detections = detect_frames(video_detector, [frame.image for frame in media.frames], workers=1)
    tracks = link_tracks(detections)
    if not tracks:
        return [_row(sample, file, STATUS_NO_FACE)]
    by_index = {frame.index: frame for frame in media.frames}
    rows = []
    for track in tracks:
        for frame_index, box in zip(track.frames, track.boxes):
            crop = _save_crop(by_index[frame_index].image, box, sample, frame_index, track.id)
            rows.append(_row(sample, file, STATUS_OK, frame=frame_index, track=track.id, box=box, crop=crop))
    for row in rows:
        row["crop_impl"] = _impl_name(video_detector)
    return rows


def _process(item: tuple[Sample, str]) -> list[dict]:
    sample, file = item
    try:
        if sample.media == "video":
            return _process_video(sample, file)
        return _process_image(sample, file)
    except Exception as exc:  # one bad file must not stop a multi-hour job; it is recorded
        log.warning("cache: %s failed: %s", sample.path, exc)
        row = _row(sample, file, STATUS_ERROR)
        row["crop"] = f"{type(exc).__name__}: {exc}"[:200]
        return [row]


# --- driver ----------------------------------------------------------------------------


def _relative_file(sample: Sample, roots: Sequence[Path]) -> str:
    for root in roots:
        try:
            return sample.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return sample.path.resolve().as_posix()


def build_cache(
    samples: Iterable[Sample],
    cache_dir: Path,
    *,
    config: CacheConfig = CacheConfig(),
    workers: int = 2,
    roots: Sequence[Path] = (),
    progress: bool = True,
    redo_no_face: bool = False,
) -> dict[str, dict[str, float]]:
    """Crop every sample not yet in the manifest; return per-source counts and no-face rates.

    ``redo_no_face`` searches the inputs recorded as ``no_face`` again (e.g. after the detector
    gained its CNN fallback): their rows are dropped from the manifest first.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = cache_dir / MANIFEST_NAME
    if redo_no_face and manifest.exists():
        kept = [r for r in read_manifest(cache_dir) if r["status"] != STATUS_NO_FACE]
        tmp = manifest.with_suffix(".tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS_FULL, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
        tmp.replace(manifest)
    done = {sample_key(r["source"], r["file"]) for r in read_manifest(cache_dir)}
    todo = []
    for sample in samples:
        file = _relative_file(sample, roots)
        if sample_key(sample.source, file) not in done:
            todo.append((sample, file))
    new_file = not manifest.exists()
    with manifest.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS_FULL)
        if new_file:
            writer.writeheader()
        if todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="face crops", unit="file", disable=not progress)
            if workers <= 1:
                _init_worker(config, str(cache_dir))
                results: Iterable[list[dict]] = map(_process, todo)
                pool = None
            else:
                pool = mp.get_context("spawn").Pool(workers, _init_worker, (config, str(cache_dir)))
                results = pool.imap_unordered(_process, todo, chunksize=16)
            try:
                for rows in results:
                    writer.writerows(rows)
                    handle.flush()
                    bar.update(1)
            finally:
                bar.close()
                if pool is not None:
                    pool.close()
                    pool.join()
    return summarize(read_manifest(cache_dir))


def summarize(rows: Iterable[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Per source: inputs, crops, no-face and error counts, and the no-face rate."""
    per_input: dict[tuple[str, str], str] = {}
    crops: Counter[str] = Counter()
    for row in rows:
        key = (row["source"], row["file"])
        if row["status"] == STATUS_OK:
            crops[row["source"]] += 1
            per_input[key] = STATUS_OK
        else:
            per_input.setdefault(key, row["status"])
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for (source, _), status in per_input.items():
        counts[source][status] += 1
    report = {}
    for source, counter in sorted(counts.items()):
        n = sum(counter.values())
        report[source] = {
            "inputs": n,
            "crops": crops[source],
            "no_face": counter[STATUS_NO_FACE],
            "errors": counter[STATUS_ERROR],
            "no_face_rate": round(counter[STATUS_NO_FACE] / n, 4) if n else 0.0,
        }
    return report
