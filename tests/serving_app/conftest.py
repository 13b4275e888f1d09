"""One real Ray Serve application for the whole test session (Ray startup is slow on this CPU).

Three applications share one set of model replicas:

* ``fakewatch`` at ``/``: the app as ``fakewatch serve`` builds it, with tiny untrained
  checkpoints and 4 frames per video so the tests stay fast;
* ``small`` at ``/small``: a second ingress on the same models with a 100 kB cap and at most one
  check in flight (413 and 503 tests);
* ``hasty`` at ``/hasty``: a second ingress whose request timeout is 50 ms (504 test);
* ``keyed`` at ``/keyed``: API keys required (``api_access: keys``), keys from ``key_file``, which
  ``fakewatch ops keys`` writes from a real PostgreSQL database (the ``api_keys`` fixture);
* ``public`` at ``/public``: no key needed, 3 requests per minute per client address;
* ``proxied`` at ``/proxied``: the same behind a trusted proxy (127.0.0.1: the tests play it).

The main application binds 127.0.0.1, so its access is "open" (no key needed), as under
``make run``; it reads the same key file, so a key sent to it is checked too.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SMALL_CAP_BYTES = 100_000
CONFIG_PATH = Path(__file__).resolve().parents[2] / "serving" / "app" / "serve_config.yaml"


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
    video = init_checkpoint("video", name="tiny-test-video", architecture="tiny_lstm", input_size=32, sequence_length=4)
    image_dir, video_dir = root / "image", root / "video"
    save_checkpoint(image.model, image.card, image_dir)
    save_checkpoint(video.model, video.card, video_dir)
    return image_dir, video_dir


PUBLIC_REQUESTS_PER_MINUTE = 3


@dataclass
class ServeApp:
    port: int
    image_dir: Path
    video_dir: Path
    key_file: Path

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
                "api_keys_file": str(self.key_file),
            },
            "bind_host": "127.0.0.1",  # what deploy() binds: keys optional, as under make run
            "request_timeout_s": 120,
            "max_in_flight": 64,
            "prep_threads": 2,
            "ingress": {"num_cpus": 0.1},
            "prep": {"num_cpus": 0.3, "max_ongoing_requests": 64},
            # A generous batch wait so that concurrent requests visibly meet in one batch.
            "image": {
                "num_cpus": 0.3,
                "max_batch_size": 16,
                "batch_wait_timeout_s": 0.25,
                "max_ongoing_requests": 64,
                "torch_threads": 1,
            },
            "video": {"num_cpus": 0.3, "max_batch_size": 4, "batch_wait_timeout_s": 0.05, "torch_threads": 1},
        }

    def deploy(self) -> None:
        """(Re)deploy the three applications and wait for them to answer."""
        import urllib.request

        from ray import serve

        from serving.app import build_app

        serve.start(http_options={"host": "127.0.0.1", "port": self.port})
        serve.run(build_app(self.main_args()), name="fakewatch", route_prefix="/")
        shared = {
            "share_models_from": "fakewatch",
            "ingress": {"num_cpus": 0.1},
            "settings": {"image_model": str(self.image_dir), "video_model": str(self.video_dir)},
        }
        serve.run(
            build_app(
                {
                    **shared,
                    "settings": {**shared["settings"], "max_file_bytes": SMALL_CAP_BYTES},
                    "max_in_flight": 1,
                    "retry_after_s": 3,
                }
            ),
            name="small",
            route_prefix="/small",
        )
        serve.run(build_app({**shared, "request_timeout_s": 0.05}), name="hasty", route_prefix="/hasty")
        keyed = {**shared["settings"], "api_keys_file": str(self.key_file)}
        serve.run(
            build_app({**shared, "settings": {**keyed, "api_access": "keys"}}), name="keyed", route_prefix="/keyed"
        )
        public = {**keyed, "api_access": "public", "public_requests_per_minute": PUBLIC_REQUESTS_PER_MINUTE}
        serve.run(build_app({**shared, "settings": public}), name="public", route_prefix="/public")
        serve.run(
            build_app({**shared, "settings": {**public, "trusted_proxies": ["127.0.0.1"]}}),
            name="proxied",
            route_prefix="/proxied",
        )
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

    from serving.app.cli import use_throughput_mode, use_trusted_proxies

    use_throughput_mode()  # the Serve settings `fakewatch serve` runs with
    use_trusted_proxies([])  # ... and its proxy believes no X-Forwarded-For (none trusted)
    image_dir, video_dir = write_tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    key_file = tmp_path_factory.mktemp("keys") / "api_keys.json"
    app = ServeApp(port=_free_port(), image_dir=image_dir, video_dir=video_dir, key_file=key_file)
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
            serve_app.url + "/v1/check",
            data=path.read_bytes(),
            method="POST",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            if json.loads(resp.read())["faces"]:
                return path
    pytest.fail("the engine found no face in any candidate photo from ../shared/data/faces")


@dataclass
class KeyStore:
    """API keys made the way an operator makes them: ``fakewatch ops keys`` on PostgreSQL."""

    database_url: str
    key_file: Path

    def ops(self, *argv: str) -> dict:
        import io
        import json

        from fakewatch.ops_cli import ops_main

        out = io.StringIO()
        code = ops_main(["keys", *argv, "--database-url", self.database_url, "--json"], out=out)
        assert code == 0, f"fakewatch ops keys {' '.join(argv)} failed"
        return json.loads(out.getvalue())

    def create(self, name: str, *, requests_per_minute: int = 600, bytes_per_hour: str = "1G") -> str:
        made = self.ops(
            "create",
            name,
            "--requests-per-minute",
            str(requests_per_minute),
            "--bytes-per-hour",
            bytes_per_hour,
            "--key-file",
            str(self.key_file),
        )
        return made["key"]

    def revoke(self, ident: str) -> dict:
        return self.ops("revoke", ident, "--key-file", str(self.key_file))

    # from async tests (the CLI runs its own event loop): in a worker thread
    async def acreate(self, name: str, **limits: object) -> str:
        import asyncio

        return await asyncio.to_thread(self.create, name, **limits)  # type: ignore[arg-type]

    async def arevoke(self, ident: str) -> dict:
        import asyncio

        return await asyncio.to_thread(self.revoke, ident)


def wait_until_key_works(url: str, key: str, *, expect: int = 200, timeout_s: float = 10.0) -> None:
    """The ingress re-reads the key file at most once a second: wait for it to see a change."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        req = urllib.request.Request(url + "/v1/stats", headers={"Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status == expect:
            return
        time.sleep(0.2)
    pytest.fail(f"the key did not answer {expect} within {timeout_s}s (last {status})")


@pytest.fixture(scope="session")
def key_store(serve_app: ServeApp) -> Iterator[KeyStore]:
    from _postgres import migrated_pg_database

    with migrated_pg_database("fakewatch_keys") as url:
        yield KeyStore(url, serve_app.key_file)
