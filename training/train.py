"""``fakewatch train``: one loop for the image CNN and the two stages of the video model.

Stages (``stage`` in the config):
* ``image``: the image CNN on face crops (EfficientNet-Lite0, the seed paper's settings);
* ``video_encoder``: stage 1, the ResNeXt50 frame encoder trained as an image classifier
  (``classify_frames``) on the same crops;
* ``video_lstm``: stage 2, the LSTM on face-track sequences with the encoder frozen and its
  features cached (see :mod:`training.video`).

Every stage: AdamW, warmup then cosine (or reduce-on-plateau), early stopping on validation
AUC, balanced sampling, fixed seeds, the best epoch kept, resumable state (safetensors + JSON),
per-epoch metrics CSV and curve PNG, then temperature scaling, band thresholds, reports and a
checkpoint with a full model card.
"""

from __future__ import annotations

import csv
import logging
import math
import platform
import random
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from serving.metrics import binary_metrics, sigmoid
from training.augment import AugmentConfig
from training.calibration import calibrate
from training.config import TrainConfig
from training.state import load_state, load_weights, save_state, save_weights, write_json
from training.task import Task, evaluate_task

log = logging.getLogger(__name__)

MAX_SHIPPED_BYTES = 60 * 1024 * 1024  # shipped checkpoints live in git
METRIC_FIELDS = ("epoch", "step", "lr", "train_loss", "val_loss", "val_auc", "val_accuracy", "val_selection", "seconds")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def device_for() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def lr_lambda(warmup: int, total: int, schedule: str) -> Callable[[int], float]:
    """Linear warmup, then cosine to 1 % (or flat for plateau, which reduces on its own)."""

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if schedule != "cosine":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class EarlyStopping:
    """Stop after ``patience`` epochs without a validation-AUC gain of ``min_delta``."""

    def __init__(self, patience: int, min_delta: float, best: float = -math.inf, bad: int = 0) -> None:
        self.patience, self.min_delta, self.best, self.bad = patience, min_delta, best, bad

    def step(self, value: float) -> bool:
        """Record one epoch; True when it is the best so far."""
        if not math.isnan(value) and value > self.best + self.min_delta:
            self.best, self.bad = value, 0
            return True
        self.bad += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad >= self.patience


def per_group_metrics(
    meta: list[dict[str, Any]], labels: np.ndarray, probs: np.ndarray, key: str = "source"
) -> dict[str, dict]:
    out: dict[str, dict] = {}
    values = np.array([m.get(key, "") for m in meta])
    for name in sorted(set(values)):
        mask = values == name
        out[name] = binary_metrics(labels[mask], probs[mask])
    return out


def selection_metric(name: str, task: Task, labels: np.ndarray, probs: np.ndarray, metrics: dict) -> float:
    """The number early stopping and best-epoch keeping follow (see ``EarlyStopSection.metric``)."""
    if name == "auc":
        return float(metrics["auc"])
    if task.epoch_val_loader is not None and task.epoch_val_indices is not None:
        meta = [task.val_meta[i] for i in task.epoch_val_indices]
    else:
        meta = task.val_meta
    if len(meta) != len(labels):
        raise ValueError(f"{len(meta)} validation records for {len(labels)} predictions")
    per_source = {k: m["auc"] for k, m in per_group_metrics(meta, labels, probs).items()}
    aucs = [a for a in per_source.values() if not math.isnan(a)]
    metrics["mean_source_auc"] = float(np.mean(aucs)) if aucs else math.nan
    log.info("validation AUC per source: %s", {str(k): round(a, 4) for k, a in per_source.items()})
    return metrics["mean_source_auc"]


def _write_metrics_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in METRIC_FIELDS})


def build_task(config: TrainConfig, device: torch.device) -> Task:
    if config.stage == "video_lstm":
        from training.video import build_lstm_task

        return build_lstm_task(config, device)
    return build_crop_task(config, device)


