"""Gather samples from every dataset the user pointed at, with group-wise splits assigned."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from training.datasets._base import DatasetError, Sample, assign_splits
from training.datasets._folder import folder_samples
from training.datasets._shared import shared_face_samples, shared_video_samples


def collect_samples(
    *,
    shared_data: Path | None = None,
    shared_sources: Sequence[str] = ("dfdc", "mesonet", "stylegan", "videos"),
    folders: Sequence[Path] = (),
    ffpp: Path | None = None,
    ffpp_compression: str = "c23",
    celebdf: Path | None = None,
    dfdc: Path | None = None,
    val_fraction: float = 0.15,
    limit: int = 0,
) -> tuple[list[Sample], list[Path]]:
    """All samples (split assigned) and the roots their manifest paths are relative to."""
    samples: list[Sample] = []
    roots: list[Path] = []
    if shared_data is not None:
        face_sources = [s for s in shared_sources if s != "videos"]
        if face_sources:
            samples += shared_face_samples(shared_data, face_sources)
        if "videos" in shared_sources:
            samples += shared_video_samples(shared_data)
        roots.append(Path(shared_data))
    for folder in folders:
        samples += folder_samples(folder)
        roots.append(Path(folder))
    if ffpp is not None:
        from training.datasets._ffpp import ffpp_samples

        samples += ffpp_samples(ffpp, compression=ffpp_compression)
        roots.append(Path(ffpp))
    if celebdf is not None:
        from training.datasets._celebdf import celebdf_samples

        samples += celebdf_samples(celebdf)
        roots.append(Path(celebdf))
    if dfdc is not None:
        from training.datasets._dfdc import dfdc_samples

        samples += dfdc_samples(dfdc)
        roots.append(Path(dfdc))
    if not samples:
        raise DatasetError("no dataset given: pass --shared-data, --folder, --ffpp, --celebdf or --dfdc")
    if limit:
        per_source: dict[tuple[str, int], int] = defaultdict(int)
        kept = []
        for sample in samples:
            if per_source[(sample.source, sample.label)] < limit:
                per_source[(sample.source, sample.label)] += 1
                kept.append(sample)
        samples = kept
    return list(assign_splits(samples, val_fraction=val_fraction)), roots
