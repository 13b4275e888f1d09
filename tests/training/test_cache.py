"""The crop cache: the engine's detector and crop, no-face recorded, resumable, per-source rates."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from training.cache import CacheConfig, build_cache, read_manifest, summarize
from training.datasets import collect_samples


def test_cache_records_no_face_and_resumes(shared_data: Path, tmp_path: Path):
    root = tmp_path / "folder"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    face = sorted((shared_data / "faces/stylegan/real").glob("*.jpg"))[0]
    shutil.copy(face, root / "real" / "face.jpg")  # a temporary copy, outside the repo
    cv2.imwrite(str(root / "fake" / "flat.png"), np.full((120, 160, 3), 127, np.uint8))
    samples, roots = collect_samples(folders=[root])
    cache = tmp_path / "cache"
    report = build_cache(samples, cache, config=CacheConfig(size=64), workers=1, roots=roots, progress=False)
    assert report["folder"]["inputs"] == 2 and report["folder"]["no_face"] == 1
    assert report["folder"]["no_face_rate"] == 0.5
    rows = read_manifest(cache)
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 1 and ok[0]["crop_impl"] == "serving.faces:hog+cnn"  # the engine's still-image detector
    crop = cv2.imread(str(cache / ok[0]["crop"]))
    assert crop.shape == (64, 64, 3)
    x1, y1, x2, y2 = (int(ok[0][k]) for k in ("x1", "y1", "x2", "y2"))
    assert 0 <= x1 < x2 and 0 <= y1 < y2
    build_cache(samples, cache, config=CacheConfig(size=64), workers=1, roots=roots, progress=False)
    assert len(read_manifest(cache)) == len(rows)  # nothing redone


def test_redo_no_face_searches_again_with_the_fallback(shared_data: Path, tmp_path: Path):
    root = tmp_path / "folder"
    (root / "fake").mkdir(parents=True)
    (root / "real").mkdir()
    # a DFDC fake face that HOG misses and dlib's CNN finds (see tests/serving/test_faces_detector.py)
    shutil.copy(shared_data / "faces/dfdc/fake/acbqitgkie.jpg", root / "fake" / "turned.jpg")
    shutil.copy(sorted((shared_data / "faces/stylegan/real").glob("*.jpg"))[0], root / "real" / "face.jpg")
    samples, roots = collect_samples(folders=[root])
    cache = tmp_path / "cache"
    hog_only = CacheConfig(size=64, image_fallback="none")
    report = build_cache(samples, cache, config=hog_only, workers=1, roots=roots, progress=False)
    assert report["folder"]["no_face"] == 1
    build_cache(samples, cache, config=CacheConfig(size=64), workers=1, roots=roots, progress=False)
    assert summarize(read_manifest(cache))["folder"]["no_face"] == 1  # resuming redoes nothing
    report = build_cache(
        samples, cache, config=CacheConfig(size=64), workers=1, roots=roots, progress=False, redo_no_face=True
    )
    assert report["folder"] == {"inputs": 2, "crops": 2, "no_face": 0, "errors": 0, "no_face_rate": 0.0}
    rows = read_manifest(cache)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}


def test_tiny_cache_has_all_sources_and_splits(tiny_cache: Path):
    rows = read_manifest(tiny_cache)
    ok = [r for r in rows if r["status"] == "ok"]
    assert {r["source"] for r in ok} == {"dfdc", "mesonet", "stylegan"}
    assert {r["split"] for r in ok} == {"train", "val"}
    assert {r["label"] for r in ok} == {"0", "1"}
