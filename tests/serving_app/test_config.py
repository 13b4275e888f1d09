"""Builder arguments, the shipped Serve config, and the ``fakewatch serve`` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serving.app import AppArgs
from serving.app.cli import _args_from_config, _parse_set
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / "serving" / "app" / "serve_config.yaml"


def test_shipped_serve_config_is_valid() -> None:
    doc = yaml.safe_load(CONFIG.read_text())
    (app,) = doc["applications"]
    assert app["import_path"] == "serving.app:build_app" and app["route_prefix"] == "/"
    args = AppArgs.model_validate(app["args"])
    assert args.image.max_batch_size and args.prep.num_replicas == "auto"
    from_cli, http = _args_from_config(CONFIG)
    assert from_cli == app["args"] and http["port"] == 8000


def test_typos_in_args_fail_loudly() -> None:
    with pytest.raises(ValidationError):
        AppArgs.model_validate({"image": {"max_batchsize": 8}})
    with pytest.raises(ValidationError):
        AppArgs.model_validate({"max_in_fligth": 3})


def test_set_overrides_nest_and_parse_values() -> None:
    assert _parse_set(["image.max_batch_size=8", "settings.device=cpu", "max_in_flight=3"]) == {
        "image": {"max_batch_size": 8},
        "settings": {"device": "cpu"},
        "max_in_flight": 3,
    }
    with pytest.raises(SystemExit):
        _parse_set(["novalue"])


def test_builder_resolves_settings_without_secrets() -> None:
    from serving.app import build_app, resolve_settings

    settings = resolve_settings(AppArgs(settings={"frames_per_video": 5}))
    assert settings["frames_per_video"] == 5
    assert not {"telegram_token", "pseudonym_secret", "operator_token", "database_url"} & set(settings)
    app = build_app({"image": {"max_batch_size": 1}, "settings": {"device": "cpu"}})
    assert app is not None


@pytest.mark.slow
def test_fakewatch_serve_starts_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    from tests.serving_app.conftest import write_tiny_checkpoints

    image_dir, video_dir = write_tiny_checkpoints(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "FAKEWATCH_IMAGE_MODEL": str(image_dir),
        "FAKEWATCH_VIDEO_MODEL": str(video_dir),
        "FAKEWATCH_DEVICE": "cpu",
        "FAKEWATCH_RAY_ADDRESS": "",
        "RAY_ADDRESS": "",
    }
    # The defaults must fit a 2-CPU machine (a replica asking for more would stay pending).
    cmd = [
        sys.executable,
        "-m",
        "fakewatch.cli",
        "serve",
        "--port",
        str(port),
        "--num-cpus",
        "2",
        "--set",
        "settings.frames_per_video=4",
    ]
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "fakewatch serve never became healthy"
            time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_throughput_mode_fills_only_what_the_operator_left_unset() -> None:
    from serving.app.cli import use_throughput_mode
    from serving.app.constants import RAY_SERVE_ENV

    environ = {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "0", "PATH": "/bin"}
    in_effect = use_throughput_mode(environ)
    assert environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "0"  # an operator's choice wins
    assert environ["RAY_SERVE_ENABLE_DIRECT_INGRESS"] == "0"  # the proxy keeps FAKEWATCH_HTTP_PORT
    assert set(in_effect) == set(RAY_SERVE_ENV) and environ["PATH"] == "/bin"


def test_ray_processes_of_the_app_run_in_throughput_mode(serve_app) -> None:
    """What `fakewatch serve` sets before ``ray.init`` reaches the processes Ray starts."""
    import ray

    from serving.app.constants import RAY_SERVE_ENV

    @ray.remote(num_cpus=0)
    def serve_env() -> dict[str, str | None]:
        return {key: os.environ.get(key) for key in RAY_SERVE_ENV}

    assert ray.get(serve_env.remote(), timeout=60) == RAY_SERVE_ENV


def test_joining_ray_retries_a_refused_connection_then_gives_up():
    from serving.app.cli import _join_cluster

    class FlakyRay:
        def __init__(self, failures: int) -> None:
            self.failures, self.calls, self.shutdowns = failures, 0, 0

        def init(self, address: str) -> None:
            self.calls += 1
            if self.calls <= self.failures:
                raise ConnectionAbortedError("Initialization failure from server")

        def shutdown(self) -> None:
            self.shutdowns += 1

    ray = FlakyRay(failures=2)
    _join_cluster(ray, "ray://head:10001", attempts=3, first_wait_s=0.01)
    assert (ray.calls, ray.shutdowns) == (3, 2)
    never = FlakyRay(failures=99)
    with pytest.raises(ConnectionAbortedError):
        _join_cluster(never, "ray://head:10001", attempts=3, first_wait_s=0.01)
    assert never.calls == 3