def build_crop_task(config: TrainConfig, device: torch.device) -> Task:
    """Image CNN or video stage 1: a classifier over cached face crops."""
    from serving.models import IMAGENET_MEAN, IMAGENET_STD, create_model, model_task
    from training.data import CropDataset, load_rows, make_sampler

    data = config.data
    train_rows = load_rows(data.cache_dir, "train", data.sources, data.limit)
    val_rows = load_rows(data.cache_dir, "val", data.sources, data.limit)
    if not train_rows or not val_rows:
        raise RuntimeError(
            f"no crops for training ({len(train_rows)}) or validation ({len(val_rows)}) in {data.cache_dir}; "
            "run `fakewatch prepare-data` first"
        )
    augment = AugmentConfig(**config.augment.params) if config.augment.enabled else None
    train_ds = CropDataset(
        train_rows,
        data.cache_dir,
        data.input_size,
        augment=augment,
        sbi_probability=config.sbi.probability if config.sbi.enabled else 0.0,
        synth_probability=config.synth.probability if config.synth.enabled else 0.0,
        synth_kinds=config.synth.active_kinds(),
        seed=config.seed,
    )
    val_ds = CropDataset(val_rows, data.cache_dir, data.input_size)
    bs = config.optim.batch_size
    steps = config.optim.steps_per_epoch or max(1, len(train_rows) // bs)
    loader_args: dict[str, Any] = dict(
        num_workers=data.workers, persistent_workers=data.workers > 0, pin_memory=device.type == "cuda"
    )
    if data.balance == "sampler":
        sampler = make_sampler(
            train_rows, data.source_temperature, steps * bs, config.seed, source_weights=data.source_weights
        )
        train_loader = DataLoader(train_ds, batch_size=bs, sampler=sampler, drop_last=True, **loader_args)
    else:
        generator = torch.Generator().manual_seed(config.seed)
        train_loader = DataLoader(
            train_ds, batch_size=bs, shuffle=True, drop_last=True, generator=generator, **loader_args
        )
    val_loader = DataLoader(val_ds, batch_size=bs * 2, shuffle=False, num_workers=data.workers)
    epoch_val_loader = None
    if data.val_during_training and data.val_during_training < len(val_rows):
        keep = stratified_subset(val_rows, data.val_during_training, config.seed)
        epoch_val_loader = DataLoader(
            torch.utils.data.Subset(val_ds, keep), batch_size=bs * 2, shuffle=False, num_workers=data.workers
        )
    pos_weight = None
    if data.balance == "pos_weight":
        n_fake = int(train_ds.labels.sum())
        pos_weight = (len(train_ds) - n_fake) / max(1, n_fake)

    arch = config.model.architecture
    task_kind = model_task(arch)
    if config.stage == "image" and task_kind != "image":
        raise ValueError(f"stage image needs an image architecture, {arch} is {task_kind}")
    if config.stage == "video_encoder" and task_kind != "video":
        raise ValueError(f"stage video_encoder needs a video architecture, {arch} is {task_kind}")
    model = create_model(arch, pretrained=config.model.pretrained, **config.model.args)
    init_note = (
        init_from_checkpoint(model, config.model.init_from, arch, weights=config.model.init_weights)
        if config.model.init_from
        else None
    )

    if config.stage == "image":

        def forward(m, batch, dev):
            x, y, _ = batch
            x = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            return m(x), y.to(dev)
    else:

        def forward(m, batch, dev):
            x, y, _ = batch
            x = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            return m.classify_frames(x), y.to(dev)

    meta = [{"source": r["source"], "group": r["group"], "file": r["file"]} for r in val_rows]
    card_fields = dict(
        task="video" if config.stage == "video_encoder" else "image",
        input_size=data.input_size,
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
        sequence_length=config.video.sequence_length if config.stage == "video_encoder" else None,
    )
    from training.cache import read_manifest, summarize

    extra = {
        "train_crops": len(train_rows),
        "val_crops": len(val_rows),
        "no_face_rate": {k: v["no_face_rate"] for k, v in summarize(read_manifest(data.cache_dir)).items()},
    }
    if init_note is not None:
        extra["initialised_from"] = init_note
    task = Task(model, train_loader, val_loader, forward, meta, card_fields, pos_weight, extra, epoch_val_loader)
    task.epoch_val_indices = keep if epoch_val_loader is not None else None
    if config.stage == "video_encoder" and epoch_val_loader is not None:
        # stage 1 is an intermediate (the shipped video card is measured in stage 2): its final
        # report uses the same fixed subsample, which saves a full ResNeXt pass on a slow CPU
        task.val_loader, task.val_meta = epoch_val_loader, [meta[i] for i in keep]
        task.extra_training["stage1_report_on_val_subsample"] = len(keep)
    return task


def init_from_checkpoint(
    model: nn.Module, directory: Path | Sequence[Path], architecture: str, *, weights: Sequence[float] | None = None
) -> dict[str, Any]:
    """Start from a shipped checkpoint's weights (fine-tuning further) rather than ImageNet.

    Loaded through the serving loader, so the file is safetensors and the card must name the
    same architecture; the trainable-block setting of this run still decides what trains.
    Several directories: start from their weighted average (a "model soup", Wortsman et al.
    2022): fine-tunes of one parent sit in one basin, and their average often generalises
    better than each. ``weights`` (default equal) must be positive; they are normalised.
    """
    single = isinstance(directory, (str, Path))
    directories = [Path(directory)] if isinstance(directory, (str, Path)) else list(directory)
    if not directories:
        raise ValueError("init_from needs at least one checkpoint directory")
    weights = [1.0] * len(directories) if weights is None else [float(w) for w in weights]
    if len(weights) != len(directories) or not all(w > 0 for w in weights):
        raise ValueError(f"init_weights must be {len(directories)} positive numbers, not {weights}")
    weights = [w / sum(weights) for w in weights]
    checkpoints = [_load_for_init(d, architecture) for d in directories]
    states = [c.model.state_dict() for c in checkpoints]
    averaged = {}  # one checkpoint: weight 1.0, an exact copy
    for key, first in states[0].items():
        if first.is_floating_point():
            averaged[key] = sum(w * state[key].float() for w, state in zip(weights, states)).to(first.dtype)
        else:  # counters such as BatchNorm's num_batches_tracked: not averaged
            averaged[key] = first
    model.load_state_dict(averaged, strict=True)
    if single:
        card = checkpoints[0].card
        log.info("initialised from %s (%s %s)", directory, card.name, card.version)
        return _init_note(checkpoints[0])
    log.info("initialised from the average of %s (weights %s)", [str(d) for d in directories], weights)
    return {"soup": [_init_note(c) for c in checkpoints], "weights": [round(w, 6) for w in weights]}


def _load_for_init(directory: Path, architecture: str) -> Any:
    from serving.models import load_checkpoint

    checkpoint = load_checkpoint(directory)
    if checkpoint.card.architecture != architecture:
        raise ValueError(f"init_from {directory} is {checkpoint.card.architecture}, this run trains {architecture}")
    return checkpoint


def _init_note(checkpoint: Any) -> dict[str, Any]:
    """The card of what a run started from: its own reproduce command completes the chain."""
    data = checkpoint.card.training.get("data", {})
    return {
        "name": checkpoint.card.name,
        "version": checkpoint.card.version,
        "command": checkpoint.card.training.get("command"),
        "optimizer_steps": data.get("optimizer_steps"),
        "initialised_from": data.get("initialised_from"),
    }


def stratified_subset(rows: list[dict[str, str]], n: int, seed: int) -> list[int]:
    """About ``n`` indices with every (source, label) cell kept in proportion (fixed seed)."""
    rng = np.random.default_rng(seed)
    cells: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        cells.setdefault((r["source"], r["label"]), []).append(i)
    keep: list[int] = []
    for idx in cells.values():
        take = max(1, round(n * len(idx) / len(rows)))
        keep += sorted(rng.choice(idx, size=min(take, len(idx)), replace=False).tolist())
    return sorted(keep)


def run_training(config: TrainConfig, out_dir: Path | None = None, resume: bool = False) -> dict[str, Any]:
    """Train, keep the best epoch, calibrate, report and save a checkpoint; returns the summary."""
    run_dir = Path(out_dir) if out_dir else config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    device = device_for()
    started = time.time()
    write_json(run_dir / "config.json", config.model_dump(mode="json"))
    task = build_task(config, device)
    # channels-last on the CPU too: same float32 arithmetic, and EfficientNet's depthwise
    # convolutions train ~1.6x faster that way here (0.7 vs 1.2 s per batch of 32 at 128 px)
    model = task.model.to(device).to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    steps_per_epoch = len(task.train_loader)
    total_steps = steps_per_epoch * config.optim.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(config.optim.warmup_steps, total_steps, config.optim.schedule)
    )
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.3, patience=1)
        if config.optim.schedule == "plateau"
        else None
    )
    stopper = EarlyStopping(config.early_stop.patience, config.early_stop.min_delta)
    pos_weight = torch.tensor(task.pos_weight, device=device) if task.pos_weight else None
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    start_epoch, step, elapsed_before = 0, 0, 0.0
    state_dir = run_dir / "state"
    if resume and (state_dir / "state.json").exists():
        info = load_state(state_dir, model, optimizer)
        start_epoch, step = info["epoch"] + 1, info["step"]
        stopper = EarlyStopping(
            config.early_stop.patience, config.early_stop.min_delta, info["best_auc"], info["bad_epochs"]
        )
        scheduler.load_state_dict(info["scheduler"])
        if plateau is not None and info.get("plateau"):
            plateau.load_state_dict(info["plateau"])
        elapsed_before = info.get("elapsed_s", 0.0)
        seed_everything(config.seed + start_epoch)
        log.info("resumed %s at epoch %d (best AUC %.4f)", run_dir, start_epoch, stopper.best)
        task.extra_training["resumed_at_epoch"] = str(start_epoch)
    elif not resume:
        (run_dir / "metrics.csv").unlink(missing_ok=True)

    time_limit = config.optim.time_limit_min * 60 if config.optim.time_limit_min else math.inf
    stop_reason = "epochs"
    epoch = start_epoch - 1
    for epoch in range(start_epoch, config.optim.epochs):
        if stopper.should_stop:
            stop_reason = "early_stopping"
            break
        model.train()
        t0, losses = time.time(), []
        out_of_time = False
        for batch in task.train_loader:
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits, y = task.forward(model, batch, device)
                target = y * (1 - config.optim.label_smoothing) + 0.5 * config.optim.label_smoothing
                loss = loss_fn(logits.float(), target.float())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.optim.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, config.optim.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            losses.append(float(loss.detach()))
            if step % 10 == 0:
                log.info(
                    "epoch %d step %d loss %.4f lr %.2e (%.2fs/step)",
                    epoch,
                    step,
                    np.mean(losses[-20:]),
                    optimizer.param_groups[0]["lr"],
                    (time.time() - t0) / len(losses),
                )
            if elapsed_before + time.time() - started > time_limit:
                out_of_time = True
                break
        val_logits, val_labels = evaluate_task(task, device, task.epoch_val_loader)
        val_probs = sigmoid(val_logits)
        metrics = binary_metrics(val_labels, val_probs)
        selection = selection_metric(config.early_stop.metric, task, val_labels, val_probs, metrics)
        improved = stopper.step(selection)
        if plateau is not None:
            plateau.step(selection)
        if improved:
            save_weights(model, run_dir / "best.safetensors")
            write_json(run_dir / "best.json", {"epoch": epoch, "step": step, **metrics})
        row = dict(
            epoch=epoch,
            step=step,
            lr=optimizer.param_groups[0]["lr"],
            train_loss=float(np.mean(losses)) if losses else "",
            val_loss=metrics["log_loss"],
            val_auc=metrics["auc"],
            val_accuracy=metrics["accuracy"],
            val_selection=selection,
            seconds=round(time.time() - t0, 1),
        )
        _write_metrics_row(run_dir / "metrics.csv", row)
        log.info(
            "epoch %d: %s%s",
            epoch,
            {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()},
            " (best)" if improved else "",
        )
        save_state(
            state_dir,
            model,
            optimizer,
            {
                "epoch": epoch,
                "step": step,
                "best_auc": stopper.best,
                "bad_epochs": stopper.bad,
                "scheduler": scheduler.state_dict(),
                "plateau": plateau.state_dict() if plateau else None,
                "elapsed_s": elapsed_before + time.time() - started,
            },
        )
        from training.reports import training_curves

        training_curves(run_dir / "metrics.csv", run_dir / "training_curves.png")
        if out_of_time:
            stop_reason = "time_limit"
            break
    else:
        if stopper.should_stop:
            stop_reason = "early_stopping"

    train_seconds = elapsed_before + time.time() - started
    task.extra_training["optimizer_steps"] = step
    if (run_dir / "best.safetensors").exists():
        load_weights(model, run_dir / "best.safetensors")
    return finish(config, task, model, device, run_dir, train_seconds, stop_reason, epoch)


