"""pyproject.toml against the code and against the lock (requirements/*.txt).

* every third-party module the code imports is declared, in the extra of the part that imports
  it (the bot's side may use only the core and ``[bot]``: its image has no torch);
* each lock pins every requirement of its extras at an allowed version, with hashes;
* the ``--no-deps`` packages (requirements/nodeps.in) have everything they really need;
* no installed distribution ships a top-level name of ours (bot, db, serving, training, fakewatch).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
OURS = {"bot", "db", "serving", "training", "fakewatch"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The platform every lock is for (Makefile: --python-version 3.11 --python-platform linux).
LOCK_ENV = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.7",
            "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}  # fmt: skip
# What a --no-deps package asks for, and what provides it instead (requirements/nodeps.in).
REPLACED_BY = {"dlib": "dlib-bin", "opencv-python": "opencv-python-headless"}
# Modules the bot image imports (besides bot/, db/, fakewatch/): the light part of serving.
BOT_SIDE_SERVING = {"serving/__init__.py", "serving/client.py", "serving/contract.py"}


def _requirements(extra: str | None) -> list[Requirement]:
    """The requirements of the core (None) or of one extra, self-references expanded."""
    project = PYPROJECT["project"]
    raw = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    out: list[Requirement] = []
    for line in raw:
        req = Requirement(line)
        if canonicalize_name(req.name) == "fakewatch":
            for sub in sorted(req.extras):
                out += _requirements(sub)
        else:
            out.append(req)
    return out


def _declared(*extras: str | None) -> set[str]:
    return {canonicalize_name(r.name) for e in (None, *extras) for r in _requirements(e)}


def _nodeps() -> dict[str, str]:
    pins = {}
    for line in (REQ / "nodeps.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def _lock(name: str) -> dict[str, tuple[str, int]]:
    """package -> (version, number of hashes) of a lock file."""
    text = (REQ / name).read_text(encoding="utf-8")
    pins: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", block)
        if m:
            pins[canonicalize_name(m.group(1))] = (m.group(2), block.count("--hash=sha256:"))
    return pins


def _third_party_imports(paths: list[Path]) -> dict[str, set[str]]:
    """top-level module -> files importing it (stdlib, ours and relative imports left out)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for n in ast.walk(tree):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                names = [n.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS | {"tests", "benchmarks", "__future__"}:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _files(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


@functools.cache
def _top_level_map() -> dict[str, set[str]]:
    """module -> distributions, from top_level.txt and from the files each one installed
    (dlib-bin's top_level.txt names only its extension module, not ``dlib``)."""
    found: dict[str, set[str]] = {}
    for dist in md.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        tops = {Path(f).parts[0].removesuffix(".py") for f in dist.files or [] if not str(f).startswith("..")}
        tops |= set((dist.read_text("top_level.txt") or "").split())
        for top in tops:
            found.setdefault(top.split(".")[0], set()).add(name)
    return found


def _distributions_of(module: str) -> set[str]:
    return _top_level_map().get(module, set())


_LOCAL_MODULES = {p.stem for d in ("tests", "benchmarks") for p in (ROOT / d).rglob("*.py")} | {
    p.name for p in (ROOT / "tests").iterdir() if p.is_dir()
}


def _check_declared(paths: list[Path], allowed: set[str]) -> list[str]:
    problems = []
    for module, where in sorted(_third_party_imports(paths).items()):
        if module.startswith("_") or module in _LOCAL_MODULES:
            continue  # the tests' and benchmarks' own modules and packages
        dists = _distributions_of(module)
        if not dists:
            problems.append(f"{module} (imported by {sorted(where)[:2]}) is not installed")
        elif not dists & allowed:
            problems.append(f"{module} ({sorted(dists)}) imported by {sorted(where)[:2]} is not declared there")
    return problems


def test_the_bot_side_imports_only_the_core_and_the_bot_extra() -> None:
    paths = _files("bot", "db", "fakewatch") + [ROOT / p for p in sorted(BOT_SIDE_SERVING)]
    assert _check_declared(paths, _declared("bot")) == []


def test_serving_and_training_imports_are_declared() -> None:
    allowed = _declared("serve", "train") | set(_nodeps())
    assert _check_declared(_files("serving", "training"), allowed) == []


def test_tests_and_benchmarks_imports_are_declared() -> None:
    allowed = _declared("dev") | set(_nodeps())
    assert _check_declared(_files("tests", "benchmarks"), allowed) == []


def test_the_check_can_fail() -> None:
    """A module imported but declared nowhere is reported (here: torch on the bot's side)."""
    fake = ROOT / "bot" / "constants.py"
    assert _check_declared([fake], _declared("bot")) == []
    assert _check_declared(_files("serving/models"), _declared("bot"))  # torch, safetensors…


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("bot.txt", ("bot",)), ("serve.txt", ("serve",)), ("dev.txt", ("dev",))],
)
def test_each_lock_pins_every_requirement_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pins = _lock(lock)
    for extra in (None, *extras):
        for req in _requirements(extra):
            if req.marker is not None and not req.marker.evaluate(LOCK_ENV):
                continue
            name = canonicalize_name(req.name)
            assert name in pins, f"{lock} lacks {req} (run `make lock`)"
            assert req.specifier.contains(pins[name][0], prereleases=True), f"{lock}: {name}=={pins[name][0]} vs {req}"
    assert all(hashes > 0 for _, hashes in pins.values()), f"{lock}: a pin without --hash"
    dev = _lock("dev.txt")
    assert all(dev[n][0] == v for n, (v, _) in pins.items()), f"{lock} and dev.txt disagree"


