"""The real ``serving.engine.Engine`` at test size for the bot's end-to-end tests.

Real decode, real HOG face detection, real networks and Grad-CAM — only small: the tiny
architectures (untrained, so the verdicts are arbitrary but honest: ``trained: false``),
4 frames per video and a 320 px detection side. Imported lazily: it pulls in torch and dlib.
"""

from __future__ import annotations

from typing import Any

import torch

from fakewatch.settings import Settings


def build_test_engine(settings: Settings) -> Any:
    from serving.engine import Engine
    from serving.models import init_checkpoint

    torch.manual_seed(0)  # the same tiny weights every run: reproducible verdicts
    image = init_checkpoint(
        "image", architecture="tiny_cnn", input_size=64, name="tiny-cnn-bot-tests", arch_args={"width": 8}
    )
    video = init_checkpoint(
        "video", architecture="tiny_lstm", input_size=64, sequence_length=4,
        name="tiny-lstm-bot-tests", arch_args={"width": 8},
    )  # fmt: skip
    return Engine(settings, image_ckpt=image, video_ckpt=video, frames=4)
