"""Per-source scores and the leave-one-source-out (LOSO) matrix.

In-distribution validation says little about the fakes people forward: a model is judged by
the source it never saw. ``loso`` trains once per held-out source on all the others (the same
recipe, shorter) and scores the held-out source in full; recipes are compared by their worst
held-out source. ``score_sources`` scores one checkpoint per source (AUC, log loss, ECE).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from serving.metrics import binary_metrics
from training.cache import read_manifest
from training.constants import STATUS_OK
from training.data import read_crop, to_tensor
from training.reports import reliability

log = logging.getLogger(__name__)

BATCH = 64


def pick_rows(
    cache_dir: Path, source: str, *, splits: Sequence[str] = ("train", "val", "test"), per_label: int = 0, seed: int = 0
) -> list[dict[str, str]]:
    """OK crops of ``source`` in ``splits``; at most ``per_label`` per label, drawn evenly by group.

    Drawing whole groups in a seeded order keeps one DFDC video's hundred frames from filling
    the sample (what the first N rows would do).
    """
    rows = [r for r in read_manifest(cache_dir) if r["status"] == STATUS_OK and r["source"] == source]
    rows = [r for r in rows if r["split"] in splits]
    if not per_label:
        return rows
    rng = np.random.default_rng(seed)
    kept: list[dict[str, str]] = []
    for label in sorted({r["label"] for r in rows}):
        by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in rows:
            if r["label"] == label:
                by_group[r["group"]].append(r)
        groups = sorted(by_group)
        rng.shuffle(groups)
        queues = [list(by_group[g]) for g in groups]
        for q in queues:
            rng.shuffle(q)
        chosen: list[dict[str, str]] = []
        while len(chosen) < per_label and any(queues):  # round-robin over groups
            for q in queues:
                if q and len(chosen) < per_label:
                    chosen.append(q.pop())
        kept += chosen
    return kept


def score_rows(checkpoint_dir: Path, cache_dir: Path, rows: list[dict[str, str]]) -> np.ndarray:
    """Calibrated fake probabilities of a checkpoint on cached crops (as the engine scores a face)."""
    from serving.models import image_logits, load_checkpoint

    ckpt = load_checkpoint(checkpoint_dir)
    card = ckpt.card
    size = int(card.input_size or 128)
    mean, std = np.asarray(card.mean, np.float32), np.asarray(card.std, np.float32)
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(rows), BATCH):
            batch = [to_tensor(read_crop(cache_dir, r["crop"]), size, mean, std) for r in rows[start : start + BATCH]]
            if not batch:
                continue
            logits = image_logits(ckpt.model, torch.stack(batch), card)
            out.append(torch.sigmoid(logits / float(card.temperature)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def source_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """AUC, log loss, accuracy at 0.5 and expected calibration error, rounded for reports."""
    m = binary_metrics(labels, probs)
    if m["n"]:
        m["ece"] = reliability(np.asarray(labels), np.asarray(probs, np.float64))["ece"]
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}


def score_sources(
    checkpoint_dir: Path,
    cache_dir: Path,
    sources: Sequence[str],
    *,
    splits: Sequence[str] = ("val",),
    per_label: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per source: the checkpoint's metrics on that source's crops of ``splits``."""
    report: dict[str, dict[str, Any]] = {}
    for source in sources:
        rows = pick_rows(cache_dir, source, splits=splits, per_label=per_label)
        if not rows:
            report[source] = {"n": 0}
            continue
        probs = score_rows(checkpoint_dir, cache_dir, rows)
        labels = np.array([int(r["label"]) for r in rows])
        report[source] = source_metrics(labels, probs)
    return report


def worst(folds: dict[str, dict[str, Any]], key: str = "auc") -> dict[str, Any]:
    """The held-out source with the lowest AUC (or highest log loss): what a recipe is judged by."""
    scored = {s: f["held_out"] for s, f in folds.items() if f.get("held_out", {}).get(key) is not None}
    if not scored:
        return {}
    pick = max if key == "log_loss" else min
    source = pick(scored, key=lambda s: scored[s][key])
    return {"source": source, key: scored[source][key]}


