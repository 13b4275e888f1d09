"""The Dockerfile cannot be built here (no Docker engine), so its structure is checked: the
targets exist, each installs its dependencies from the lock before any code is copied, the slim
one never sees torch, every final image runs as a non-root user with a health check, and the
build context (.dockerignore) keeps out what must not go in but keeps what the build copies."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
FINAL = ("slim", "serving-cpu", "serving-cuda")


def _stages() -> dict[str, tuple[str, list[str]]]:
    """stage name -> (base, instruction lines, continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    stages: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM (\S+) AS (\S+)$", line)
        if m:
            current = m.group(2)
            stages[current] = (m.group(1), [])
        elif current:
            stages[current][1].append(line)
    return stages


def _chain(name: str) -> list[str]:
    """The instructions of a stage and of the stages it is built on, in build order."""
    stages = _stages()
    base, lines = stages[name]
    return (_chain(base) if base in stages else []) + lines


def test_targets_exist() -> None:
    assert set(FINAL) | {"base", "wheel"} <= set(_stages())


def test_dependencies_come_from_the_lock_before_the_code() -> None:
    for target in FINAL:
        lines = _chain(target)
        installs = [i for i, l in enumerate(lines) if "pip install" in l and "-r /tmp/req/" in l]
        code = [i for i, l in enumerate(lines) if l.startswith("COPY --from=wheel")]
        assert installs and code and max(installs) < min(code), target
        for i in installs:
            locks = re.findall(r"-r /tmp/req/(\S+)", lines[i])
            hashed = [f for f in locks if f != "torch-cpu.txt"]
            if hashed:
                assert "--require-hashes" in lines[i] and "--no-deps" in lines[i], lines[i]
        assert any("pip install --no-deps --no-index /tmp/wheels/" in l for l in lines[min(code) :]), target
    slim = " ".join(_chain("slim"))
    assert "bot.txt" in slim and not re.search(r"serve|torch|nodeps", slim)
    assert "serve-cpu.txt" in " ".join(_chain("serving-cpu")) and "torch-cpu.txt" in " ".join(_chain("serving-cpu"))
    assert "serve.txt" in " ".join(_chain("serving-cuda"))


def test_copied_files_exist() -> None:
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"


def test_final_images_run_unprivileged_with_a_health_check() -> None:
    for target in FINAL:
        lines = _chain(target)
        users = [l for l in lines if l.startswith("USER ")]
        assert users and users[-1] not in {"USER root", "USER 0"}, target
        assert any(l.startswith("HEALTHCHECK ") and " CMD " in l for l in _stages()[target][1]), target
        assert any(l.startswith("CMD ") for l in lines), target


def _ignored(path: str, patterns: list[str]) -> bool:
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        if (
            fnmatch.fnmatch(path, pat)
            or fnmatch.fnmatch(path, pat + "/*")
            or (pat.startswith("**/") and fnmatch.fnmatch(path.split("/")[-1], pat[3:]))
        ):
            result = not negate
    return result


def test_dockerignore_keeps_out_the_heavy_and_the_secret_and_keeps_the_sources() -> None:
    patterns = [
        l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")
    ]
    for path in (
        ".venv",
        ".git",
        "data",
        "runs",
        "cache",
        ".env",
        "secrets/x",
        "test-artifacts",
        "tests/x.py",
        "serving/__pycache__/a.pyc",
    ):
        assert _ignored(path, patterns), f".dockerignore lets {path} into the build context"
    copied = {p for src in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M) for p in src.split()}
    for path in copied | {"serving/engine.py", "models/image/model_card.json"}:
        assert not _ignored(path, patterns), f".dockerignore drops {path}, which the Dockerfile copies"
