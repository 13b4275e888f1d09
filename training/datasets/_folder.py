"""A plain folder: ``real/`` and ``fake/`` (images or videos), optional ``labels.csv`` with a group."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from training.constants import IMAGE_SUFFIXES, LABELS, VIDEO_SUFFIXES
from training.datasets._base import DatasetError, Sample, require_dir


def media_type(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def read_labels_csv(path: Path) -> dict[str, dict[str, str]]:
    """``labels.csv`` rows keyed by their ``file`` column (relative to the folder)."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "file" not in reader.fieldnames:
            raise DatasetError(f"{path}: needs a header with at least a 'file' column")
        return {row["file"].strip(): row for row in reader}


def folder_samples(root: Path, *, source: str | None = None) -> Iterator[Sample]:
    """Every image/video under ``root/real`` and ``root/fake``.

    Without a ``group`` in labels.csv each file is its own group (independent files, such as
    FFHQ photographs); with one, files sharing it stay on one side of the split.
    """
    root = require_dir(Path(root), "plain folder")
    source = source or root.name
    labels_csv = root / "labels.csv"
    rows = read_labels_csv(labels_csv) if labels_csv.exists() else {}
    found = False
    for label_name, label in LABELS.items():
        folder = root / label_name
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            kind = media_type(path)
            if kind is None or not path.is_file():
                continue
            found = True
            rel = path.relative_to(root).as_posix()
            row = rows.get(rel, {})
            if row.get("label") and row["label"].strip() not in LABELS:
                raise DatasetError(f"{labels_csv}: unknown label {row['label']!r} for {rel}")
            row_label = LABELS.get(row.get("label", "").strip(), label)
            if row_label != label:
                raise DatasetError(f"{labels_csv}: {rel} is under {label_name}/ but labelled {row['label']}")
            group = (row.get("group") or "").strip() or rel
            yield Sample(path=path, label=label, group=group, source=source, media=kind)  # type: ignore[arg-type]
    if not found:
        raise DatasetError(f"{root}: no images or videos under real/ or fake/")