def run_loso(
    config_path: Path,
    *,
    sources: Sequence[str],
    recipe: str,
    runs_dir: Path,
    per_label: int,
    overrides: Sequence[str] = (),
    only: Sequence[str] = (),
) -> dict[str, Any]:
    """Train once per held-out source on the others, score the held-out source; one recipe's row.

    ``only``: run just these folds (an ablation on the fold that decides), still training on
    every other source of ``sources``.
    """
    from training.config import load_config
    from training.train import run_training

    folds: dict[str, dict[str, Any]] = {}
    for held_out in only or sources:
        seen = [s for s in sources if s != held_out]
        config = load_config(
            config_path,
            overrides=[
                *overrides,
                f"data.sources=[{', '.join(seen)}]",
                "export.directory=null",
                f"name={recipe}-without-{held_out}",
            ],
        )
        started = time.time()
        run_dir = runs_dir / recipe / f"without-{held_out}"
        summary = run_training(config, out_dir=run_dir)
        checkpoint = Path(summary["checkpoint"])
        rows = pick_rows(config.data.cache_dir, held_out, per_label=per_label)
        labels = np.array([int(r["label"]) for r in rows])
        held = source_metrics(labels, score_rows(checkpoint, config.data.cache_dir, rows))
        seen_scores = score_sources(checkpoint, config.data.cache_dir, seen, splits=("val",), per_label=per_label)
        folds[held_out] = {
            "trained_on": seen,
            "held_out": held,
            "seen_validation": seen_scores,
            "minutes": round((time.time() - started) / 60, 1),
            "run_dir": str(run_dir),
        }
        log.info("%s without %s: held-out %s", recipe, held_out, held)
    return {
        "config": str(config_path),
        "overrides": list(overrides),
        "per_label": per_label,
        "folds": folds,
        "worst_auc": worst(folds, "auc"),
        "worst_log_loss": worst(folds, "log_loss"),
    }


def merge_report(path: Path, recipe: str, row: dict[str, Any]) -> dict[str, Any]:
    """Add (or replace) one recipe's row in the JSON report, so recipes run separately compare.

    A row run with ``--only`` keeps the folds the report already has for the same recipe run the
    same way (config, overrides, crops per label), so a matrix can be filled a fold at a time;
    a recipe run another way replaces its row.
    """
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    report.setdefault("what", "leave-one-source-out: train on all shared sources but one, score the one left out")
    recipes = report.setdefault("recipes", {})
    old = recipes.get(recipe)
    same_way = ("config", "overrides", "per_label")
    if old and all(old.get(k) == row.get(k) for k in same_way):
        folds = {**old["folds"], **row["folds"]}
        row = {**row, "folds": folds, "worst_auc": worst(folds, "auc"), "worst_log_loss": worst(folds, "log_loss")}
    recipes[recipe] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def loso_plot(report: dict[str, Any], out_png: Path) -> None:
    """Two heat maps (held-out AUC, held-out log loss): recipes down, held-out sources across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recipes = list(report.get("recipes", {}))
    sources = sorted({s for r in recipes for s in report["recipes"][r]["folds"]})
    if not recipes or not sources:
        return
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.4 * len(sources) * 2, 1.2 + 0.6 * len(recipes)))
    for ax, key, cmap, lims in ((axes[0], "auc", "RdYlGn", (0.4, 1.0)), (axes[1], "log_loss", "RdYlGn_r", (0.2, 1.4))):
        grid = np.full((len(recipes), len(sources)), np.nan)
        for i, r in enumerate(recipes):
            for j, s in enumerate(sources):
                value = report["recipes"][r]["folds"].get(s, {}).get("held_out", {}).get(key)
                grid[i, j] = np.nan if value is None else value
        ax.imshow(grid, cmap=cmap, vmin=lims[0], vmax=lims[1], aspect="auto")
        for i in range(len(recipes)):
            for j in range(len(sources)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(sources)), [f"without {s}" for s in sources], rotation=20, fontsize=8)
        ax.set_yticks(range(len(recipes)), recipes, fontsize=8)
        ax.set_title(f"held-out {key.replace('_', ' ')}", fontsize=10)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
