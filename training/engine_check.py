"""The shipped checkpoints through the whole engine on the six shared clips (video-level check).

``python -m training.engine_check`` prints one line per clip and stores the figures in the video
model card's ``metrics.shared_videos`` (the clips' face tracks are also in the LSTM's training
windows, which the card says; the pseudo-clip validation is the held-out figure).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fakewatch.settings import REPO_ROOT, Settings


def check_shared_videos(image_dir: Path, video_dir: Path, videos_dir: Path) -> dict:
    from serving.engine import Engine
    from serving.metrics import binary_metrics
    from training.datasets import shared_video_samples

    engine = Engine(Settings(), image_ckpt=image_dir, video_ckpt=video_dir)
    rows, labels, probs = [], [], []
    for sample in shared_video_samples(videos_dir.parent):
        result = engine.check(sample.path)
        p = result.fake_probability
        expected = "fake" if sample.label else "real"
        rows.append(
            {
                "file": sample.path.name,
                "label": expected,
                "verdict": str(result.verdict),
                "fake_probability": None if p is None else round(p, 4),
                "correct": str(result.verdict) == expected,
                "tracks": [t.model_dump() for t in result.tracks],
            }
        )
        if p is not None:
            labels.append(sample.label)
            probs.append(p)
    summary = binary_metrics(labels, probs) if labels else {"n": 0}
    return {
        "clips": rows,
        "correct": sum(r["correct"] for r in rows),
        "of": len(rows),
        **summary,
        "note": "these clips' tracks are in the LSTM's training windows (not held out)",
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    image_dir = Path(argv[0]) if argv else REPO_ROOT / "models/image"
    video_dir = Path(argv[1]) if len(argv) > 1 else REPO_ROOT / "models/video"
    videos = REPO_ROOT.parent / "shared/data/videos"
    report = check_shared_videos(image_dir, video_dir, videos)
    for row in report["clips"]:
        print(f"{row['file']:<28} {row['label']:<5} -> {row['verdict']:<9} p={row['fake_probability']}")
    print(f"{report['correct']}/{report['of']} right; AUC {report.get('auc')}")
    card_path = video_dir / "model_card.json"
    card = json.loads(card_path.read_text())
    card.setdefault("metrics", {})["shared_videos"] = {k: v for k, v in report.items()}
    for row in card["metrics"]["shared_videos"]["clips"]:
        row.pop("tracks", None)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
