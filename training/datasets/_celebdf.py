"""Celeb-DF v2: Celeb-real/, Celeb-synthesis/, YouTube-real/, List_of_testing_videos.txt.

Fakes are ``id<target>_id<source>_<clip>.mp4``; reals ``id<celeb>_<clip>.mp4`` (Celeb-real) or
``<clip>.mp4`` (YouTube-real). The official list (``<label> <folder>/<file>``, label 1 = real)
marks the test videos; the rest is split by identity, so one celebrity never straddles the split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from training.constants import FAKE, REAL
from training.datasets._base import DatasetError, Sample, require_dir

TEST_LIST = "List_of_testing_videos.txt"


def _test_videos(root: Path) -> set[str]:
    path = root / TEST_LIST
    if not path.exists():
        return set()
    out = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise DatasetError(f"{path}:{n}: expected '<0|1> <folder>/<file>', got {line!r}")
        out.add(parts[1].replace("\\", "/"))
    return out


def celebdf_samples(root: Path) -> Iterator[Sample]:
    root = require_dir(Path(root), "Celeb-DF v2 root")
    tests = _test_videos(root)
    found = False
    for folder, label in (("Celeb-real", REAL), ("YouTube-real", REAL), ("Celeb-synthesis", FAKE)):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.mp4")):
            found = True
            rel = f"{folder}/{path.name}"
            if folder == "YouTube-real":
                group = f"yt{path.stem}"
            else:
                group = path.stem.split("_")[0]  # the (target) identity: id<N>
            yield Sample(path, label, group, f"celebdf/{folder}", "video", "test" if rel in tests else None)
    if not found:
        raise DatasetError(f"{root}: no videos in Celeb-real/, YouTube-real/ or Celeb-synthesis/")
