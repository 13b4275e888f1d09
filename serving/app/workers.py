"""The logic behind each deployment, as plain classes (unit-testable without Ray).

Ray maintainers' advice (ray-project/ray#44464): keep logic in ordinary classes and make the
``@serve.deployment`` classes thin. So ``MediaPrep`` is a ``CheckFlow``, ``ImageModel`` an
``ImageWorker`` and ``VideoModel`` a ``VideoWorker``; the deployments only add ``@serve.batch``,
resources and handles.

Why ``CheckFlow`` runs in the MediaPrep replica rather than in the ingress: the prepared media
(decoded frames) is large for videos; keeping it in the process that decoded it means only the
small face crops travel to the model replicas (and the frames only when a heat map is asked for).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from serving.contract import CheckResult, Verdict

ScoreImages = Callable[[np.ndarray], Awaitable[np.ndarray]]
ScoreTracks = Callable[[list[np.ndarray]], Awaitable[list[tuple[float, np.ndarray]]]]
Annotate = Callable[[Any, CheckResult], Awaitable[bytes]]


class BatchStats:
    """What batches a model replica actually ran: the proof that dynamic batching works."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.requests = 0
        self.items = 0
        self.busy_s = 0.0
        self.sizes: Counter[int] = Counter()  # requests per batch -> how many batches

    def record(self, n_requests: int, n_items: int, seconds: float) -> None:
        with self._lock:
            self.batches += 1
            self.requests += n_requests
            self.items += n_items
            self.busy_s += seconds
            self.sizes[n_requests] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "batches": self.batches,
                "requests": self.requests,
                "items": self.items,
                "max_batch_requests": max(self.sizes, default=0),
                "mean_batch_requests": round(self.requests / self.batches, 3) if self.batches else 0.0,
                "batch_sizes": {str(k): v for k, v in sorted(self.sizes.items())},
                "busy_s": round(self.busy_s, 3),
            }


def _split(values: Sequence[Any] | np.ndarray, sizes: Sequence[int]) -> list[Any]:
    out, start = [], 0
    for n in sizes:
        out.append(values[start : start + n])
        start += n
    return out


