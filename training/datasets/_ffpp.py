"""FaceForensics++: original_sequences/youtube/<c>/videos and manipulated_sequences/<method>/<c>/videos.

Fakes are named ``<target>_<source>.mp4``; the official split files (``splits/train.json``,
``val.json``, ``test.json`` -- lists of ``[target, source]`` pairs) are honoured when present.
Groups keep the pair together: the two identities of a swap and their originals share a split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from training.constants import FAKE, REAL
from training.datasets._base import DatasetError, Sample, require_dir

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")
_SPLIT_FILES = {"train": "train.json", "val": "val.json", "test": "test.json"}


def _official_splits(root: Path) -> dict[str, str]:
    """Video id -> split from the official JSON lists (searched in root/ and root/splits/)."""
    owner: dict[str, str] = {}
    for split, name in _SPLIT_FILES.items():
        for folder in (root / "splits", root):
            path = folder / name
            if not path.exists():
                continue
            try:
                pairs = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}: not valid JSON: {exc}") from exc
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise DatasetError(f"{path}: expected [target, source] pairs, got {pair!r}")
                for vid in pair:
                    owner[str(vid)] = split
            break
    return owner


def _pair_group(a: str, b: str) -> str:
    return "_".join(sorted((a, b)))


def ffpp_samples(root: Path, *, compression: str = "c23", methods: tuple[str, ...] = FFPP_METHODS) -> Iterator[Sample]:
    root = require_dir(Path(root), "FaceForensics++ root")
    originals = require_dir(
        root / "original_sequences" / "youtube" / compression / "videos",
        f"FaceForensics++ original_sequences/youtube/{compression}/videos",
    )
    splits = _official_splits(root)
    partner: dict[str, str] = {}
    fakes: list[tuple[Path, str, str, str]] = []
    for method in methods:
        folder = root / "manipulated_sequences" / method / compression / "videos"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.mp4")):
            target, _, source = path.stem.partition("_")
            if not source:
                raise DatasetError(f"{path}: FF++ fakes are named <target>_<source>.mp4")
            partner.setdefault(target, source)
            partner.setdefault(source, target)
            fakes.append((path, target, source, method))
    for path in sorted(originals.glob("*.mp4")):
        vid = path.stem
        group = _pair_group(vid, partner[vid]) if vid in partner else vid
        yield Sample(path, REAL, group, "ffpp/original", "video", splits.get(vid))
    for path, target, source, method in fakes:
        split = splits.get(target) or splits.get(source)
        yield Sample(path, FAKE, _pair_group(target, source), f"ffpp/{method}", "video", split)
