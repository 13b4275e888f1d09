"""``fakewatch scan`` and ``fakewatch evaluate``: the engine from a shell.

``scan --json`` prints exactly one ``CheckResult.to_json()`` object per input line and exits 0
even when inputs are invalid, because other tools parse it line by line. ``evaluate`` measures
the engine on a ``real/`` + ``fake/`` folder with numpy-only metrics (no sklearn dependency).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from serving.contract import CheckResult, ErrorCode, Verdict
from serving.metrics import log_loss, roc_auc

DECISION_THRESHOLD = 0.5  # evaluate's accuracy: "fake" when p >= 0.5
LABELS = ("real", "fake")  # label 0, label 1


# --- metrics ---------------------------------------------------------------------------------
def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """n, AUC, accuracy, balanced accuracy, log loss, no-face rate from per-file rows.

    Scores exist only for files with a face; no_face and invalid files are counted, not scored.
    """
    scored = [r for r in rows if r["fake_probability"] is not None]
    y = np.array([r["label"] for r in scored], dtype=np.int64)
    p = np.array([r["fake_probability"] for r in scored], dtype=np.float64)
    pred = (p >= DECISION_THRESHOLD).astype(np.int64)
    recalls = [float((pred[y == c] == c).mean()) for c in (0, 1) if (y == c).any()]
    n = len(rows)

    def _num(value: float | None) -> float | None:
        return None if value is None or not math.isfinite(value) else round(value, 6)

    return {
        "n": n,
        "n_real": sum(1 for r in rows if r["label"] == 0),
        "n_fake": sum(1 for r in rows if r["label"] == 1),
        "n_scored": len(scored),
        "auc": _num(roc_auc(y, p)),
        "accuracy": _num(float((pred == y).mean())) if len(scored) else None,
        "balanced_accuracy": _num(float(np.mean(recalls))) if len(recalls) == 2 else None,
        "log_loss": _num(log_loss(y, p)),
        "no_face_rate": _num(sum(r["verdict"] == Verdict.NO_FACE for r in rows) / n) if n else None,
        "invalid": sum(1 for r in rows if r["verdict"] == Verdict.INVALID),
        "decision_threshold": DECISION_THRESHOLD,
    }


# --- shared -----------------------------------------------------------------------------------
def _engine(frames: int | None, detector: str | None) -> Any:
    from serving.engine import Engine  # torch, dlib: only once arguments are valid

    # Build the networks before the first input so its timings show the check, not the load.
    return Engine(frames=frames, detector=detector).load()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _fmt_p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3f}"


# --- scan ---------------------------------------------------------------------------------------
def _scan_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakewatch scan", description="Check images and videos for deepfaked faces.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image or video files")
    parser.add_argument("--json", action="store_true", help="one JSON result per input line")
    parser.add_argument("--annotate", metavar="DIR", type=Path, help="write boxes + heat map JPEGs here")
    parser.add_argument("--frames", type=_positive, metavar="N", help="frames sampled per video")
    parser.add_argument("--detector", choices=("hog", "cnn"), help="face detector")
    return parser


def _scan_one(engine: Any, path: str, annotate_dir: Path | None) -> tuple[CheckResult, Path | None]:
    if annotate_dir is None:
        return engine.check(Path(path), path), None
    started = time.perf_counter()
    try:
        prepared = engine.prepare(Path(path), path, with_views=True)
        result = engine.score(prepared)
        if result.verdict == Verdict.INVALID:
            return result, None
        target = annotate_dir / f"{Path(path).stem}.annotated.jpg"
        target.write_bytes(engine.annotate(prepared, result))
        return result, target
    except Exception as exc:  # one bad input must not stop the others
        result = CheckResult.invalid(path, ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
        result.timings_ms = {"total": (time.perf_counter() - started) * 1000}
        return result, None


def _table_row(result: CheckResult, annotated: Path | None) -> str:
    d = result.to_json()
    note = d["error"]["message"] if d["error"] else ""
    if annotated is not None:
        note = f"-> {annotated}"
    frames = "-" if d["frames_sampled"] is None else str(d["frames_sampled"])
    return (
        f"{d['verdict']:<10} {_fmt_p(d['fake_probability']):>6} {d['kind'] or '-':<6} "
        f"{len(d['faces']):>5} {frames:>6} {d['timings_ms'].get('total', 0.0):>9.0f}  {d['path']}"
        + (f"  {note}" if note else "")
    )


def scan_main(argv: list[str]) -> int:
    """``fakewatch scan PATH... [--json] [--annotate DIR] [--frames N] [--detector hog|cnn]``."""
    args = _scan_parser().parse_args(argv)
    if args.annotate is not None:
        args.annotate.mkdir(parents=True, exist_ok=True)
    engine = _engine(args.frames, args.detector)
    out: TextIO = sys.stdout
    if not args.json:
        print(f"{'verdict':<10} {'p_fake':>6} {'kind':<6} {'faces':>5} {'frames':>6} {'ms':>9}  path", file=out)
    untrained = False
    for path in args.paths:
        result, annotated = _scan_one(engine, path, args.annotate)
        untrained |= result.model is not None and not result.model.trained
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False), file=out, flush=True)
        else:
            print(_table_row(result, annotated), file=out, flush=True)
    if untrained and not args.json:
        print("note: untrained model weights; these probabilities are not evidence.", file=out)
    return 0


# --- evaluate -----------------------------------------------------------------------------------
def _evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakewatch evaluate",
        description="Measure the engine on DIR/real and DIR/fake (images, videos or both).",
    )
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the metrics here as JSON")
    parser.add_argument(
        "--csv", type=Path, metavar="CSV", help="per-file results (default: OUT.csv or ./evaluate-DIR.csv)"
    )
    parser.add_argument("--limit", type=_positive, metavar="N", help="at most N files from each of real/ and fake/")
    parser.add_argument("--frames", type=_positive, metavar="N", help="frames sampled per video")
    parser.add_argument("--detector", choices=("hog", "cnn"), help="face detector")
    return parser


def _collect(root: Path, limit: int | None) -> list[tuple[Path, int]]:
    """(file, label) pairs; files are whatever decodes, so no extension filter (hidden skipped)."""
    items: list[tuple[Path, int]] = []
    for label, name in enumerate(LABELS):
        files = sorted(p for p in (root / name).rglob("*") if p.is_file() and not p.name.startswith("."))
        if limit is not None:
            # Evenly spread over the sorted list rather than the first N (often one source video).
            idx = np.unique(np.linspace(0, len(files) - 1, num=min(limit, len(files))).round().astype(int))
            files = [files[i] for i in idx] if files else []
        items += [(f, label) for f in files]
    return items


CSV_FIELDS = ("path", "label", "kind", "verdict", "fake_probability", "faces", "error", "total_ms")


def evaluate_main(argv: list[str]) -> int:
    """``fakewatch evaluate DIR [--json OUT] [--limit N]``: prints metrics, writes JSON + CSV."""
    args = _evaluate_parser().parse_args(argv)
    root: Path = args.dir
    missing = [name for name in LABELS if not (root / name).is_dir()]
    if missing:
        print(
            f"fakewatch evaluate: {root} needs real/ and fake/ folders (missing: {', '.join(missing)})", file=sys.stderr
        )
        return 2
    items = _collect(root, args.limit)
    if not items:
        print(f"fakewatch evaluate: no files under {root}/real or {root}/fake", file=sys.stderr)
        return 2
    csv_path = args.csv or (args.json.with_suffix(".csv") if args.json else Path(f"evaluate-{root.resolve().name}.csv"))
    from tqdm import tqdm

    engine = _engine(args.frames, args.detector)
    rows: list[dict[str, Any]] = []
    model: dict[str, Any] | None = None
    for path, label in tqdm(items, desc="evaluate", unit="file", file=sys.stderr):
        result = engine.check(path, str(path))
        d = result.to_json()
        model = d["model"] or model
        rows.append(
            {
                "path": str(path),
                "label": label,
                "kind": d["kind"] or "",
                "verdict": result.verdict,
                "fake_probability": d["fake_probability"],
                "faces": len(d["faces"]),
                "error": d["error"]["code"] if d["error"] else "",
                "total_ms": d["timings_ms"].get("total", 0.0),
            }
        )
    metrics = summarise(rows)
    report = {"dir": str(root), "model": model, **metrics, "csv": str(csv_path)}
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "label": LABELS[row["label"]], "verdict": str(row["verdict"])})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for key in (
        "n",
        "n_real",
        "n_fake",
        "n_scored",
        "auc",
        "accuracy",
        "balanced_accuracy",
        "log_loss",
        "no_face_rate",
        "invalid",
    ):
        value = metrics[key]
        print(f"{key:<18} {'-' if value is None else value}")
    print(f"{'csv':<18} {csv_path}")
    if args.json:
        print(f"{'json':<18} {args.json}")
    if model is not None and not model.get("trained", True):
        print("note: untrained model weights; these figures measure nothing but chance.")
    return 0
