"""One real Ray Serve application for the whole test session (Ray startup is slow on this CPU).

Three applications share one set of model replicas:

* ``fakewatch`` at ``/``: the app as ``fakewatch serve`` builds it, with tiny untrained
  checkpoints and 4 frames per video so the tests stay fast;
* ``small`` at ``/small``: a second ingress on the same models with a 100 kB cap and at most one
  check in flight (413 and 503 tests);
* ``hasty`` at ``/hasty``: a second ingress whose request timeout is 50 ms (504 test).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SMALL_CAP_BYTES = 100_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_tiny_checkpoints(root: Path) -> tuple[Path, Path]:
    """Untrained tiny models saved as real checkpoints (the replicas load them from disk)."""
    import torch

    from serving.models import init_checkpoint, save_checkpoint

    torch.manual_seed(0)  # the same weights every session: stable scores, stable screenshot
    image = init_checkpoint("image", name="tiny-test-image", architecture="tiny_cnn", input_size=64)
    video = init_checkpoint(
        "video", name="tiny-test-video", architecture="tiny_lstm", input_size=32, sequence_length=4
    )
    image_dir, video_dir = root / "image", root / "video"
    save_checkpoint(image.model, image.card, image_dir)
    save_checkpoint(video.model, video.card, video_dir)
    return image_dir, video_dir


@dataclass
class ServeApp:
    port: int
    image_dir: Path
    video_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def main_args(self) -> dict:
        return {
            "settings": {
                "image_model": str(self.image_dir),
                "video_model": str(self.video_dir),
                "frames_per_video": 4,
                "device": "cpu",
            },
            "request_timeout_s": 120,
            "max_in_flight": 64,
            "prep_threads": 2,
            "ingress": {"num_cpus": 0.1},
            "prep": {"num_cpus": 0.3, "max_ongoing_requests": 64},
            # A generous batch wait so that concurrent requests visibly meet in one batch.
            "image": {"num_cpus": 0.3, "max_batch_size": 16, "batch_wait_timeout_s": 0.25,
                      "max_ongoing_requests": 64, "torch_threads": 1},
            "video": {"num_cpus": 0.3, "max_batch_size": 4, "batch_wait_timeout_s": 0.05,
                      "torch_threads": 1},
        }

    def deploy(self) -> None:
        """(Re)deploy the three applications and wait for them to answer."""
        import urllib.request

        from ray import serve

        from serving.app import build_app

        serve.start(http_options={"host": "127.0.0.1", "port": self.port})
        serve.run(build_app(self.main_args()), name="fakewatch", route_prefix="/")
        shared = {"share_models_from": "fakewatch", "ingress": {"num_cpus": 0.1},
                  "settings": {"image_model": str(self.image_dir), "video_model": str(self.video_dir)}}
        serve.run(
            build_app({**shared, "settings": {**shared["settings"], "max_file_bytes": SMALL_CAP_BYTES},
                       "max_in_flight": 1, "retry_after_s": 3}),
            name="small", route_prefix="/small",
        )
        serve.run(build_app({**shared, "request_timeout_s": 0.05}), name="hasty", route_prefix="/hasty")
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=10) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def serve_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeApp]:
    import ray
    from ray import serve

    from serving.app._cli import use_throughput_mode

    use_throughput_mode()  # the Serve settings `fakewatch serve` runs with
    image_dir, video_dir = write_tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    app = ServeApp(port=_free_port(), image_dir=image_dir, video_dir=video_dir)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        app.deploy()
        yield app
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def face_image(shared_data: Path, serve_app: ServeApp) -> Path:
    """A real face photo in which the engine finds a face (checked through the app itself)."""
    import json
    import urllib.request

    candidates = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[:6]
    candidates += sorted((shared_data / "faces" / "dfdc" / "real").glob("*.jpg"))[:6]
    for path in candidates:
        req = urllib.request.Request(
            serve_app.url + "/v1/check", data=path.read_bytes(), method="POST",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            if json.loads(resp.read())["faces"]:
                return path
    pytest.fail("the engine found no face in any candidate photo from ../shared/data/faces")
