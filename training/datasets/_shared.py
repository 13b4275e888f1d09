"""../shared/data: faces/{dfdc,mesonet,stylegan,lfw-faceswap} and videos/, each with its own group rule.

* dfdc: ``labels.csv`` gives ``group`` = the source real video (a fake shares its original's group);
* mesonet: ``<video>_<frame>.jpg`` -> group ``<video>`` (frames of one video never straddle the split);
* stylegan: StyleGAN fakes and FFHQ photographs are independent files -> one group per file;
* lfw (folder ``lfw-faceswap``): ``labels.csv`` gives ``group`` = the file (LFW's names are gone,
  so one person's photos can straddle the split: some identity leakage within this source).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from training.constants import LABELS, SHARED_FACE_FOLDERS, SHARED_FACE_SOURCES
from training.datasets._base import DatasetError, Sample, require_dir
from training.datasets._folder import folder_samples


def mesonet_group(path: Path) -> str:
    """``123_45.jpg`` -> ``123``; a name without ``_`` is its own group."""
    stem = path.stem
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def shared_face_samples(root: Path, sources: Iterable[str] = SHARED_FACE_SOURCES) -> Iterator[Sample]:
    faces = require_dir(Path(root) / "faces", "shared data faces")
    for source in sources:
        if source not in SHARED_FACE_SOURCES:
            raise DatasetError(f"unknown shared face source {source!r}; known: {SHARED_FACE_SOURCES}")
        folder = require_dir(faces / SHARED_FACE_FOLDERS[source], f"shared data faces/{SHARED_FACE_FOLDERS[source]}")
        if source == "dfdc":
            yield from folder_samples(folder, source="dfdc")  # labels.csv carries the group
        elif source == "mesonet":
            for sample in folder_samples(folder, source="mesonet"):
                yield Sample(sample.path, sample.label, mesonet_group(sample.path), "mesonet", "image")
        else:
            yield from folder_samples(folder, source=source)


def shared_video_samples(root: Path) -> Iterator[Sample]:
    """The six clips; each is its own group (the FF++ real/fake pair share an identity: one group)."""
    videos = require_dir(Path(root) / "videos", "shared data videos")
    labels_csv = videos / "labels.csv"
    if not labels_csv.exists():
        raise DatasetError(f"{labels_csv} missing")
    with labels_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            path = videos / row["file"]
            stem = path.stem
            group = stem.removesuffix("_real").removesuffix("_fake")
            yield Sample(path, LABELS[row["label"].strip()], group, "videos", "video")
