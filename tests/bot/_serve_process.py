"""The REAL serving app (``python -m serving.app.cli``, Ray Serve, tiny untrained checkpoints) as
a subprocess that a test can SIGKILL and start again on the same port.

Shared by the bot's real-app tests and the soak. Its own process group (``start_new_session``)
so a kill takes Ray's raylet, GCS and workers down with it, as a crashed host would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Fractional CPUs so every deployment fits on a 2-CPU local Ray (as tests/serving_app).
SMALL_RAY = ["--num-cpus", "2", "--set", "ingress.num_cpus=0.1", "--set", "prep.num_cpus=0.3",
             "--set", "prep_threads=1", "--set", "image.num_cpus=0.3", "--set", "image.torch_threads=1",
             "--set", "video.num_cpus=0.3", "--set", "video.torch_threads=1"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def tiny_checkpoints(root: Path, *, image_version: str = "2.0.0", video_version: str = "1.1.0",
                     image_training: dict | None = None) -> tuple[Path, Path]:  # fmt: skip
    """Untrained tiny image and video checkpoints (safetensors + card) under ``root``."""
    from serving.models import init_checkpoint, save_checkpoint

    extra = {"training": image_training} if image_training is not None else {}
    image = init_checkpoint("image", name="tiny-bot-serve-image", architecture="tiny_cnn", input_size=64,
                            version=image_version, **extra)  # fmt: skip
    video = init_checkpoint("video", name="tiny-bot-serve-video", architecture="tiny_lstm",
                            input_size=32, sequence_length=4, version=video_version)  # fmt: skip
    save_checkpoint(image.model, image.card, root / "image")
    save_checkpoint(video.model, video.card, root / "video")
    return root / "image", root / "video"


class ServeProcess:
    """``fakewatch serve`` on a fixed port; ``start()`` waits until /v1/health answers 200."""

    def __init__(self, root: Path, image: Path, video: Path, *, port: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.root = root
        self.port = port or free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "RAY_ADDRESS"))}
        self.env.update(
            FAKEWATCH_ENVIRONMENT="test",
            FAKEWATCH_IMAGE_MODEL=str(image),
            FAKEWATCH_VIDEO_MODEL=str(video),
            FAKEWATCH_FRAMES_PER_VIDEO="4",
            FAKEWATCH_DEVICE="cpu",
            FAKEWATCH_DATA_DIR=str(root / "data"),
            **(extra_env or {}),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = root / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def start(self, timeout_s: float = 240.0) -> None:
        self.launch()
        self.wait_healthy(timeout_s)

    def launch(self) -> None:
        """Start without waiting (the soak keeps its traffic going while serving comes back)."""
        deadline = time.monotonic() + 30
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.5)  # a killed proxy's socket lingers for a moment
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "serving.app.cli", "--port", str(self.port), *SMALL_RAY],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def wait_healthy(self, timeout_s: float = 240.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakewatch serve exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"fakewatch serve never became healthy: {self.log_tail()}")
            time.sleep(1.0)

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, as a crash."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """A clean stop (SIGINT: Serve and its local Ray shut down), SIGKILL if it hangs."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
