"""Pseudo-clips look like a moving, re-compressed face and keep their crop's label and group."""

from __future__ import annotations

import numpy as np
import pytest

from training.pseudoclips import plan_clips, render_clip, smooth_path


def test_render_shape_and_motion():
    rng = np.random.default_rng(0)
    still = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
    clip = render_clip([still], 10, 48, np.random.default_rng(1))
    assert clip.shape == (10, 48, 48, 3) and clip.dtype == np.uint8
    diffs = [np.abs(clip[t].astype(int) - clip[t + 1]).mean() for t in range(9)]
    assert all(d > 0 for d in diffs)  # every frame moves


def test_smooth_path_is_smooth():
    path = smooth_path(32, np.random.default_rng(0), 1.0)
    assert np.abs(path).max() <= 1.0 + 1e-9
    assert np.abs(np.diff(path)).max() < 0.5  # no jumps


def test_plan_keeps_labels_groups_and_sequences():
    rows = [
        {
            "source": "mesonet",
            "file": f"faces/mesonet/fake/12_{i}.jpg",
            "crop": f"c{i}.jpg",
            "label": "1",
            "group": "12",
        }
        for i in range(20)
    ]
    rows += [{"source": "dfdc", "file": "faces/dfdc/real/a.jpg", "crop": "a.jpg", "label": "0", "group": "a.mp4"}]
    specs = plan_clips(rows, per_crop=1.0, seed=0)
    still = [s for s in specs if s.kind == "still"]
    seq = [s for s in specs if s.kind == "sequence"]
    assert len(still) == 21
    assert seq and all(s.label == 1 and s.group == "12" and len(s.crops) == 8 for s in seq)
    assert seq[0].crops[0] == "c0.jpg" and seq[0].crops[1] == "c1.jpg"  # frame order
    with pytest.raises(ValueError):
        render_clip([], 4, 16, np.random.default_rng(0))
