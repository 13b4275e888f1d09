"""``fakewatch run`` (what ``make run`` starts): up, healthy, checks a real video, stops clean.

Slow on purpose (a real local Ray, the Serve app and the console); one test covers the whole
entry point: start, wait for health, POST a video, Ctrl-C, and nothing left running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_mentioning(marker: str) -> list[int]:
    """Processes whose command line or environment names ``marker`` (our temp data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(entry.name))
    return found


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_run_serves_a_video_and_stops_cleanly(tmp_path: Path, shared_videos: dict[str, Path]) -> None:
    http_port, console_port = _free_port(), _free_port()
    data_dir = tmp_path / "fakewatch-run-data"
    env = dict(
        os.environ,
        FAKEWATCH_ENVIRONMENT="local",
        FAKEWATCH_DATA_DIR=str(data_dir),
        FAKEWATCH_HTTP_PORT=str(http_port),
        FAKEWATCH_SERVING_URL=f"http://127.0.0.1:{http_port}",
        FAKEWATCH_CONSOLE_PORT=str(console_port),
        FAKEWATCH_FRAMES_PER_VIDEO="8",
    )
    env.pop("FAKEWATCH_TELEGRAM_TOKEN", None)
    env.pop("FAKEWATCH_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakewatch.cli", "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    output: list[str] = []
    try:
        deadline = time.monotonic() + 420
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v1/health", timeout=3) as r:
                    healthy = r.status == 200
            except OSError:
                pass
            if healthy:
                break
            time.sleep(2)
        if not healthy:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("fakewatch run never became healthy:\n" + proc.communicate()[0][-3000:])
        video = shared_videos["ffpp_cyshih704_fake"].read_bytes()
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/v1/check", data=video, method="POST",
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=300) as r:
            result = json.loads(r.read())
        assert result["kind"] == "video" and result["frames_sampled"] == 8
        assert result["verdict"] in {"real", "uncertain", "fake", "no_face"}
        assert result["model"]["name"] and result["model"]["version"]
        # the console came up too, and the SQLite database was migrated in the data dir
        deadline = time.monotonic() + 60
        while not _port_open(console_port) and time.monotonic() < deadline:
            time.sleep(1)
        assert _port_open(console_port), "operator console did not start"
        assert (data_dir / "fakewatch.sqlite3").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        output.append(out or "")
    log = "".join(output)
    assert proc.returncode == 0, log[-3000:]
    assert "Telegram bot not started: set FAKEWATCH_TELEGRAM_TOKEN" in log
    time.sleep(2)
    leftovers = _pids_mentioning(str(data_dir))
    assert not leftovers, f"processes left running: {leftovers}\n{log[-2000:]}"
    assert not _port_open(http_port) and not _port_open(console_port)
