"""``fakewatch scan`` / ``fakewatch evaluate`` as a user runs them (subprocess), plus metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serving.cli import summarise
from serving.models import init_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """Tiny checkpoints in FAKEWATCH_* directories: the CLI reads the settings like in production."""
    root = tmp_path_factory.mktemp("ckpt")
    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint("video", architecture="tiny_lstm", input_size=32, sequence_length=4, name="tiny-video")
    save_checkpoint(image.model, image.card, root / "image")
    save_checkpoint(video.model, video.card, root / "video")
    return {
        **os.environ,
        "FAKEWATCH_IMAGE_MODEL": str(root / "image"),
        "FAKEWATCH_VIDEO_MODEL": str(root / "video"),
        "FAKEWATCH_FRAMES_PER_VIDEO": "6",
    }


def fakewatch(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fakewatch.cli", *args],
        env=env,
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scan_json_one_object_per_input(env, shared_data, shared_videos, tmp_path):
    face = sorted((shared_data / "faces" / "stylegan" / "fake").glob("*.jpg"))[0]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("not an image " * 50)
    missing = tmp_path / "missing.mp4"
    started = time.monotonic()
    proc = fakewatch(
        env,
        "scan",
        "--json",
        "--frames",
        "4",
        str(face),
        str(empty),
        str(missing),
        str(text),
        str(shared_videos["ffpp_cyshih704_real"]),
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 5, proc.stdout
    out = [json.loads(line) for line in lines]
    keys = {
        "path",
        "kind",
        "verdict",
        "fake_probability",
        "faces",
        "frames_sampled",
        "timeline",
        "model",
        "timings_ms",
        "error",
    }
    assert all(keys <= set(o) for o in out)
    photo, zero, gone, txt, clip = out
    assert photo["kind"] == "image" and photo["verdict"] in {"real", "uncertain", "fake"}
    assert photo["model"]["name"] == "tiny-image" and photo["model"]["trained"] is False
    assert (zero["verdict"], zero["error"]["code"]) == ("invalid", "empty")
    assert (gone["verdict"], gone["error"]["code"]) == ("invalid", "not_found")
    assert (txt["verdict"], txt["error"]["code"]) == ("invalid", "unsupported")
    assert all(o["fake_probability"] is None for o in (zero, gone, txt))
    assert clip["kind"] == "video" and clip["frames_sampled"] == 4 and clip["timeline"]


def test_scan_table_and_annotate(env, shared_data, tmp_path):
    face = sorted((shared_data / "faces" / "mesonet" / "real").glob("*.jpg"))[0]
    proc = fakewatch(env, "scan", "--annotate", str(tmp_path / "ann"), str(face), str(tmp_path / "nope.jpg"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["verdict", "p_fake"]
    assert "not_found" not in lines[1] and str(face) in lines[1]
    assert lines[2].startswith("invalid") and "no such file" in lines[2]
    assert "untrained" in proc.stdout
    jpeg = tmp_path / "ann" / f"{face.stem}.annotated.jpg"
    assert jpeg.read_bytes()[:3] == b"\xff\xd8\xff"


def test_scan_usage_errors(env):
    assert fakewatch(env, "scan").returncode == 2
    assert fakewatch(env, "scan", "--frames", "0", "x.jpg").returncode == 2
    assert fakewatch(env, "scan", "--detector", "haar", "x.jpg").returncode == 2


def test_evaluate_writes_metrics_and_csv(env, shared_data, tmp_path):
    data = tmp_path / "set"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        for src in sorted((shared_data / "faces" / "stylegan" / label).glob("*.jpg"))[:3]:
            (data / label / src.name).symlink_to(src)  # links, never copies of the data
    (data / "fake" / "broken.jpg").write_bytes(b"\x00" * 10)
    out = tmp_path / "metrics.json"
    proc = fakewatch(env, "evaluate", str(data), "--json", str(out), "--limit", "3")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 6 and report["n_real"] == 3 and report["n_fake"] == 3
    assert report["model"]["name"] == "tiny-image"
    for key in ("auc", "accuracy", "balanced_accuracy", "log_loss", "no_face_rate"):
        assert key in report and key in proc.stdout
    rows = list(csv.DictReader(io.StringIO(out.with_suffix(".csv").read_text())))
    assert len(rows) == 6 and {r["label"] for r in rows} == {"real", "fake"}
    assert "evaluate" in proc.stderr  # the progress bar
    assert fakewatch(env, "evaluate", str(tmp_path / "nowhere")).returncode == 2


def test_summary():
    rows = [
        {"label": 0, "fake_probability": 0.2, "verdict": "real"},
        {"label": 0, "fake_probability": 0.7, "verdict": "fake"},
        {"label": 1, "fake_probability": 0.9, "verdict": "fake"},
        {"label": 1, "fake_probability": None, "verdict": "no_face"},
    ]
    m = summarise(rows)
    assert m["n"] == 4 and m["n_scored"] == 3 and m["no_face_rate"] == 0.25
    assert m["accuracy"] == pytest.approx(2 / 3) and m["balanced_accuracy"] == pytest.approx(0.75)
    assert m["auc"] == 1.0


def test_scan_json_every_bad_input(env, shared_videos, tmp_path):
    """The issue's bad inputs, as files on disk, through one ``scan --json`` run."""
    from test_engine import _bad_inputs

    from serving.contract import ErrorCode

    paths, expected = [], []
    for i, (name, source, want) in enumerate(_bad_inputs(shared_videos, tmp_path)):
        if isinstance(source, tuple):
            source[0].write_bytes(source[1])
            source = source[0]
        if isinstance(source, bytes):
            path = tmp_path / f"bad{i}.bin"
            path.write_bytes(source)
            source = path
        paths.append(str(source))
        expected.append((name, want))
    started = time.monotonic()
    proc = fakewatch(env, "scan", "--json", *paths)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60
    out = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [o["path"] for o in out] == paths
    for o, (name, want) in zip(out, expected):
        if isinstance(want, ErrorCode):
            assert (o["verdict"], o["error"]["code"]) == ("invalid", want.value), (name, o)
        else:
            assert o["verdict"] == want.value and o["error"] is None, (name, o)
        assert o["fake_probability"] is None
