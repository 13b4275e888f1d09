"""``fakewatch run`` (what ``make run`` starts): the whole service on this one machine.

Why a supervisor of subprocesses rather than one process: Ray, the aiohttp console and the
PTB bot each own an event loop and signal handling; separate processes keep them apart and
let one Ctrl-C stop everything cleanly. Jobs live in the database, so a stop never loses one:
the next start resumes it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from fakewatch.settings import get_settings

STOP_GRACE_S = 30.0


@dataclass
class Supervisor:
    """Starts child commands in their own process groups and stops them all together."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        print(f"[fakewatch run] starting {name}: {' '.join(args)}", flush=True)
        self.children[name] = subprocess.Popen(args, env=env, start_new_session=True)

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        """SIGINT each group (a clean Ctrl-C), then SIGTERM, then SIGKILL what is left."""
        for sig, wait_s in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.children.values() if p.poll() is None]
            if not alive:
                break
            for proc in alive:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(p.poll() is None for p in alive):
                time.sleep(0.2)
        # Leftover grandchildren (e.g. Ray workers that ignored the group signal).
        for proc in self.children.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def wait_healthy(url: str, timeout_s: float, sup: Supervisor) -> bool:
    """Poll ``url`` until it answers 200, a child dies, or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sup.first_exited():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    return False


def run_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fakewatch run", description=__doc__.splitlines()[0])
    parser.add_argument("--no-bot", action="store_true", help="do not start the Telegram bot")
    parser.add_argument("--no-console", action="store_true", help="do not start the operator console")
    parser.add_argument("--health-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    exe = [sys.executable, "-m", "fakewatch.cli"]

    print(f"[fakewatch run] database: {settings.database_url_or_default.split('@')[-1]}", flush=True)
    upgrade = subprocess.run([*exe, "db", "upgrade"], env=env)
    if upgrade.returncode != 0:
        print("[fakewatch run] database migration failed", file=sys.stderr)
        return upgrade.returncode

    sup = Supervisor()
    stop_requested = False

    def _request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        sup.start("serving", [*exe, "serve"], env)
        health = f"http://{settings.http_host}:{settings.http_port}/v1/health"
        if not wait_healthy(health, args.health_timeout, sup):
            if not stop_requested:
                print(f"[fakewatch run] serving did not become healthy at {health}", file=sys.stderr)
                return 1
        else:
            print(
                f"[fakewatch run] upload page and API: http://{settings.http_host}:{settings.http_port}/",
                flush=True,
            )
        if not args.no_console and not stop_requested:
            sup.start("console", [*exe, "console"], env)
            print(
                f"[fakewatch run] operator console: http://{settings.console_host}:{settings.console_port}/",
                flush=True,
            )
        if not args.no_bot and not stop_requested:
            if settings.telegram_token is None:
                print(
                    "[fakewatch run] Telegram bot not started: set FAKEWATCH_TELEGRAM_TOKEN "
                    "(from @BotFather) to run it; everything else is up.",
                    flush=True,
                )
            else:
                sup.start("bot", [*exe, "bot"], env)
        print("[fakewatch run] running; press Ctrl-C to stop", flush=True)
        while not stop_requested:
            exited = sup.first_exited()
            if exited:
                name, code = exited
                print(f"[fakewatch run] {name} exited with {code}; stopping", file=sys.stderr)
                return code or 1
            time.sleep(0.5)
        return 0
    finally:
        print("[fakewatch run] stopping…", flush=True)
        sup.stop()
        print("[fakewatch run] stopped", flush=True)
