"""Typed arguments of the application builder (Ray Serve "app builder" style).

Why pydantic: the same object is filled from Python (tests, ``fakewatch serve``), from the
``args:`` block of ``serve_config.yaml`` and from ``serve run serving.app:build_app key=value``,
and a typo must fail at deploy time, not as a silent default.
Unset fields (``None``) fall back to ``fakewatch.settings`` so one env var configures every path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DeploymentArgs(BaseModel):
    """Resources and queueing of one deployment."""

    model_config = ConfigDict(extra="forbid")

    num_replicas: int | Literal["auto"] = 1
    min_replicas: int = 1  # only with num_replicas="auto"
    max_replicas: int = 4  # only with num_replicas="auto"
    num_cpus: float = 1.0
    num_gpus: float | None = None  # None: settings.num_gpus_per_model for models, 0 otherwise
    max_ongoing_requests: int | None = None
    max_queued_requests: int = -1  # -1: unbounded at the caller; >0: BackPressureError → 503


class ModelArgs(DeploymentArgs):
    """A model deployment: batching knobs on top of resources."""

    max_batch_size: int | None = None  # requests per batch; 1 = batching off
    batch_wait_timeout_s: float | None = None
    max_items_per_forward: int = 64  # crops (or tracks) per forward pass, whatever the batch
    torch_threads: int | None = None  # None: leave torch's default


class AppArgs(BaseModel):
    """Everything ``build_app`` needs; see serving/app/README.md for the YAML form."""

    model_config = ConfigDict(extra="forbid")

    # Overrides of fakewatch.settings.Settings fields (names without the FAKEWATCH_ prefix),
    # e.g. {"frames_per_video": 8, "max_file_bytes": 1048576}.
    settings: dict[str, Any] = Field(default_factory=dict)
    request_timeout_s: float | None = None  # None: settings.request_timeout_s; over it → 504
    max_in_flight: int = 64  # checks at once per ingress replica; over it → 503 + Retry-After
    retry_after_s: int = 2
    # Share the models of an application already running under this name (a second ingress
    # with other limits, e.g. a public page beside the bot's API) instead of deploying new ones.
    share_models_from: str | None = None
    # Import path of the engine class every replica builds (the stage methods of DEVELOPERS.md).
    engine: str = "serving.engine:Engine"
    # The address the Serve HTTP proxy listens on (`fakewatch serve` fills it in; None: the
    # settings' http_host). With settings.api_access "auto" it decides whether API keys are
    # required: not on a loopback-only bind, yes on any other. Keep it equal to
    # http_options.host when deploying from a Serve config.
    bind_host: str | None = None

    # Defaults fit a 2-CPU laptop (Ray's CPUs are logical: 0.1 + 3 × 0.5 = 1.6); raise them on
    # bigger machines, or a replica that asks for more than the cluster has stays pending.
    ingress: DeploymentArgs = Field(default_factory=lambda: DeploymentArgs(num_cpus=0.1))
    prep: DeploymentArgs = Field(default_factory=lambda: DeploymentArgs(num_cpus=0.5))
    prep_threads: int = 2  # decode/face-detection threads per MediaPrep replica
    image: ModelArgs = Field(default_factory=lambda: ModelArgs(num_cpus=0.5))
    video: ModelArgs = Field(default_factory=lambda: ModelArgs(num_cpus=0.5))
