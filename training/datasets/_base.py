"""What every dataset adapter yields: labelled media files with the group they must not leak across."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from training.constants import DEFAULT_VAL_FRACTION, SPLIT_SALT

MediaType = Literal["image", "video"]


class DatasetError(Exception):
    """A dataset tree is missing, incomplete or not in the layout its adapter expects."""


@dataclass(frozen=True)
class Sample:
    """One labelled file.

    ``group`` is what must stay on one side of a train/validation split (source video,
    identity, real/fake pair); two samples with the same group always share a split.
    ``split`` is set when the dataset ships an official split, else ``None``.
    """

    path: Path
    label: int  # 0 real, 1 fake
    group: str
    source: str  # dataset / sub-source name, e.g. "dfdc", "ffpp/Deepfakes"
    media: MediaType = "image"
    split: str | None = None

    def with_split(self, split: str) -> Sample:
        return replace(self, split=split)


def group_split(group: str, *, val_fraction: float = DEFAULT_VAL_FRACTION, salt: str = SPLIT_SALT) -> str:
    """``"val"`` or ``"train"`` from a hash of the group: stable across runs and machines.

    Hashing the group (not the file) is what keeps one person/video on one side.
    """
    digest = hashlib.sha256(f"{salt}:{group}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if bucket < val_fraction else "train"


def assign_splits(samples: Iterable[Sample], *, val_fraction: float = DEFAULT_VAL_FRACTION) -> Iterator[Sample]:
    """Keep official splits; give every other sample the split of its group."""
    for sample in samples:
        if sample.split is not None:
            yield sample
        else:
            yield sample.with_split(group_split(f"{sample.source}:{sample.group}", val_fraction=val_fraction))


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what}: expected a directory at {path}")
    return path
