"""Balanced sampling over the crop cache (training.data)."""

from __future__ import annotations

import pytest

from training.data import balanced_weights


def _rows(counts: dict[tuple[str, str], int]) -> list[dict[str, str]]:
    return [{"source": s, "label": label} for (s, label), n in counts.items() for _ in range(n)]


def _mass(rows, weights, **match) -> float:
    return float(sum(w for r, w in zip(rows, weights) if all(r[k] == v for k, v in match.items())))


def test_labels_equal_within_a_source_and_sources_equal_at_temperature_zero():
    rows = _rows({("dfdc", "0"): 600, ("dfdc", "1"): 200, ("stylegan", "0"): 30, ("stylegan", "1"): 70})
    w = balanced_weights(rows, source_temperature=0.0)
    assert float(w.sum()) == pytest.approx(1.0)
    assert _mass(rows, w, source="dfdc") == pytest.approx(0.5)
    assert _mass(rows, w, source="stylegan", label="0") == pytest.approx(_mass(rows, w, source="stylegan", label="1"))


def test_source_weights_multiply_a_source_share():
    rows = _rows({("dfdc", "0"): 600, ("dfdc", "1"): 200, ("stylegan", "0"): 30, ("stylegan", "1"): 70})
    w = balanced_weights(rows, source_temperature=0.0, source_weights={"stylegan": 2.0})
    assert _mass(rows, w, source="stylegan") == pytest.approx(2 / 3)
    # labels stay balanced inside the up-weighted source
    assert _mass(rows, w, source="stylegan", label="1") == pytest.approx(1 / 3)


def test_source_weights_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        balanced_weights(_rows({("dfdc", "0"): 2, ("dfdc", "1"): 2}), source_weights={"dfdc": 0.0})
