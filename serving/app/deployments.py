"""The Ray Serve deployments: thin shells around the plain classes in ``_workers``.

Each model replica loads its checkpoint once (in ``__init__``) and runs every torch call on ONE
thread of its own: batches, heat maps and health probes never run the model concurrently, and
the event loop stays free to queue requests into the next batch meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from ray import serve
from ray.serve.handle import DeploymentHandle

from serving.app.constants import IMAGE_MODEL, MEDIA_PREP, VIDEO_MODEL
from serving.app.workers import CheckFlow, ImageWorker, VideoWorker
from serving.contract import CheckResult

logger = logging.getLogger("fakewatch.serving")

# Defaults only: the builder always sets the real values from AppArgs.
_DEFAULT_IMAGE_BATCH = 16
_DEFAULT_VIDEO_BATCH = 4
_DEFAULT_WAIT_S = 0.02


ENGINE_KEY = "_engine"  # where the builder puts AppArgs.engine inside the settings dict


def make_engine(settings: dict[str, Any]) -> Any:
    """One Engine per replica, from the settings the builder resolved on the driver."""
    import importlib

    from fakewatch.settings import Settings

    fields = dict(settings)
    module_name, _, class_name = str(fields.pop(ENGINE_KEY, "serving.engine:Engine")).partition(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    return engine_class(Settings("replica", **fields))


class _ModelReplica:
    """What ImageModel and VideoModel share: one torch thread, batch knobs, stats, health."""

    worker: ImageWorker | VideoWorker
    score: Any  # the subclass's @serve.batch method (with set_max_batch_size & co.)

    def _setup(self, max_batch_size: int, batch_wait_timeout_s: float, torch_threads: int | None) -> None:
        if torch_threads:
            import torch

            torch.set_num_threads(int(torch_threads))
        self._torch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torch")
        self._busy_since: float | None = None
        self.reconfigure({"max_batch_size": max_batch_size, "batch_wait_timeout_s": batch_wait_timeout_s})

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        self._busy_since = self._busy_since or time.monotonic()
        try:
            return await loop.run_in_executor(self._torch, fn, *args)
        finally:
            self._busy_since = None

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Batch knobs can change at runtime (Serve ``user_config``), e.g. batching off = 1."""
        if "max_batch_size" in config:
            self.score.set_max_batch_size(int(config["max_batch_size"]))
        if "batch_wait_timeout_s" in config:
            self.score.set_batch_wait_timeout_s(float(config["batch_wait_timeout_s"]))

    async def check_health(self) -> None:
        """A tiny forward pass, unless a batch is running right now (that proves life already)."""
        if self._busy_since is not None:
            return
        await self._run(self.worker.health)

    def card(self) -> dict[str, Any]:
        return self.worker.card()

    def stats(self) -> dict[str, Any]:
        return self.worker.stats.snapshot()

    def ping(self) -> dict[str, Any]:
        card = self.worker.card()
        return {
            "name": card.get("name"),
            "version": card.get("version"),
            "trained": card.get("trained"),
            "busy": self._busy_since is not None,
        }


@serve.deployment(name=IMAGE_MODEL, health_check_period_s=30, health_check_timeout_s=60)
class ImageModel(_ModelReplica):
    """The image CNN: ``@serve.batch`` merges crops of many requests into one forward pass."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        max_batch_size: int = _DEFAULT_IMAGE_BATCH,
        batch_wait_timeout_s: float = _DEFAULT_WAIT_S,
        max_items_per_forward: int = 64,
        torch_threads: int | None = None,
    ) -> None:
        engine = make_engine(settings)
        self.worker = self.images = ImageWorker(engine, max_items_per_forward=max_items_per_forward)
        self._setup(max_batch_size, batch_wait_timeout_s, torch_threads)

    @serve.batch(max_batch_size=_DEFAULT_IMAGE_BATCH, batch_wait_timeout_s=_DEFAULT_WAIT_S)
    async def score(self, crop_sets: list[np.ndarray]) -> list[np.ndarray]:
        return await self._run(self.worker.score_many, crop_sets)

    async def annotate(self, prepared: Any, result: CheckResult) -> bytes:
        jpeg: bytes = await self._run(self.images.annotate, prepared, result)
        return jpeg


@serve.deployment(name=VIDEO_MODEL, health_check_period_s=30, health_check_timeout_s=60)
class VideoModel(_ModelReplica):
    """The ResNeXt-LSTM: ``@serve.batch`` over the face tracks of many videos."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        max_batch_size: int = _DEFAULT_VIDEO_BATCH,
        batch_wait_timeout_s: float = _DEFAULT_WAIT_S,
        max_items_per_forward: int = 8,
        torch_threads: int | None = None,
    ) -> None:
        engine = make_engine(settings)
        self.worker = VideoWorker(engine, max_items_per_forward=max_items_per_forward)
        self._setup(max_batch_size, batch_wait_timeout_s, torch_threads)

    @serve.batch(max_batch_size=_DEFAULT_VIDEO_BATCH, batch_wait_timeout_s=_DEFAULT_WAIT_S)
    async def score(self, track_sets: list[list[np.ndarray]]) -> list[list[tuple[float, np.ndarray]]]:
        return await self._run(self.worker.score_many, track_sets)


@serve.deployment(name=MEDIA_PREP, health_check_period_s=30, health_check_timeout_s=60)
class MediaPrep:
    """Decode, validate, find faces and cut crops (CPU), then ask the models and assemble."""

    def __init__(
        self,
        settings: dict[str, Any],
        image_model: DeploymentHandle,
        video_model: DeploymentHandle,
        *,
        threads: int = 2,
    ) -> None:
        from serving.provenance import c2pa_context

        c2pa_context()  # load the native C2PA library now, not during the first check
        self._image = image_model
        self._video = video_model
        self.flow = CheckFlow(
            make_engine(settings),
            score_images=lambda crops: self._image.score.remote(crops),
            score_tracks=lambda tracks: self._video.score.remote(tracks),
            annotate=lambda prepared, result: self._image.annotate.remote(prepared, result),
            threads=threads,
        )

    async def check(
        self, data: bytes, path: str | None = None, annotate: bool = False
    ) -> tuple[CheckResult, bytes | None]:
        return await self.flow.check(data, path, annotate)

    def ping(self) -> dict[str, Any]:
        return {"ok": True}

    def __del__(self) -> None:
        flow = getattr(self, "flow", None)
        if flow is not None:
            flow.close()