def pseudo_fakes_record(config: TrainConfig) -> dict[str, Any]:
    """The card's ``sbi`` and ``synth`` entries: which pseudo-fakes training made, and how often."""
    synth_on = config.synth.enabled and config.synth.probability > 0
    sbi: dict[str, Any] = {"enabled": config.sbi.enabled and not synth_on, "probability": config.sbi.probability}
    if config.sbi.enabled and synth_on:
        sbi["superseded_by"] = "synth"  # sbi is one kind of synth; both enabled: synth wins
    synth: dict[str, Any] = {"enabled": synth_on}
    if synth_on:
        synth |= {"probability": config.synth.probability, "kinds": config.synth.active_kinds()}
    return {"sbi": sbi, "synth": synth}


def reproduce_command(config: TrainConfig, resumed_from: str | None = None) -> str:
    """The command line that reproduces this run (a resumed run: the first leg, then the resume)."""
    path = shlex.quote(str(config.config_path or "CONFIG"))
    sets = "".join(f" --set {shlex.quote(o)}" for o in config.overrides)
    if resumed_from is not None:
        return f"fakewatch prepare-data && fakewatch train {path} && fakewatch train {path} --resume{sets}"
    return f"fakewatch prepare-data && fakewatch train {path}{sets}"


def finish(
    config: TrainConfig,
    task: Task,
    model: nn.Module,
    device: torch.device,
    run_dir: Path,
    train_seconds: float,
    stop_reason: str,
    last_epoch: int,
) -> dict[str, Any]:
    """Calibrate on validation, write reports, save the checkpoint with its model card."""
    from serving.models import ModelCard, save_checkpoint
    from training.reports import write_reports

    model = model.cpu().float().eval()
    task.model = model
    tta = config.export.tta if config.stage == "image" else "none"
    if tta != "none":
        # calibration, reports and the fp16 check see the logits serving will compute
        from serving.models import image_logits

        def forward_tta(m, batch, dev):
            x, y, _ = batch
            return image_logits(m, x.to(dev).contiguous(memory_format=torch.channels_last), tta), y.to(dev)

        task.forward = forward_tta
    logits, labels = evaluate_task(task, torch.device("cpu"))
    cal = calibrate(logits, labels, target_precision=config.export.target_precision)
    probs = sigmoid(logits / cal["temperature"])
    overall = binary_metrics(labels, probs)
    per_source = per_group_metrics(task.val_meta, labels, probs)
    reports = write_reports(run_dir, labels, probs, task.val_meta, title=config.name)
    best = {}
    if (run_dir / "best.json").exists():
        import json

        best = json.loads((run_dir / "best.json").read_text())
    metrics = {
        "split": "validation (held out by group)",
        "overall": overall,
        "per_source": per_source,
        **reports.get("extra_metrics", {}),
        "calibration": {k: v for k, v in cal.items() if k not in ("thresholds",)},
        "best_epoch": best.get("epoch"),
    }
    training = {
        "stage": config.stage,
        "data": {
            "sources": config.data.sources,
            "origin": "../shared/data (DFDC / MesoNet / StyleGAN-FFHQ face crops, research use only)",
            "crops": "engine face detector (serving.faces, HOG) + crop_face, margin per settings.face_margin",
            "split": "train/validation by group (DFDC source video, MesoNet video prefix, StyleGAN file)",
            **task.extra_training,
        },
        "config": config.model_dump(mode="json"),
        "augmentation": "chat-app: JPEG 30-95, downscale-upscale, blur, noise, colour jitter, flip, shift/zoom, cut-out"
        if config.augment.enabled
        else "none",
        **pseudo_fakes_record(config),
        "epochs_run": last_epoch + 1,
        "stopped_by": stop_reason,
        "train_seconds": round(train_seconds, 1),
        "hardware": f"{platform.machine()} CPU x{torch.get_num_threads()} threads"
        if device.type == "cpu"
        else torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "command": reproduce_command(config, task.extra_training.get("resumed_at_epoch")),
        "argv": " ".join(shlex.quote(a) for a in sys.argv),
    }
    args = dict(config.model.args)
    thresholds, fusion = cal["thresholds"], {}
    if task.post_calibrate is not None:
        post = task.post_calibrate(cal, logits, labels)
        fusion = post.get("fusion", {})
        thresholds = post.get("thresholds", thresholds)
        metrics.update(post.get("metrics", {}))
    card = ModelCard(
        name=config.export.name,
        version=config.export.version,
        architecture=config.model.architecture,
        arch_args=args,
        temperature=cal["temperature"],
        thresholds=thresholds,
        trained=True,
        training=training,
        metrics=metrics,
        fusion=fusion,
        test_time_augmentation=tta,
        **task.card_fields,
    )
    ckpt_dir = save_checkpoint(model, card, run_dir / "checkpoint", half=False)
    exported = None
    if config.export.directory is not None:
        exported = save_checkpoint(model, card, config.export.directory, half=config.export.half)
        if config.export.half:
            exported = _keep_fp16_if_lossless(model, card, config.export.directory, task)
    summary = {
        "run_dir": str(run_dir),
        "checkpoint": str(ckpt_dir),
        "exported": str(exported) if exported else None,
        "metrics": metrics,
        "train_seconds": round(train_seconds, 1),
        "stopped_by": stop_reason,
        "pseudo_fakes": pseudo_fakes_record(config),
    }
    write_json(run_dir / "summary.json", summary)
    return summary


