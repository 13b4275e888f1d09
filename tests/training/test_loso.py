"""The generalisation benchmark: per-source scores and the leave-one-source-out matrix, at toy size."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from training.cache import read_manifest
from training.cli import loso_main, score_main
from training.loso import merge_report, pick_rows, worst

SOURCES = ("dfdc", "mesonet", "stylegan")


def _tiny_config(path: Path, cache: Path, out: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": "tiny_loso",
                "stage": "image",
                "out_dir": str(out),
                "model": {"architecture": "tiny_cnn", "pretrained": False},
                "data": {"cache_dir": str(cache), "input_size": 32, "workers": 0, "sources": list(SOURCES)},
                "augment": {"enabled": False},
                "optim": {"epochs": 1, "batch_size": 4, "steps_per_epoch": 2, "warmup_steps": 0},
                "export": {"directory": str(out / "export"), "name": "tiny", "version": "0.0.1"},
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def loso_report(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("loso")
    cfg = _tiny_config(out / "tiny.yaml", tiny_cache, out)
    report = out / "results" / "loso.json"
    argv = [str(cfg), "--report", str(report), "--runs-dir", str(out / "runs"), "--per-label", "5"]
    assert loso_main([*argv, "--recipe", "plain"]) == 0
    assert loso_main([*argv, "--recipe", "wider", "--set", "data.input_size=40"]) == 0
    return out, report


def test_each_fold_trains_without_its_held_out_source_and_scores_it(loso_report, tiny_cache):
    out, report_path = loso_report
    report = json.loads(report_path.read_text())
    assert set(report["recipes"]) == {"plain", "wider"}
    for row in report["recipes"].values():
        assert set(row["folds"]) == set(SOURCES)
        for held_out, fold in row["folds"].items():
            assert held_out not in fold["trained_on"] and len(fold["trained_on"]) == 2
            config = json.loads((Path(fold["run_dir"]) / "config.json").read_text())
            assert held_out not in config["data"]["sources"]  # the run really never saw it
            assert config["export"]["directory"] is None  # a fold never overwrites a shipped model
            available = Counter(
                r["label"] for r in read_manifest(tiny_cache) if r["source"] == held_out and r["status"] == "ok"
            )
            assert fold["held_out"]["n"] == sum(min(5, n) for n in available.values())
            assert 0.0 <= fold["held_out"]["auc"] <= 1.0 and fold["held_out"]["log_loss"] > 0
            assert 0.0 <= fold["held_out"]["ece"] <= 1.0
            assert set(fold["seen_validation"]) == set(fold["trained_on"])
        assert row["worst_auc"]["source"] in SOURCES
    wider = json.loads((Path(report["recipes"]["wider"]["folds"]["dfdc"]["run_dir"]) / "config.json").read_text())
    assert wider["data"]["input_size"] == 40  # the recipe's own overrides reach every fold
    assert report_path.with_suffix(".png").stat().st_size > 1000


def test_score_sources_reports_each_source(loso_report, tiny_cache, capsys):
    out, report_path = loso_report
    checkpoint = json.loads(report_path.read_text())["recipes"]["plain"]["folds"]["dfdc"]["run_dir"] + "/checkpoint"
    target = out / "scores.json"
    code = score_main([checkpoint, "--cache-dir", str(tiny_cache), "--splits", "val", "--json", str(target)])
    assert code == 0
    report = json.loads(target.read_text())["sources"]
    for source in SOURCES:
        val = [r for r in read_manifest(tiny_cache) if r["source"] == source and r["split"] == "val"]
        assert report[source]["n"] == sum(r["status"] == "ok" for r in val)
    assert json.loads(capsys.readouterr().out)["sources"] == report


def test_loso_refuses_a_source_the_cache_lacks(tiny_cache, tmp_path, capsys):
    cfg = _tiny_config(tmp_path / "tiny.yaml", tiny_cache, tmp_path)
    assert loso_main([str(cfg), "--recipe", "x", "--sources", "dfdc,lfw", "--report", str(tmp_path / "r.json")]) == 2
    assert "no faces of lfw" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "runs").exists()
    assert loso_main([str(cfg), "--recipe", "x", "--only", "lfw", "--report", str(tmp_path / "r.json")]) == 2
    assert "--only lfw is not among the sources" in capsys.readouterr().err


def test_loso_only_runs_the_folds_asked_for(tiny_cache, tmp_path):
    cfg = _tiny_config(tmp_path / "tiny.yaml", tiny_cache, tmp_path)
    report = tmp_path / "r.json"
    argv = [str(cfg), "--recipe", "one", "--only", "stylegan", "--report", str(report), "--runs-dir", str(tmp_path)]
    assert loso_main([*argv, "--per-label", "4"]) == 0
    folds = json.loads(report.read_text())["recipes"]["one"]["folds"]
    assert list(folds) == ["stylegan"] and folds["stylegan"]["trained_on"] == ["dfdc", "mesonet"]


def test_score_sources_refuses_what_it_cannot_read(tiny_cache, tmp_path, capsys):
    assert score_main([str(tmp_path / "nothing"), "--cache-dir", str(tiny_cache)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert score_main([str(tmp_path), "--cache-dir", str(tmp_path / "no-cache")]) == 2
    assert "prepare-data" in capsys.readouterr().err


def test_pick_rows_spreads_over_groups(tiny_cache):
    rows = pick_rows(tiny_cache, "dfdc", per_label=3)
    assert Counter(r["label"] for r in rows) == {"0": 3, "1": 3} or len(rows) < 6
    per_label = {label: [r["group"] for r in rows if r["label"] == label] for label in ("0", "1")}
    for label, groups in per_label.items():
        available = {r["group"] for r in read_manifest(tiny_cache) if r["source"] == "dfdc" and r["label"] == label}
        assert len(set(groups)) == min(len(groups), len(available))  # one per group before any repeats
    assert pick_rows(tiny_cache, "dfdc", per_label=3) == rows  # seeded


def test_report_fills_a_recipe_a_fold_at_a_time(tmp_path):
    def row(overrides, **aucs):
        folds = {s: {"held_out": {"auc": a, "log_loss": 1 - a}} for s, a in aucs.items()}
        return {"config": "c.yaml", "overrides": overrides, "per_label": 600, "folds": folds}

    path = tmp_path / "loso.json"
    merge_report(path, "r", row(["x=1"], a=0.7))
    merged = merge_report(path, "r", row(["x=1"], b=0.6, a=0.8))["recipes"]["r"]
    assert {s: f["held_out"]["auc"] for s, f in merged["folds"].items()} == {"a": 0.8, "b": 0.6}
    assert merged["worst_auc"] == {"source": "b", "auc": 0.6}
    other = merge_report(path, "r", row(["x=2"], c=0.9))["recipes"]["r"]  # run another way: replaced
    assert list(other["folds"]) == ["c"]
    assert json.loads(path.read_text())["recipes"]["r"]["overrides"] == ["x=2"]


def test_worst_picks_the_lowest_auc_and_highest_log_loss():
    folds = {
        "a": {"held_out": {"auc": 0.9, "log_loss": 0.3}},
        "b": {"held_out": {"auc": 0.55, "log_loss": 0.8}},
        "c": {"held_out": {"auc": 0.6, "log_loss": 1.2}},
    }
    assert worst(folds, "auc") == {"source": "b", "auc": 0.55}
    assert worst(folds, "log_loss") == {"source": "c", "log_loss": 1.2}
    assert worst({}, "auc") == {}


def test_a_bad_config_is_a_clear_error_not_a_traceback(tiny_cache, tmp_path, capsys):
    from training.cli import train_main

    cfg = _tiny_config(tmp_path / "tiny.yaml", tiny_cache, tmp_path)
    assert loso_main([str(cfg), "--recipe", "x", "--set", "optim.no_such_key=1"]) == 2
    assert capsys.readouterr().err.startswith("loso: ")
    assert train_main([str(cfg), "--set", "optim.no_such_key=1"]) == 2
    assert capsys.readouterr().err.startswith("train: ")
