"""Stage 2 helpers (training.video) that need no encoder."""

from __future__ import annotations

from training.video import pick_video_weight


def test_fusion_weight_follows_log_loss_not_auc():
    # the table of the shipped card's refit: AUC peaks at 0.5, log loss at 0.0
    table = {
        "0.0": {"auc": 0.9805, "log_loss": 0.262},
        "0.5": {"auc": 0.9912, "log_loss": 0.400},
        "1.0": {"auc": 0.7505, "log_loss": 0.620},
    }
    assert pick_video_weight(table) == 0.0
    table["0.3"] = {"auc": 0.99, "log_loss": 0.20}
    assert pick_video_weight(table) == 0.3


def test_fusion_weight_ties_go_to_the_higher_auc_then_the_lower_weight():
    table = {
        "0.2": {"auc": 0.90, "log_loss": 0.3},
        "0.4": {"auc": 0.95, "log_loss": 0.3},
        "0.6": {"auc": 0.95, "log_loss": 0.3},
    }
    assert pick_video_weight(table) == 0.4
