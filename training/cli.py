"""``fakewatch prepare-data`` and ``fakewatch train``: thin argument parsing over the training modules."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

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


def train_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fakewatch train", description="Train a model from a YAML/TOML config.")
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: from the config)")
    parser.add_argument("--resume", action="store_true", help="continue from the run directory's last state")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set epochs=2 --set data.limit=100",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from training.config import ConfigError, load_config
    from training.train import run_training

    try:
        config = load_config(args.config, overrides=args.set)
    except ConfigError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    summary = run_training(config, out_dir=args.out, resume=args.resume)
    print(json.dumps(summary, indent=2, default=str))
    return 0