def test_bot_lock_has_no_torch_and_cpu_lock_has_no_cuda() -> None:
    heavy = re.compile(r"^(torch|torchvision|triton|ray|nvidia-.*|cuda-.*|opencv.*|dlib.*)$")
    assert not [n for n in _lock("bot.txt") if heavy.match(n)]
    serve, cpu = _lock("serve.txt"), _lock("serve-cpu.txt")
    dropped = set(serve) - set(cpu)
    assert {"torch", "torchvision"} <= dropped and all(
        re.match(r"(torch|torchvision|triton|nvidia-|cuda-)", n) for n in dropped
    )
    assert all(serve[n] == cpu[n] for n in cpu)
    torch_cpu = dict(re.findall(r"^(torch|torchvision)==([^+\s]+)\+cpu$", (REQ / "torch-cpu.txt").read_text(), re.M))
    assert torch_cpu == {"torch": serve["torch"][0], "torchvision": serve["torchvision"][0]}


def test_nodeps_packages_are_locked_and_get_what_they_need() -> None:
    nodeps, locked, serve = _nodeps(), _lock("nodeps.txt"), _lock("serve.txt")
    assert {n: v for n, (v, _) in locked.items()} == nodeps
    assert all(h > 0 for _, h in locked.values())
    for name in nodeps:
        assert name not in _declared("dev"), f"{name} is in nodeps.in: pyproject must not list it"
        for line in md.requires(name) or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({**LOCK_ENV, "extra": ""}):
                continue
            need = canonicalize_name(req.name)
            provider = REPLACED_BY.get(need, need)
            assert provider in serve, f"{name} needs {req}; serve.txt has no {provider}"


def test_no_installed_distribution_shadows_our_packages() -> None:
    clashes = []
    for dist in md.distributions():
        if canonicalize_name(dist.metadata["Name"]) == "fakewatch":
            continue
        tops = {Path(f).parts[0].removesuffix(".py") for f in dist.files or [] if not str(f).startswith("..")}
        tops |= set((dist.read_text("top_level.txt") or "").split())
        if tops & OURS:
            clashes.append((dist.metadata["Name"], sorted(tops & OURS)))
    assert clashes == []
    for name in OURS:  # and ours resolve to this checkout
        spec = __import__("importlib.util").util.find_spec(name)
        assert spec is not None and Path(spec.origin).resolve().is_relative_to(ROOT), name


def test_version_is_one_value() -> None:
    from fakewatch import __version__
    from fakewatch.cli import main

    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert md.version("fakewatch") == __version__
    assert main(["--version"]) == 0