def _keep_fp16_if_lossless(model, card, directory: Path, task: Task) -> Path:
    """fp16 weights only when validation probabilities barely move; else re-save as fp32."""
    from serving.models import load_checkpoint, save_checkpoint

    half = load_checkpoint(directory).model
    loader = task.epoch_val_loader or task.val_loader
    task.model = model
    logits32, _ = evaluate_task(task, torch.device("cpu"), loader)
    task.model = half
    logits16, _ = evaluate_task(task, torch.device("cpu"), loader)
    task.model = model
    drift = (
        float(np.max(np.abs(sigmoid(logits16 / card.temperature) - sigmoid(logits32 / card.temperature))))
        if len(logits16)
        else 0.0
    )
    fp32_bytes = sum(t.numel() * 4 for t in model.state_dict().values() if t.is_floating_point())
    if drift > 0.01 and fp32_bytes < MAX_SHIPPED_BYTES:
        log.warning("fp16 changes validation probabilities by %.4f: saving fp32", drift)
        return save_checkpoint(model, card, directory, half=False)
    if drift > 0.01:
        log.warning("fp16 drift %.4f, but fp32 would exceed %d MB: keeping fp16", drift, MAX_SHIPPED_BYTES >> 20)
    log.info("fp16 checkpoint kept (max probability drift %.5f)", drift)
    return directory
