"""A small real face-crop cache built once per session from ../shared/data (engine detector)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_cache(shared_data: Path, tmp_path_factory) -> Path:
    """Crops of a few real and fake faces per source, split by group, plus one shared video."""
    from training.cache import CacheConfig, build_cache
    from training.datasets import collect_samples

    cache = tmp_path_factory.mktemp("cache")
    samples, roots = collect_samples(
        shared_data=shared_data, shared_sources=("dfdc", "mesonet", "stylegan"), limit=14, val_fraction=0.4
    )
    build_cache(samples, cache, config=CacheConfig(size=64, frames_per_video=8), workers=1, roots=roots, progress=False)
    return cache