def accelerate(engine: Any, task: str) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """Load the model now; on a GPU use channels-last and bf16/fp16 autocast for scoring.

    Autocast rather than half weights: Grad-CAM (annotate) calls parts of the network
    directly with float32 input and needs gradients, which half weights would break.
    """
    ckpt = getattr(engine, f"{task}_checkpoint")  # loads the network once, at replica start
    device = str(getattr(engine, "device", "cpu"))
    if not device.startswith("cuda"):
        return contextlib.nullcontext
    import torch

    ckpt.model.to(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return functools.partial(torch.autocast, device_type="cuda", dtype=dtype)


class ImageWorker:
    """Scores face crops from many requests in one pass and draws heat maps (image CNN)."""

    def __init__(self, engine: Any, *, max_items_per_forward: int = 64) -> None:
        self.engine = engine
        self.max_items_per_forward = max(1, int(max_items_per_forward))
        self.stats = BatchStats()
        self.precision = accelerate(engine, "image")

    def score_many(self, crop_sets: list[np.ndarray]) -> list[np.ndarray]:
        """One array of crops per request in, one array of probabilities per request out."""
        start = time.perf_counter()
        sizes = [len(c) for c in crop_sets]
        nonempty = [np.asarray(c) for c in crop_sets if len(c)]
        if not nonempty:
            self.stats.record(len(crop_sets), 0, time.perf_counter() - start)
            return [np.zeros(0, dtype=np.float32) for _ in crop_sets]
        crops = np.concatenate(nonempty)
        step = self.max_items_per_forward
        with self.precision():
            probs = np.concatenate(
                [np.asarray(self.engine.score_images(crops[i : i + step])) for i in range(0, len(crops), step)]
            ).astype(np.float32)
        self.stats.record(len(crop_sets), len(crops), time.perf_counter() - start)
        return _split(probs, sizes)

    def annotate(self, prepared: Any, result: CheckResult) -> bytes:
        return self.engine.annotate(prepared, result)

    def card(self) -> dict[str, Any]:
        return _card_dict(self.engine, "image")

    def health(self) -> None:
        """A tiny forward pass: raises if the model cannot run."""
        size = _card_attr(self.engine, "image", "input_size", 32)
        probs = np.asarray(self.engine.score_images(np.zeros((1, size, size, 3), dtype=np.uint8)))
        if probs.shape != (1,) or not np.isfinite(probs).all():
            raise RuntimeError(f"image model health check gave {probs!r}")


class VideoWorker:
    """Scores face tracks from many requests in one pass (ResNeXt-LSTM)."""

    def __init__(self, engine: Any, *, max_items_per_forward: int = 8) -> None:
        self.engine = engine
        self.max_items_per_forward = max(1, int(max_items_per_forward))
        self.stats = BatchStats()
        self.precision = accelerate(engine, "video")

    def score_many(self, track_sets: list[list[np.ndarray]]) -> list[list[tuple[float, np.ndarray]]]:
        start = time.perf_counter()
        sizes = [len(t) for t in track_sets]
        tracks = [seq for seqs in track_sets for seq in seqs]
        scores: list[tuple[float, np.ndarray]] = []
        step = self.max_items_per_forward
        with self.precision():
            for i in range(0, len(tracks), step):
                scores.extend(self.engine.score_tracks(tracks[i : i + step]))
        self.stats.record(len(track_sets), len(tracks), time.perf_counter() - start)
        return _split(scores, sizes)

    def card(self) -> dict[str, Any]:
        return _card_dict(self.engine, "video")

    def health(self) -> None:
        size = _card_attr(self.engine, "video", "input_size", 32)
        length = _card_attr(self.engine, "video", "sequence_length", 2) or 2
        seq = np.zeros((min(int(length), 2), size, size, 3), dtype=np.uint8)
        out = self.engine.score_tracks([seq])
        if len(out) != 1 or not np.isfinite(float(out[0][0])):
            raise RuntimeError(f"video model health check gave {out!r}")


class CheckFlow:
    """One check end to end: decode + faces here, scores from the model deployments.

    CPU work (decode, face detection, assembly) runs in a small thread pool so the replica's
    event loop keeps accepting requests: many checks then wait on the models at the same time,
    which is what lets ``@serve.batch`` form batches across users.
    """

    def __init__(
        self,
        engine: Any,
        *,
        score_images: ScoreImages,
        score_tracks: ScoreTracks,
        annotate: Annotate,
        threads: int = 2,
    ) -> None:
        self.engine = engine
        self._score_images = score_images
        self._score_tracks = score_tracks
        self._annotate = annotate
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="prep")

    async def _cpu(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def check(
        self, data: bytes, path: str | None = None, annotate: bool = False
    ) -> tuple[CheckResult, bytes | None]:
        prepare = functools.partial(self.engine.prepare, with_views=annotate)
        prepared = await self._cpu(prepare, data, path)
        if isinstance(prepared, CheckResult):
            return prepared, None

        crops = image_crops(prepared)
        tracks = track_sequences(prepared)
        models_start = time.perf_counter()
        image_probs, track_scores = await asyncio.gather(
            self._score_images(crops) if len(crops) else _done(np.zeros(0, dtype=np.float32)),
            self._score_tracks(tracks) if tracks else _done([]),
        )
        models_ms = (time.perf_counter() - models_start) * 1000
        # Inline, not in the pool: assembling is milliseconds of numpy, and queueing it behind
        # other requests' decodes would hold every answer until the whole backlog is decoded.
        result: CheckResult = self.engine.assemble(
            prepared, np.asarray(image_probs), list(track_scores), timings_ms={"models": models_ms}
        )

        jpeg = None
        if annotate and result.verdict != Verdict.INVALID:
            jpeg = await self._annotate(prepared, result)
        return result, jpeg

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _done(value: Any) -> Any:
    return value


# -- where the engine keeps things (one place to adapt if the engine's Prepared changes) ---------
def image_crops(prepared: Any) -> np.ndarray:
    """Every face crop the image CNN must score, [N,S,S,3] uint8."""
    crops = prepared.crops
    return np.asarray(crops) if len(crops) else np.zeros((0, 1, 1, 3), dtype=np.uint8)


def track_sequences(prepared: Any) -> list[np.ndarray]:
    """One [T,S,S,3] uint8 sequence per face track (videos; empty for images)."""
    if not getattr(prepared, "tracks", None):
        return []
    return list(prepared.track_sequences())


def _card(engine: Any, task: str) -> Any:
    return getattr(engine, f"{task}_card", None)


def _card_attr(engine: Any, task: str, name: str, default: Any) -> Any:
    card = _card(engine, task)
    return getattr(card, name, default) if card is not None else default


def _card_dict(engine: Any, task: str) -> dict[str, Any]:
    card = _card(engine, task)
    if card is None:
        return {}
    from serving.models import card_json

    return card_json(card)
