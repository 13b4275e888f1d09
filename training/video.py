"""Video model, stage 2: the LSTM on face-track sequences with the stage-1 encoder frozen.

Sequences: pseudo-clips from still crops and MesoNet frame runs (:mod:`training.pseudoclips`),
split by the crops' groups, plus windows of the shared videos' real face tracks (from the crop
cache, ``prepare-data --sources videos``). Every clip goes through the frozen encoder once;
the features are cached in the run directory (safetensors), so the LSTM trains in seconds per
epoch and a resumed run does not re-encode.

The video card's ``fusion.video_weight`` (how the engine mixes the LSTM's track score with the
image CNN's mean over the track) and its bands are chosen on the validation clips, on the fused
score the engine will actually produce.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from training.config import TrainConfig
from training.constants import CACHE_CROP_SIZE
from training.data import load_rows, read_crop, to_tensor
from training.pseudoclips import ClipSpec, plan_clips, render_clip

log = logging.getLogger(__name__)

VIDEO_SOURCE = "videos"


def video_track_specs(rows: list[dict[str, str]], length: int) -> list[ClipSpec]:
    """Windows of ``length`` consecutive crops of each shared-video face track."""
    tracks: dict[tuple[str, str], list[tuple[int, dict]]] = defaultdict(list)
    for row in rows:
        if row["source"] == VIDEO_SOURCE and row["status"] == "ok":
            tracks[(row["file"], row["track"])].append((int(row["frame"]), row))
    specs = []
    for (file, track), items in sorted(tracks.items()):
        items.sort(key=lambda item: item[0])
        crops = [r["crop"] for _, r in items]
        label, group = int(items[0][1]["label"]), items[0][1]["group"]
        step = max(1, length // 2)
        for start in range(0, max(1, len(crops) - length + 1), step):
            specs.append(
                ClipSpec(
                    tuple(crops[start : start + length]),
                    label,
                    group,
                    VIDEO_SOURCE,
                    "video",
                    start,
                    video=f"{file}#t{track}",
                )
            )
    return specs


def _render(spec: ClipSpec, cache_dir: Path, length: int, size: int) -> np.ndarray:
    frames = [read_crop(cache_dir, c) for c in spec.crops]
    if spec.kind == "video":  # real footage: no synthetic motion, just the engine's resize
        import cv2

        return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])
    return render_clip(frames, length, size, np.random.default_rng(spec.seed))


@torch.inference_mode()
def encode_clips(
    encoder, specs: list[ClipSpec], cache_dir: Path, length: int, size: int, batch_frames: int = 64
) -> tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """``(features [N,T,F] fp16, lengths [N], rendered clips)`` for every spec, padded to T."""
    feats, lengths, clips = [], [], []
    pending: list[torch.Tensor] = []
    from tqdm import tqdm

    for spec in tqdm(specs, desc="encoding clips", unit="clip", mininterval=30):
        clip = _render(spec, cache_dir, length, size)
        clips.append(clip)
        x = torch.stack([to_tensor(f, size) for f in clip])
        f = encoder(x).to(torch.float16)
        padded = torch.zeros((length, f.shape[1]), dtype=torch.float16)
        padded[: len(f)] = f
        feats.append(padded)
        lengths.append(len(f))
    del pending
    return torch.stack(feats), torch.tensor(lengths), clips


class FeatureDataset(Dataset):
    def __init__(self, feats: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> None:
        self.feats, self.lengths, self.labels = feats, lengths, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.feats[i].float(), self.lengths[i], self.labels[i]


def _features(config: TrainConfig, model, split_specs: dict[str, list[ClipSpec]], run_dir: Path):
    """Encoded features per split, cached in the run directory."""
    out: dict[str, tuple[Any, ...]] = {}
    for split, specs in split_specs.items():
        path = run_dir / f"features_{split}.safetensors"
        if path.exists():
            stored = load_file(str(path))
            if len(stored["labels"]) == len(specs):
                out[split] = (stored["feats"], stored["lengths"], stored["labels"], None)
                continue
        feats, lengths, clips = encode_clips(
            model.encoder.eval(), specs, config.data.cache_dir, config.video.sequence_length, config.data.input_size
        )
        labels = torch.tensor([s.label for s in specs], dtype=torch.float32)
        save_file({"feats": feats, "lengths": lengths, "labels": labels}, str(path))
        out[split] = (feats, lengths, labels, clips)
    return out


def build_lstm_task(config: TrainConfig, device: torch.device):
    from serving.models import IMAGENET_MEAN, IMAGENET_STD, create_model, load_checkpoint
    from training.task import Task

    if config.video.encoder_from is None:
        raise ValueError("stage video_lstm needs video.encoder_from: a stage-1 run directory or checkpoint")
    src = Path(config.video.encoder_from)
    ckpt_dir = src / "checkpoint" if (src / "checkpoint").is_dir() else src
    stage1 = load_checkpoint(ckpt_dir).model
    model = create_model(config.model.architecture, pretrained=False, **config.model.args)
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in stage1.state_dict().items() if k.startswith(("encoder.", "frame_head."))}, strict=False
    )
    if unexpected or any(k.startswith("encoder.") for k in missing):
        raise ValueError(
            f"stage-1 encoder does not fit {config.model.architecture}: missing={missing} unexpected={unexpected}"
        )
    assert isinstance(model.encoder, torch.nn.Module)
    model.encoder.requires_grad_(False)
    model.frame_head.requires_grad_(False)
    model.encoder.eval()

    length = config.video.clip_length
    data = config.data
    sources = [s for s in data.sources if s != VIDEO_SOURCE]
    train_rows = load_rows(data.cache_dir, "train", sources, data.limit)
    val_rows = load_rows(data.cache_dir, "val", sources, data.limit)
    all_rows = [r for split in ("train", "val") for r in load_rows(data.cache_dir, split, [VIDEO_SOURCE])]
    video_specs = video_track_specs(all_rows, length)
    split_specs = {
        "train": plan_clips(
            train_rows,
            per_crop=config.video.pseudo_clips_per_crop,
            seed=config.seed,
            sequences=config.video.clips_from_sequences,
        ),
        "val": plan_clips(
            val_rows,
            per_crop=config.video.pseudo_clips_per_crop,
            seed=config.seed + 1,
            sequences=config.video.clips_from_sequences,
        ),
    }
    rng = np.random.default_rng(config.seed)
    for split, cap in (("train", config.video.max_train_clips), ("val", config.video.max_val_clips)):
        pseudo = split_specs[split]
        if len(pseudo) > cap:
            keep = sorted(rng.choice(len(pseudo), size=cap, replace=False).tolist())
            split_specs[split] = [pseudo[i] for i in keep]
    split_specs["train"] += video_specs
    if not split_specs["train"] or not split_specs["val"]:
        raise RuntimeError("no clips to train/validate the LSTM on; run prepare-data and check data.sources")
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    feats = _features(config, model, split_specs, run_dir)

    train_f, train_len, train_y, _ = feats["train"]
    val_f, val_len, val_y, _ = feats["val"]
    # balance labels (and give the few real-video windows more weight) when sampling
    kinds = [s.kind for s in split_specs["train"]]
    y = train_y.numpy().astype(int)
    w = np.ones(len(y))
    for label in (0, 1):
        w[y == label] /= max(1, (y == label).sum())
    w *= np.array([config.video.video_weight if k == "video" else 1.0 for k in kinds])
    bs = config.optim.batch_size
    steps = config.optim.steps_per_epoch or max(1, len(y) // bs)
    sampler = WeightedRandomSampler(
        (w / w.sum()).tolist(), steps * bs, replacement=True, generator=torch.Generator().manual_seed(config.seed)
    )
    train_loader = DataLoader(
        FeatureDataset(train_f, train_len, train_y), batch_size=bs, sampler=sampler, drop_last=True
    )
    val_loader = DataLoader(FeatureDataset(val_f, val_len, val_y), batch_size=256)

    def forward(m, batch, dev):
        x, lengths, labels = batch
        track, frames = m.classify_features(x.to(dev), lengths)
        if m.training:  # train the per-frame head (the timeline) too: every frame has the clip's label
            mask = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            return torch.cat([track, frames[mask.to(dev)]]), torch.cat([labels, labels.repeat_interleave(lengths)]).to(
                dev
            )
        return track, labels.to(dev)

    meta = [{"source": s.source, "group": s.group, "kind": s.kind, "video": s.video} for s in split_specs["val"]]
    card_fields = dict(
        task="video",
        input_size=data.input_size,
        sequence_length=config.video.sequence_length,
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
    )
    extra: dict[str, Any] = {
        "stage1": str(ckpt_dir),
        "train_clips": {k: kinds.count(k) for k in sorted(set(kinds))},
        "val_clips": {k: [s.kind for s in split_specs["val"]].count(k) for k in ("still", "sequence")},
        "shared_video_windows_in_training": len(video_specs),
        "how": "stage 1: ResNeXt50 frame encoder trained as an image classifier on face crops; "
        "stage 2: LSTM on cached encoder features of pseudo-clips (stills moved along smooth "
        "random paths with light drift and JPEG re-compression; MesoNet frame runs) and "
        "windows of the 6 shared videos' face tracks, encoder frozen",
    }
    task = Task(model, train_loader, val_loader, forward, meta, card_fields, None, extra)
    task.post_calibrate = lambda cal, logits, labels: choose_fusion(config, split_specs["val"], cal, logits, labels)
    task.val_specs = split_specs["val"]  # type: ignore[attr-defined]
    return task


def refit_fusion(config: TrainConfig, video_dir: Path) -> dict[str, Any]:
    """Re-choose ``fusion.video_weight`` and the bands of a shipped video card for the current
    image CNN (after the image model was retrained), from the cached validation features."""
    import json

    from serving.models import load_checkpoint
    from training.task import evaluate_task

    # the shipped checkpoint holds the encoder whose features matter (the stage-1 run may be gone)
    config = config.model_copy(update={"video": config.video.model_copy(update={"encoder_from": Path(video_dir)})})
    task = build_lstm_task(config, torch.device("cpu"))
    ckpt = load_checkpoint(video_dir)
    task.model = ckpt.model
    logits, labels = evaluate_task(task, torch.device("cpu"))
    post = choose_fusion(config, task.val_specs, {"temperature": ckpt.card.temperature}, logits, labels)
    card_path = Path(video_dir) / "model_card.json"
    card = json.loads(card_path.read_text())
    card["fusion"] = post["fusion"]
    card["thresholds"] = post.get("thresholds", card["thresholds"])
    card["metrics"].update(post.get("metrics", {}))
    if config.video.image_model is None:
        raise ValueError("refitting the fusion needs video.image_model (the image CNN to fuse with)")
    image_card = json.loads((Path(config.video.image_model) / "model_card.json").read_text())
    card["fusion"]["image_model"] = f"{image_card['name']} {image_card['version']} ({image_card['created']})"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return post


def image_probs_for_clips(
    image_dir: Path, specs: list[ClipSpec], cache_dir: Path, length: int, size: int
) -> np.ndarray:
    """The image CNN's calibrated mean probability over each clip's frames (what the engine fuses)."""
    from serving.models import image_logits, load_checkpoint, preprocess

    ckpt = load_checkpoint(image_dir)
    out = []
    with torch.inference_mode():
        for spec in specs:
            clip = _render(spec, cache_dir, length, size)
            logits = image_logits(ckpt.model, preprocess(clip, ckpt.card), ckpt.card).numpy()
            out.append(float(np.mean(ckpt.card.calibrate(logits))))
    return np.array(out)


FUSION_RULE = "validation pseudo-clips, min log loss of the fused probability (ties: higher AUC)"


def pick_video_weight(table: dict[str, dict[str, float]]) -> float:
    """The fusion weight with the lowest validation log loss of the fused probability.

    Why log loss, not AUC: the fused probability is shown to people and banded, so it must be
    calibrated as well as ranked, and the LSTM's probabilities are not (its temperature alone
    cannot make a weak model sharp). On 80 validation clips AUC differences of ~0.01 are a few
    pairs, and the AUC-best weight swung between 0.0 and 0.5 with the sampled clips while
    log loss preferred the same weight both times.
    """
    return float(min(table, key=lambda w: (round(table[w]["log_loss"], 4), -table[w]["auc"], float(w))))


def choose_fusion(
    config: TrainConfig, specs: list[ClipSpec], cal: dict, logits: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """``fusion.video_weight`` by :func:`pick_video_weight` on the validation clips, and the bands of
    that fused score: the engine compares the fused probability to the video card."""
    from serving.metrics import binary_metrics, sigmoid
    from serving.verdict import fuse
    from training.calibration import band_thresholds

    lstm_p = sigmoid(np.asarray(logits) / cal["temperature"])
    if config.video.image_model is None or not (Path(config.video.image_model) / "model_card.json").exists():
        return {"fusion": {"video_weight": 1.0, "chosen_on": "no image model given: LSTM alone"}}
    image_p = image_probs_for_clips(
        Path(config.video.image_model), specs, config.data.cache_dir, config.video.clip_length, CACHE_CROP_SIZE
    )
    table = {}
    for w in np.round(np.linspace(0, 1, 11), 2):
        fused = fuse(lstm_p, image_p, float(w))
        m = binary_metrics(labels, fused)
        table[f"{w:.1f}"] = {"auc": m["auc"], "log_loss": m["log_loss"]}
    best = pick_video_weight(table)
    fused = best * lstm_p + (1 - best) * image_p
    bands = band_thresholds(fused, labels, target_precision=config.export.target_precision)
    return {
        "fusion": {"video_weight": best, "chosen_on": FUSION_RULE, "table": table},
        "thresholds": {"real_below": bands["real_below"], "fake_at_or_above": bands["fake_at_or_above"]},
        "metrics": {
            "fused_validation": binary_metrics(labels, fused),
            "lstm_alone": binary_metrics(labels, lstm_p),
            "image_cnn_alone": binary_metrics(labels, image_p),
            "threshold_rule": f"{bands['rule']} (fused score)",
        },
    }


if __name__ == "__main__":  # python -m training.video CONFIG [VIDEO_DIR]: refit fusion only
    import sys

    from training.config import load_config

    cfg = load_config(sys.argv[1])
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(cfg.export.directory or ".")
    result = refit_fusion(cfg, target)
    print(result["fusion"]["video_weight"], result.get("thresholds"), result.get("metrics", {}).get("fused_validation"))
