"""The layering rules (.importlinter) hold for the code, and a broken rule really fails them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, *, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_code_keeps_every_layering_contract() -> None:
    out = _lint(REPO, pythonpath=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout


def test_an_import_that_breaks_a_rule_fails_the_check(tmp_path: Path) -> None:
    """The project's own contract text, on a tiny tree of the modules it names where db imports serving."""
    config = (REPO / ".importlinter").read_text()
    named = set(re.findall(r"^\s+((?:bot|db|serving|training|fakewatch)(?:\.\w+)*)\s*$", config, re.M))
    for module in named | {"db.jobs"}:  # every module the contracts name exists in the tiny tree
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            folder = tmp_path.joinpath(*parts[:depth])
            folder.mkdir(exist_ok=True)
            (folder / "__init__.py").touch()
    (tmp_path / "db" / "jobs" / "__init__.py").write_text("import serving.engine\n")  # db imports ours
    (tmp_path / ".importlinter").write_text(config)
    out = _lint(tmp_path, pythonpath=tmp_path)
    assert out.returncode != 0
    assert "db imports nothing of ours BROKEN" in out.stdout, out.stdout[-2000:]
