"""Reports: ROC / reliability PNGs, per-source CSV, video-level metrics from per-frame items."""

from __future__ import annotations

import numpy as np

from training.reports import reliability, write_reports


def test_write_reports(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    probs = np.clip(labels * 0.6 + rng.random(200) * 0.4, 0, 1)
    meta = [{"source": "a" if i % 2 else "b", "video": f"v{i // 10}"} for i in range(200)]
    labels = np.array([labels[(i // 10) * 10] for i in range(200)])  # one label per video
    out = write_reports(tmp_path, labels, probs, meta, title="t")
    for name in ("roc.png", "reliability.png", "per_source.csv", "val_predictions.csv"):
        assert (tmp_path / name).stat().st_size > 0
    rows = (tmp_path / "per_source.csv").read_text().splitlines()
    assert rows[0].startswith("source,n,auc") and {r.split(",")[0] for r in rows[1:]} == {"all", "a", "b"}
    assert out["extra_metrics"]["video_level"]["n"] == 20


def test_reliability_of_a_calibrated_model_is_small():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)
    assert reliability(y, p)["ece"] < 0.02
    assert reliability(y, np.clip(p * 0.2, 0, 1))["ece"] > 0.2
