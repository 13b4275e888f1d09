"""The fakewatch Ray Serve application: ingress + MediaPrep + ImageModel + VideoModel.

``serving.app:build_app`` is the import path for ``serve run`` / ``serve deploy``;
``fakewatch serve`` (``serving.app.cli``) runs it on a local or existing Ray cluster.
"""

from serving.app.args import AppArgs, DeploymentArgs, ModelArgs
from serving.app.builder import build_app, resolve_settings
from serving.app.deployments import ImageModel, MediaPrep, VideoModel
from serving.app.ingress import Ingress, api
from serving.app.workers import BatchStats, CheckFlow, ImageWorker, VideoWorker

__all__ = [
    "AppArgs",
    "BatchStats",
    "CheckFlow",
    "DeploymentArgs",
    "ImageModel",
    "ImageWorker",
    "Ingress",
    "MediaPrep",
    "ModelArgs",
    "VideoModel",
    "VideoWorker",
    "api",
    "build_app",
    "resolve_settings",
]
