"""DFDC: dfdc_train_part_*/metadata.json with ``{file: {label: REAL|FAKE, original: file|null}}``.

A fake's group is its ``original`` real video, so a swap and its source never straddle the split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from training.constants import FAKE, REAL
from training.datasets._base import DatasetError, Sample, require_dir


def dfdc_samples(root: Path) -> Iterator[Sample]:
    root = require_dir(Path(root), "DFDC root")
    parts = sorted(p for p in root.glob("dfdc_train_part_*") if p.is_dir())
    if not parts:
        raise DatasetError(f"{root}: no dfdc_train_part_*/ directories")
    for part in parts:
        meta_path = part / "metadata.json"
        if not meta_path.exists():
            raise DatasetError(f"{meta_path} missing")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{meta_path}: not valid JSON: {exc}") from exc
        for name, info in sorted(meta.items()):
            label_name = str(info.get("label", "")).upper()
            if label_name not in ("REAL", "FAKE"):
                raise DatasetError(f"{meta_path}: {name} has label {info.get('label')!r}")
            path = part / name
            if not path.exists():
                continue  # metadata lists every clip of the part; a partial download is fine
            label = FAKE if label_name == "FAKE" else REAL
            original = info.get("original") if label == FAKE else None
            if label == FAKE and not original:
                raise DatasetError(f"{meta_path}: fake {name} has no 'original'")
            yield Sample(path, label, str(original or name), "dfdc_videos", "video")
