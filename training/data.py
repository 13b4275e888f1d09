"""Torch datasets over the crop cache: crops for the image CNN / stage 1, balanced sampling."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from training.augment import AugmentConfig, ChatAppAugment
from training.cache import read_manifest
from training.constants import FAKE, STATUS_OK, SYNTH_DEFAULT_WEIGHTS

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def load_rows(cache_dir: Path, split: str, sources: Sequence[str], limit: int = 0) -> list[dict[str, str]]:
    """OK crops of one split from the chosen sources (``limit`` per source and label, for tests)."""
    rows = [
        r
        for r in read_manifest(cache_dir)
        if r["status"] == STATUS_OK and r["split"] == split and r["source"] in sources
    ]
    if limit:
        seen: Counter[tuple[str, str]] = Counter()
        kept = []
        for row in rows:
            key = (row["source"], row["label"])
            if seen[key] < limit:
                seen[key] += 1
                kept.append(row)
        rows = kept
    return rows


def read_crop(cache_dir: Path, rel: str) -> np.ndarray:
    bgr = cv2.imread(str(Path(cache_dir) / rel), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"crop missing or unreadable: {Path(cache_dir) / rel}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def to_tensor(rgb: np.ndarray, size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Resize like ``serving.models.preprocess`` (INTER_AREA) and normalise."""
    if rgb.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (size, size), interpolation=interp)
    x = (rgb.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class CropDataset(Dataset):
    """``(image [3,S,S], label, index)``; training adds chat-app augmentation and optional pseudo-fakes.

    SBI turns a share of the real crops into self-blended pseudo-fakes (label 1), so the
    model also learns blending boundaries that no particular face-swap method owns. Synth
    (training.synth) does the same with a weighted family of kinds (``synth_kinds``); when its
    probability is > 0 it replaces SBI (which is one of its kinds). Landmarks are found once per
    row and worker; the ``swap`` kind's donor is another real row (another group when there is one).
    """

    def __init__(
        self,
        rows: list[dict[str, str]],
        cache_dir: Path,
        size: int,
        *,
        augment: AugmentConfig | None = None,
        sbi_probability: float = 0.0,
        synth_probability: float = 0.0,
        synth_kinds: Mapping[str, float] | None = None,
        seed: int = 0,
    ) -> None:
        self.rows = rows
        self.cache_dir = Path(cache_dir)
        self.size = size
        self.labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        self.augment_config = augment
        self.sbi_probability = sbi_probability
        self.synth_probability = synth_probability
        self.synth_kinds: dict[str, float] = {}
        if synth_probability:
            from training.synth import check_weights

            # checked here, not later in a worker
            self.synth_kinds = check_weights(SYNTH_DEFAULT_WEIGHTS if synth_kinds is None else synth_kinds)
            if not any(self.synth_kinds.values()):
                raise ValueError(f"synth needs a kind with weight > 0, got {dict(synth_kinds or {})}")
        self.seed = seed
        self._real_rows = np.flatnonzero(self.labels != FAKE)
        self._real_groups = np.array([rows[i].get("group") or "" for i in self._real_rows], dtype=object)
        self._landmarks: dict[int, np.ndarray | None] = {}  # per worker: row index -> points
        self._augment: ChatAppAugment | None = None
        self._rng: np.random.Generator | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def _worker_state(self) -> None:
        """Per-worker RNGs: seeded from the run seed and the worker id, so runs repeat."""
        if self._rng is None:
            info = torch.utils.data.get_worker_info()
            wid = info.id if info is not None else 0
            epoch_seed = int(torch.initial_seed()) % 2**31
            self._rng = np.random.default_rng([self.seed, wid, epoch_seed])
            if self.augment_config is not None:
                self._augment = ChatAppAugment(self.augment_config, seed=int(self._rng.integers(2**31)))

    def __getitem__(self, index: int):
        self._worker_state()
        row = self.rows[index]
        rgb = read_crop(self.cache_dir, row["crop"])
        label = int(row["label"])
        if (
            self.synth_probability
            and label != FAKE
            and self._rng is not None
            and self._rng.random() < self.synth_probability
        ):
            made = self._synthesize(index, rgb, self._rng)
            if made is not None:
                rgb, label = made, FAKE
        elif (
            not self.synth_probability
            and self.sbi_probability
            and label != FAKE
            and self._rng is not None
            and self._rng.random() < self.sbi_probability
        ):
            from training.sbi import self_blend

            blended = self_blend(rgb, rng=self._rng)
            if blended is not None:
                rgb, label = blended, FAKE
        if self._augment is not None:
            rgb = self._augment(rgb)
        return to_tensor(rgb, self.size), torch.tensor(float(label)), index

    def _points(self, index: int, rgb: np.ndarray) -> np.ndarray | None:
        """The row's landmarks, found once (the crop on disk never changes; augmentation comes later)."""
        if index not in self._landmarks:
            from training.sbi import face_landmarks

            self._landmarks[index] = face_landmarks(rgb)
        return self._landmarks[index]

    def _donor(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
        """Another real row with landmarks, of another group (another person) when there is one."""
        group = self.rows[index].get("group") or None
        tried: set[int] = set()
        for attempt in range(6):
            if attempt < 3:  # cheap draws first; most rows are of another group
                j = int(self._real_rows[rng.integers(len(self._real_rows))])
            else:
                pool = self._real_rows[(self._real_groups != group) & (self._real_rows != index)]
                pool = pool[~np.isin(pool, list(tried))]
                if not len(pool):
                    return None
                j = int(pool[rng.integers(len(pool))])
            if j == index or j in tried or (group is not None and self.rows[j].get("group") == group):
                continue
            tried.add(j)
            donor = read_crop(self.cache_dir, self.rows[j]["crop"])
            points = self._points(j, donor)
            if points is not None:
                return donor, points
        return None

    def _synthesize(self, index: int, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        from training.synth import synthesize

        points = self._points(index, rgb)
        if points is None:
            return None
        made = synthesize(rgb, rng, self.synth_kinds, landmarks=points, donor=lambda: self._donor(index, rng))
        return None if made is None else made[0]


def balanced_weights(
    rows: list[dict[str, str]],
    source_temperature: float = 0.5,
    source_weights: dict[str, float] | None = None,
) -> torch.Tensor:
    """Sampling weights: labels equal within each source; sources ∝ size**temperature.

    Why: DFDC has 6x MesoNet's crops and 10x StyleGAN's; tempering keeps the small sources from
    being drowned without repeating their few hundred images endlessly. ``source_weights``
    multiplies a source's share on top (e.g. ``{"stylegan": 2}`` for the source that lags).
    """
    extra = dict(source_weights or {})
    if any(not w > 0 for w in extra.values()):
        raise ValueError(f"source weights must be positive, got {extra}")
    per_cell = Counter((r["source"], r["label"]) for r in rows)
    per_source = Counter(r["source"] for r in rows)
    labels_in = {s: sum(1 for (src, _) in per_cell if src == s) for s in per_source}
    weights = []
    for r in rows:
        source_mass = per_source[r["source"]] ** source_temperature * extra.get(r["source"], 1.0)
        weights.append(source_mass / labels_in[r["source"]] / per_cell[(r["source"], r["label"])])
    w = torch.tensor(weights, dtype=torch.double)
    return w / w.sum()


def make_sampler(
    rows, source_temperature: float, num_samples: int, seed: int, source_weights: dict[str, float] | None = None
) -> WeightedRandomSampler:
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        balanced_weights(rows, source_temperature, source_weights).tolist(),
        num_samples,
        replacement=True,
        generator=generator,
    )
