"""The local run that mirrors docker-compose.yml: a Ray head and a Ray worker started like the
``ray-head`` / ``ray-worker`` services, the Serve app deployed to them by address by
``fakewatch serve`` (the ``serving`` service: Ray Client, ``FAKEWATCH_RAY_ADDRESS``), the
migration, the bot and the console as separate processes on PostgreSQL, each with only its own
settings and its secrets as files (``FAKEWATCH_SECRETS_DIR``), in production mode. A forwarded
video sent through the fake Telegram server must come back answered, and the console must show
the check.

Slow on purpose (two Ray nodes, four Serve deployments, a real clip); tiny untrained models.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from _postgres import migrated_pg_database

from fakewatch.settings import SERVICE_SETTINGS
from serving.app.constants import RAY_SERVE_ENV
from tests.bot.fake_telegram import FakeTelegram, private_chat, user

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAKEWATCH = [sys.executable, "-m", "fakewatch.cli"]
OPERATOR_TOKEN = "operator-token-for-the-cluster-test"
ALICE = user(4242, "Alice")
ALICE_CHAT = private_chat(4242, "Alice")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_env() -> dict[str, str]:
    """A clean process environment: nothing of the test's own FAKEWATCH_* settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", RAY_USAGE_STATS_ENABLED="0")
    return env


def _service_env(service: str, secrets_dir: Path | None, **settings: str) -> dict[str, str]:
    """What compose gives ``service``: only the settings it reads (checked here too)."""
    unused = set(settings) - SERVICE_SETTINGS[service]
    assert not unused, f"test bug: {service} does not read {unused}"
    env = _base_env()
    env.update({f"FAKEWATCH_{k.upper()}": v for k, v in settings.items()})
    if secrets_dir is not None:
        env["FAKEWATCH_SECRETS_DIR"] = str(secrets_dir)
    return env


def _secrets(root: Path, service: str, **values: str) -> Path:
    """A directory like compose's /run/secrets for one service: one file per secret."""
    folder = root / f"secrets-{service}"
    folder.mkdir(mode=0o700)
    for name, value in values.items():
        (folder / f"fakewatch_{name}").write_text(value + "\n")
    return folder


class Processes:
    """Children in their own process groups, stopped group by group, logs kept for failures."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{self.log(n, 2500)}" for n in self.procs)

    def check_alive(self, *names: str) -> None:
        for name in names:
            code = self.procs[name].poll()
            if code is not None:
                pytest.fail(f"{name} exited with {code}:\n{self.log(name)}")

    def stop(self, name: str, sig: int = signal.SIGTERM, wait_s: float = 60.0) -> int | None:
        proc = self.procs[name]
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                pass
        for s in (signal.SIGKILL,):  # whatever the group left behind
            try:
                os.killpg(proc.pid, s)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            return None


def _pids_mentioning(marker: str) -> list[int]:
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


def _kill_all_mentioning(marker: str, wait_s: float) -> None:
    """SIGKILL this test's leftover processes until none is left: a kill lands asynchronously and a
    raylet may start one more worker while it dies, so one pass followed by a look can race."""
    deadline = time.monotonic() + wait_s
    time.sleep(1)
    while (pids := _pids_mentioning(marker)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)


def _describe(pid: int) -> str:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return (
            f"{state} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
        )
    except OSError as exc:
        return f"gone ({exc})"


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


async def _wait_http(url: str, procs: Processes, names: tuple[str, ...], timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive(*names)
        status, body = await asyncio.to_thread(_get, url)
        if status == 200:
            return body
        await asyncio.sleep(2)
    pytest.fail(f"{url} never answered 200 in {timeout}s\n{procs.logs()}")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """Ray's socket paths must stay under ~107 bytes: a short directory, not pytest's tmp_path."""
    path = Path(tempfile.mkdtemp(prefix="fwc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database (the compose `postgres` service), dropped afterwards."""
    with migrated_pg_database("fakewatch_cluster") as url:
        yield url


