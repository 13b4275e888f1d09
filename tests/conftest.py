"""Fixtures every test area shares: where the real media is, and a quiet, small torch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

os.environ.setdefault("FAKEWATCH_ENVIRONMENT", "test")
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the real labelled media (read only, never copied into the repo)."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.fail(f"real media not found at {SHARED_DATA}; tests read ../shared/data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_videos(shared_data: Path) -> dict[str, Path]:
    """The six labelled clips by file stem, e.g. ``dfdc_lynaeydofd``."""
    return {p.stem: p for p in sorted((shared_data / "videos").glob("*/*.mp4"))}
