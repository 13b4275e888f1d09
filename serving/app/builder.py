"""The application builder: ``serving.app:build_app`` for ``serve run`` / ``serve deploy``.

Resources, replicas, queue bounds and batch sizes all come from ``AppArgs`` (which falls back to
``fakewatch.settings``), never from constants in the code, so a CPU laptop, a GPU box and a
KubeRay cluster run the same code with different YAML.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Application
from ray.serve.config import AutoscalingConfig, BackpressureConfig

from serving.app.access import resolve_mode
from serving.app.args import AppArgs, DeploymentArgs, ModelArgs
from serving.app.constants import IMAGE_MODEL, MEDIA_PREP, VIDEO_MODEL
from serving.app.deployments import ENGINE_KEY, ImageModel, MediaPrep, VideoModel
from serving.app.ingress import Ingress


def resolve_settings(args: AppArgs) -> dict[str, Any]:
    """Settings as plain JSON: resolved once here, identical everywhere. The replicas get only
    what they read (``SERVICE_SETTINGS["replica"]``: no secrets, no bot or DB configuration);
    the builder itself also reads the serving keys (batch sizes, GPUs, timeout)."""
    from fakewatch.settings import SERVICE_SETTINGS, Settings

    settings = Settings("serving", **args.settings)
    return {**settings.model_dump(mode="json", include=set(SERVICE_SETTINGS["serving"])), ENGINE_KEY: args.engine}


def access_args(args: AppArgs) -> dict[str, Any]:
    """The ingress's access policy as plain values (``serving.app.access.Access`` arguments)."""
    from fakewatch.settings import Settings

    settings = Settings("serving", **args.settings)
    mode = resolve_mode(settings.api_access, args.bind_host or settings.http_host)
    return {
        "mode": mode,
        "keys_file": str(settings.api_keys_path),
        "public_requests_per_minute": settings.public_requests_per_minute,
        "public_bytes_per_hour": settings.public_bytes_per_hour,
        "trusted_proxies": list(settings.trusted_proxies),
    }


def _deployment(cls: Any) -> Any:
    """A ``@serve.deployment`` class (typed as its own class, though it is a Deployment)."""
    return cls


def _options(d: DeploymentArgs, *, default_gpus: float, default_ongoing: int) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "ray_actor_options": {
            "num_cpus": d.num_cpus,
            "num_gpus": default_gpus if d.num_gpus is None else d.num_gpus,
        },
        "max_ongoing_requests": d.max_ongoing_requests or default_ongoing,
        "max_queued_requests": d.max_queued_requests,
    }
    if d.num_replicas == "auto":
        opts["num_replicas"] = "auto"
        opts["autoscaling_config"] = AutoscalingConfig(
            min_replicas=d.min_replicas, max_replicas=d.max_replicas, target_ongoing_requests=2
        )
    else:
        opts["num_replicas"] = d.num_replicas
    return opts


def _model_kwargs(m: ModelArgs, *, batch: int, wait: float) -> dict[str, Any]:
    return {
        "max_batch_size": m.max_batch_size or batch,
        "batch_wait_timeout_s": wait if m.batch_wait_timeout_s is None else m.batch_wait_timeout_s,
        "max_items_per_forward": m.max_items_per_forward,
        "torch_threads": m.torch_threads,
    }


def build_app(args: AppArgs | dict[str, Any] | None = None) -> Application:
    """MediaPrep + ImageModel + VideoModel behind the HTTP ingress, configured by ``args``."""
    if not isinstance(args, AppArgs):
        args = AppArgs.model_validate(args or {})
    settings = resolve_settings(args)
    gpus = float(settings["num_gpus_per_model"])
    timeout = args.request_timeout_s or float(settings["request_timeout_s"])

    if args.share_models_from:
        # Handles to another application's deployments: a second ingress, other limits.
        app = args.share_models_from
        prep: Any = serve.get_deployment_handle(MEDIA_PREP, app_name=app)
        image: Any = serve.get_deployment_handle(IMAGE_MODEL, app_name=app)
        video: Any = serve.get_deployment_handle(VIDEO_MODEL, app_name=app)
    else:
        image_batch = args.image.max_batch_size or int(settings["image_batch_size"])
        video_batch = args.video.max_batch_size or int(settings["video_batch_size"])
        image = (
            _deployment(ImageModel)
            .options(**_options(args.image, default_gpus=gpus, default_ongoing=max(2 * image_batch, 8)))
            .bind(
                settings,
                **_model_kwargs(args.image, batch=image_batch, wait=float(settings["batch_wait_s"])),
            )
        )
        video = (
            _deployment(VideoModel)
            .options(**_options(args.video, default_gpus=gpus, default_ongoing=max(2 * video_batch, 4)))
            .bind(
                settings,
                **_model_kwargs(args.video, batch=video_batch, wait=float(settings["batch_wait_s"])),
            )
        )
        # MediaPrep waits on the models most of the time: it must hold many checks at once so
        # that they can meet in the models' batches; its CPU work is bounded by prep_threads.
        prep = (
            _deployment(MediaPrep)
            .options(**_options(args.prep, default_gpus=0.0, default_ongoing=max(args.max_in_flight, 8)))
            .bind(settings, image, video, threads=args.prep_threads)
        )

    # The ingress admits up to 2 × max_in_flight + 16 so that overload gets OUR JSON 503; beyond
    # that the proxy holds a bounded queue (requests pass through it even when replicas are
    # free, so it must absorb bursts) and then answers 503 + Retry-After itself.
    ingress_opts = _options(args.ingress, default_gpus=0.0, default_ongoing=2 * args.max_in_flight + 16)
    if args.ingress.max_queued_requests == -1:
        ingress_opts["max_queued_requests"] = 2 * args.max_in_flight + 64
    ingress_opts["backpressure_config"] = BackpressureConfig(retry_after_s=args.retry_after_s)
    return (
        _deployment(Ingress)
        .options(**ingress_opts)
        .bind(
            prep,
            image,
            video,
            access=access_args(args),
            max_file_bytes=int(settings["max_file_bytes"]),
            request_timeout_s=timeout,
            max_in_flight=args.max_in_flight,
            retry_after_s=args.retry_after_s,
        )
    )