@pytest.mark.slow
async def test_compose_like_cluster_answers_a_forwarded_video(
    short_tmp: Path, tmp_path: Path, shared_videos: dict[str, Path], pg_url: str
) -> None:
    from tests.serving_app.conftest import write_tiny_checkpoints

    image_dir, video_dir = write_tiny_checkpoints(tmp_path / "models")
    gcs_port, client_port, http_port, console_port = (_free_port() for _ in range(4))
    workdir = tmp_path / "cwd"  # not the repository: the processes run from the installed package
    workdir.mkdir()
    procs = Processes(tmp_path)
    # compose: the `ray_auth_token` secret, given to the Ray nodes and to the deployer only
    token_file = short_tmp / "ray_auth_token"
    token_file.write_text(secrets.token_hex(32))
    ray_auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}
    ray_env = {**_base_env(), **RAY_SERVE_ENV, **ray_auth}  # the ray-head / ray-worker environment
    # The Ray Client server on the head starts a server process per client; on a loaded 2-core CI
    # box that can take longer than Ray's default 30 s.
    ray_env["RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S"] = "120"
    ray_common = ["--block", "--disable-usage-stats", "--temp-dir", str(short_tmp / "ray")]
    telegram = await FakeTelegram().start()
    try:
        if True:
            database_url = pg_url
            # ray-head (no CPU for replicas of its own beyond one) and ray-worker
            procs.start(
                "ray-head",
                [str(BIN / "ray"), "start", "--head", f"--port={gcs_port}", f"--ray-client-server-port={client_port}",
                 "--num-cpus=1", "--include-dashboard=false", *ray_common],
                ray_env, workdir,
            )  # fmt: skip
            await asyncio.sleep(3)
            for _ in range(60):  # the worker joins once the head's GCS answers
                procs.check_alive("ray-head")
                if await asyncio.to_thread(_port_open, gcs_port) and await asyncio.to_thread(_port_open, client_port):
                    break
                await asyncio.sleep(1)
            procs.start(
                "ray-worker",
                [str(BIN / "ray"), "start", f"--address=127.0.0.1:{gcs_port}", "--num-cpus=1", *ray_common],
                ray_env, workdir,
            )  # fmt: skip

            # migrate: `fakewatch db upgrade` with its one secret
            migrate = subprocess.run(
                [*FAKEWATCH, "db", "upgrade"],
                env=_service_env("migrate", _secrets(tmp_path, "migrate", database_url=database_url),
                                 environment="production"),
                cwd=workdir, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr

            # serving: deploys the app to the cluster by address; holds no secret at all
            procs.start(
                "serving",
                [*FAKEWATCH, "serve"],
                _service_env(
                    "serving", None,
                    environment="production", ray_address=f"ray://127.0.0.1:{client_port}",
                    http_host="127.0.0.1", http_port=str(http_port),
                    image_model=str(image_dir), video_model=str(video_dir), device="cpu",
                    frames_per_video="8",
                ) | ray_auth,
                workdir,
            )  # fmt: skip
            serving_url = f"http://127.0.0.1:{http_port}"
            health = await _wait_http(f"{serving_url}/v1/health", procs, ("ray-head", "ray-worker", "serving"), 420)
            assert b'"version"' in health

            procs.start(
                "bot",
                [*FAKEWATCH, "bot", "--no-migrate"],
                _service_env(
                    "bot",
                    _secrets(tmp_path, "bot", database_url=database_url, telegram_token=telegram.token,
                             pseudonym_secret="pepper-for-the-cluster-test"),
                    environment="production", serving_url=serving_url,
                    telegram_base_url=telegram.base_url, telegram_base_file_url=telegram.base_file_url,
                ),
                workdir,
            )  # fmt: skip
            procs.start(
                "console",
                [*FAKEWATCH, "console"],
                _service_env(
                    "console",
                    _secrets(tmp_path, "console", database_url=database_url, operator_token=OPERATOR_TOKEN),
                    environment="production", console_host="127.0.0.1", console_port=str(console_port),
                ),
                workdir,
            )  # fmt: skip

            # A video forwarded from another chat, as a user would.
            clip = shared_videos["ffpp_cyshih704_fake"].read_bytes()
            file = telegram.add_file(clip, unique_id="cluster-clip")
            _, message = telegram.push_message(
                ALICE_CHAT, ALICE,
                video={**file, "width": 640, "height": 480, "duration": 12, "mime_type": "video/mp4"},
                forward_origin={"type": "user", "sender_user": user(777, "Someone"), "date": int(time.time()) - 60},
            )  # fmt: skip

            def answers(call: object) -> bool:
                params = call.params
                reply = params.get("reply_parameters") or {}
                return (
                    call.method in ("sendMessage", "sendPhoto")
                    and params.get("chat_id") == ALICE_CHAT["id"]
                    and reply.get("message_id") == message["message_id"]
                )

            try:
                calls = await telegram.wait_for(answers, timeout=300)
            except TimeoutError:
                pytest.fail(f"the forwarded video was never answered\n{procs.logs()}")
            text = str(calls[0].params.get("text") or calls[0].params.get("caption") or "")
            assert "%" in text, text  # the fake probability, in words around it
            assert any(c.method == "getFile" for c in telegram.calls)

            # The console (its own process, its own secrets) shows the check from the same database.
            await _wait_http(f"http://127.0.0.1:{console_port}/login", procs, ("console",), 120)
            rows = await asyncio.to_thread(_console_export, console_port)
            assert len(rows) == 1, rows
            row = rows[0]
            assert (row["status"], row["media_kind"], row["frames_sampled"]) == ("done", "video", "8"), row
            assert row["verdict"] in {"real", "uncertain", "fake", "no_face"}, row
            assert "tiny-test-video" in row["model_name"], row  # the checkpoints the deployer named
            assert row["user_pseudonym"] and "4242" not in row["user_pseudonym"], row

            # docker-compose.yml's health checks, run as written against these processes.
            bot_env = _service_env("bot", tmp_path / "secrets-bot", environment="production")
            checks = {
                "ray-head": ray_env, "ray-worker": ray_env, "serving": _base_env() | ray_auth,
                "bot": bot_env, "console": _base_env(),
            }  # fmt: skip
            for service, env in checks.items():
                code, out = await asyncio.to_thread(
                    _compose_health_check, service, env, workdir,
                    {"127.0.0.1:6379": f"127.0.0.1:{gcs_port}", "ray-head:6379": f"127.0.0.1:{gcs_port}",
                     "ray-head:8000": f"127.0.0.1:{http_port}", "127.0.0.1:8001": f"127.0.0.1:{console_port}"},
                )  # fmt: skip
                assert code == 0, f"compose health check of {service} failed:\n{out}"

            # Least privilege held: the serving process never saw a secret.
            assert "given to the" not in procs.log("serving")
            for name in ("bot", "console"):
                assert procs.procs[name].poll() is None, procs.log(name)
            # Stop like compose does (SIGTERM), the deployer first: it deletes only its app.
            assert procs.stop("bot") == 0, procs.log("bot")
            procs.stop("console")
            assert procs.stop("serving", signal.SIGTERM, 90) == 0, procs.log("serving")
    finally:
        for name in reversed(list(procs.procs)):
            procs.stop(name, signal.SIGTERM, 30)
        await telegram.close()
        _kill_all_mentioning(str(short_tmp), 30.0)  # Ray processes of this test only
    left = {pid: _describe(pid) for pid in _pids_mentioning(str(short_tmp))}
    assert not left, left


def _compose_health_check(service: str, env: dict[str, str], cwd: Path, addresses: dict[str, str]) -> tuple[int, str]:
    """Run ``service``'s health check from docker-compose.yml, its addresses mapped to ours."""
    test = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["healthcheck"]["test"]
    kind, args = test[0], list(test[1:])
    replace = lambda text: functools.reduce(lambda t, kv: t.replace(*kv), addresses.items(), text)  # noqa: E731
    if kind == "CMD-SHELL":
        argv = ["bash", "-c", replace(args[0])]
    else:
        argv = [replace(a) for a in args]
    if argv[0] in {"ray", "fakewatch", "python"}:
        argv[0] = str(BIN / argv[0]) if argv[0] != "python" else sys.executable
    env = {**env, "PATH": f"{BIN}:{env.get('PATH', '')}"}
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    return out.returncode, (out.stdout + out.stderr)[-2000:]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _console_export(port: int) -> list[dict[str, str]]:
    """Sign in with the operator token, then read the checks as CSV.

    In production the session cookie is Secure (a TLS proxy sits in front); this client talks
    plain HTTP to 127.0.0.1, so it sends the Secure cookie back as that proxy would.
    """
    import http.cookiejar

    class BehindTls(http.cookiejar.DefaultCookiePolicy):
        def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
            return True

    jar = http.cookiejar.CookieJar(policy=BehindTls())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    form = urllib.parse.urlencode({"token": OPERATOR_TOKEN}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=form, method="POST"), timeout=10).read()
    with opener.open(f"{base}/export.csv", timeout=30) as r:
        return list(csv.DictReader(io.StringIO(r.read().decode("utf-8-sig"))))
