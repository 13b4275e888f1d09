"""``fakewatch prepare-data`` and ``fakewatch train``: thin argument parsing over the training modules."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from fakewatch.settings import REPO_ROOT, get_settings

DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"


def _prepare_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="fakewatch prepare-data",
        description="Detect and crop faces with the engine's own detector into a resumable cache.",
    )
    parser.add_argument("--cache-dir", type=Path, default=settings.data_dir / "cache")
    parser.add_argument(
        "--shared-data",
        type=Path,
        default=None,
        help=f"../shared/data root (default {DEFAULT_SHARED} when no other dataset is given)",
    )
    parser.add_argument(
        "--sources", default="dfdc,mesonet,stylegan,lfw,videos", help="which shared-data parts to include (comma list)"
    )
    parser.add_argument("--folder", type=Path, action="append", default=[], help="plain real/ fake/ folder")
    parser.add_argument("--ffpp", type=Path, help="FaceForensics++ root")
    parser.add_argument("--ffpp-compression", default="c23", choices=["c0", "c23", "c40"])
    parser.add_argument("--celebdf", type=Path, help="Celeb-DF v2 root")
    parser.add_argument("--dfdc", type=Path, help="DFDC root with dfdc_train_part_*/")
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--size", type=int, default=160, help="crop side in pixels")
    parser.add_argument("--margin", type=float, default=settings.face_margin)
    parser.add_argument("--frames", type=int, default=settings.frames_per_video, help="frames per video")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="at most N inputs per source (0: all)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--image-fallback",
        default=settings.image_fallback_detector,
        choices=["none", "cnn"],
        help="second detector for stills where the first finds no face (as the engine)",
    )
    parser.add_argument(
        "--redo-no-face",
        action="store_true",
        help="search the inputs recorded as no_face again (e.g. with the fallback)",
    )
    return parser


def prepare_main(argv: list[str]) -> int:
    from training.cache import CacheConfig, build_cache
    from training.datasets import DatasetError, collect_samples

    args = _prepare_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    try:
        samples, roots = collect_samples(
            shared_data=args.shared_data
            or (None if (args.folder or args.ffpp or args.celebdf or args.dfdc) else DEFAULT_SHARED),
            shared_sources=[s for s in args.sources.split(",") if s],
            folders=args.folder,
            ffpp=args.ffpp,
            ffpp_compression=args.ffpp_compression,
            celebdf=args.celebdf,
            dfdc=args.dfdc,
            val_fraction=args.val_fraction,
            limit=args.limit,
        )
    except DatasetError as exc:
        print(f"prepare-data: {exc}", file=sys.stderr)
        return 2
    config = CacheConfig(
        detector=settings.detector,
        image_fallback=args.image_fallback,
        detect_max_side=settings.detect_max_side,
        min_face_px=settings.min_face_px,
        margin=args.margin,
        size=args.size,
        frames_per_video=args.frames,
    )
    report = build_cache(
        samples,
        args.cache_dir,
        config=config,
        workers=args.workers,
        roots=roots,
        progress=not args.no_progress,
        redo_no_face=args.redo_no_face,
    )
    print(json.dumps({"cache_dir": str(args.cache_dir), "sources": report}, indent=2))
    return 0


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set epochs=2 --set data.limit=100",
    )


def _config(prog: str, path: Path, overrides: list[str]) -> Any:
    """The validated config, or None after saying why on stderr (the caller exits with 2)."""
    from training.config import ConfigError, load_config

    try:
        return load_config(path, overrides=overrides)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def train_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fakewatch train", description="Train a model from a YAML/TOML config.")
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: from the config)")
    parser.add_argument("--resume", action="store_true", help="continue from the run directory's last state")
    _add_overrides(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from training.train import run_training

    config = _config("train", args.config, args.set)
    if config is None:
        return 2
    summary = run_training(config, out_dir=args.out, resume=args.resume)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def score_main(argv: list[str]) -> int:
    """``fakewatch score-sources CHECKPOINT``: per-source AUC, log loss and ECE on the crop cache."""
    from training.constants import SHARED_FACE_SOURCES

    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="fakewatch score-sources",
        description="Score an image checkpoint per source of the face-crop cache (AUC, log loss, ECE).",
    )
    parser.add_argument("checkpoint", type=Path, help="checkpoint directory (weights + model_card.json)")
    parser.add_argument("--cache-dir", type=Path, default=settings.data_dir / "cache")
    parser.add_argument("--sources", default=",".join(SHARED_FACE_SOURCES))
    parser.add_argument(
        "--splits", default="val", help="comma list of train,val,test (a source the model never saw: all three)"
    )
    parser.add_argument("--per-label", type=int, default=0, help="at most N crops per label and source (0: all)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    from serving.models import CheckpointError
    from training.loso import score_sources

    if not (args.cache_dir / "manifest.csv").exists():
        print(f"score-sources: no crop cache at {args.cache_dir} (run fakewatch prepare-data)", file=sys.stderr)
        return 2
    try:
        report = score_sources(
            args.checkpoint,
            args.cache_dir,
            [s for s in args.sources.split(",") if s],
            splits=[s for s in args.splits.split(",") if s],
            per_label=args.per_label,
        )
    except CheckpointError as exc:
        print(f"score-sources: {exc}", file=sys.stderr)
        return 2
    out = {"checkpoint": str(args.checkpoint), "splits": args.splits, "sources": report}
    text = json.dumps(out, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


def loso_main(argv: list[str]) -> int:
    """``fakewatch loso CONFIG``: the leave-one-source-out matrix of one training recipe."""
    parser = argparse.ArgumentParser(
        prog="fakewatch loso",
        description="Leave-one-source-out: per held-out source, train the config on the other sources "
        "and score the one left out. Rows of several recipes collect in one JSON report and plot.",
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("--recipe", required=True, help="the row's name in the report (e.g. baseline, synth)")
    parser.add_argument("--sources", default=None, help="comma list (default: the config's data.sources)")
    parser.add_argument("--only", default="", help="run only these held-out folds (comma list)")
    parser.add_argument("--per-label", type=int, default=600, help="held-out crops scored per label (0: all)")
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "benchmarks/results/loso.json")
    parser.add_argument("--runs-dir", type=Path, default=REPO_ROOT / "runs/loso")
    _add_overrides(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from training.loso import loso_plot, merge_report, pick_rows, run_loso

    config = _config("loso", args.config, args.set)
    if config is None:
        return 2
    sources = [s for s in args.sources.split(",") if s] if args.sources else list(config.data.sources)
    if len(sources) < 2:
        print("loso: needs at least two sources", file=sys.stderr)
        return 2
    only = [s for s in args.only.split(",") if s]
    if set(only) - set(sources):
        print(f"loso: --only {', '.join(sorted(set(only) - set(sources)))} is not among the sources", file=sys.stderr)
        return 2
    if not (config.data.cache_dir / "manifest.csv").exists():
        print(f"loso: no crop cache at {config.data.cache_dir} (run fakewatch prepare-data)", file=sys.stderr)
        return 2
    empty = [s for s in sources if not pick_rows(config.data.cache_dir, s, per_label=1)]
    if empty:
        print(f"loso: the crop cache holds no faces of {', '.join(empty)}", file=sys.stderr)
        return 2
    row = run_loso(
        args.config,
        sources=sources,
        recipe=args.recipe,
        runs_dir=args.runs_dir,
        per_label=args.per_label,
        overrides=args.set,
        only=only,
    )
    report = merge_report(args.report, args.recipe, row)
    loso_plot(report, args.report.with_suffix(".png"))
    print(json.dumps({"recipe": args.recipe, "worst_auc": row["worst_auc"], "worst_log_loss": row["worst_log_loss"]}))
    return 0
