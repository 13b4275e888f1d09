"""`pip install '.[bot]'` from the lock, in a fresh venv, is what the slim image runs: the bot,
console, ops and db commands work there, and torch (or Ray, or OpenCV) is not installed at all.

Slow (a venv with ~35 packages from the lock; about a minute with a warm pip cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "db", "serving", "training", "fakewatch")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", *OURS)


def _run(args: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(args, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=timeout)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
def test_bot_extra_from_the_lock_runs_without_torch(tmp_path: Path) -> None:
    # A copy of the package sources (no build artefacts land in the checkout).
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, src / name)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py, bin_ = env_dir / "bin" / "python", env_dir / "bin"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _ok(_run([*pip, "--require-hashes", "--no-deps", "-r", str(ROOT / "requirements" / "build.txt")], tmp_path))
    _ok(_run([*pip, "--require-hashes", "--no-deps", "-r", str(ROOT / "requirements" / "bot.txt")], tmp_path))
    # The extra itself, offline: everything it asks for must already be there from the lock.
    _ok(_run([*pip, "--no-index", "--no-build-isolation", f"{src}[bot]"], tmp_path))
    _ok(_run([str(py), "-m", "pip", "check"], tmp_path))  # the [bot] install is consistent

    work = tmp_path / "elsewhere"  # not the checkout: only the installed package is importable
    work.mkdir()
    for module in ("torch", "torchvision", "ray", "cv2", "dlib", "numpy"):
        result = _run([str(py), "-c", f"import {module}"], work)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, f"{module} is installed"

    fakewatch = str(bin_ / "fakewatch")
    assert _ok(_run([fakewatch, "--version"], work)).startswith("fakewatch ")
    for command in ("bot", "console", "ops", "db"):
        out = _ok(_run([fakewatch, command, "--help"], work))
        assert "usage: fakewatch" in out, (command, out)
    # The migrations are in the package: a real upgrade of an SQLite database works.
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    _ok(_run([fakewatch, "db", "--database-url", url, "upgrade"], work))
    assert "matches the models" in _ok(_run([fakewatch, "db", "--database-url", url, "check"], work))
    # The bot's own modules load (handlers, worker, the serving HTTP client), without torch.
    probe = (
        "import sys, bot, bot.app, db, serving.client, serving.contract, fakewatch.console; "
        "heavy = {'torch', 'ray', 'cv2', 'numpy'} & set(sys.modules); assert not heavy, heavy"
    )
    _ok(_run([str(py), "-c", probe], work))
    # The wheel holds our five packages and nothing else at the top level.
    site = next((env_dir / "lib").glob("python3.*/site-packages"))
    record = next(site.glob("fakewatch-*.dist-info")) / "RECORD"
    tops = {line.split("/")[0].split(",")[0] for line in record.read_text().splitlines()}
    tops = {t.removesuffix(".py") for t in tops if not t.endswith((".dist-info", ".."))} - {"..", ""}
    assert tops - {"__pycache__"} <= set(OURS) and {"bot", "db", "fakewatch"} <= tops, tops


def test_bot_commands_import_no_torch_here() -> None:
    """The same promise in the full dev venv, where torch is installed but must not be loaded."""
    probe = (
        "import sys; from fakewatch.cli import main\n"
        "for c in ('bot', 'console', 'ops', 'db'):\n"
        "    try:\n        main([c, '--help'])\n    except SystemExit:\n        pass\n"
        "heavy = {'torch', 'ray', 'cv2', 'numpy', 'dlib'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
