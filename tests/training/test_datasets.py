"""Dataset adapters on tiny trees fabricated in each official layout, and the shared-data group rules."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from training.datasets import (
    DatasetError,
    assign_splits,
    celebdf_samples,
    collect_samples,
    dfdc_samples,
    ffpp_samples,
    folder_samples,
    group_split,
    mesonet_group,
    shared_face_samples,
    shared_video_samples,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def splits_by_group(samples) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        groups[f"{s.source}:{s.group}"].add(s.split)
    return groups


def test_plain_folder_with_groups(tmp_path: Path):
    for name in ("a1.jpg", "a2.jpg", "b1.png"):
        touch(tmp_path / "real" / name)
    touch(tmp_path / "fake" / "a1_swap.mp4")
    touch(tmp_path / "real" / "notes.txt")
    (tmp_path / "labels.csv").write_text(
        "file,label,group\nreal/a1.jpg,real,A\nreal/a2.jpg,real,A\nfake/a1_swap.mp4,fake,A\n"
    )
    samples = list(folder_samples(tmp_path))
    assert len(samples) == 4  # the .txt is ignored
    by_name = {s.path.name: s for s in samples}
    assert by_name["a1_swap.mp4"].media == "video" and by_name["a1_swap.mp4"].label == 1
    assert {by_name[n].group for n in ("a1.jpg", "a2.jpg", "a1_swap.mp4")} == {"A"}
    assert by_name["b1.png"].group == "real/b1.png"  # no group: its own
    split = list(assign_splits(samples, val_fraction=0.5))
    assert len({s.split for s in split if s.group == "A"}) == 1


def test_plain_folder_errors(tmp_path: Path):
    with pytest.raises(DatasetError):
        list(folder_samples(tmp_path / "missing"))
    (tmp_path / "real").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        list(folder_samples(tmp_path))
    touch(tmp_path / "real" / "x.jpg")
    (tmp_path / "labels.csv").write_text("file,label\nreal/x.jpg,fake\n")
    with pytest.raises(DatasetError, match="labelled fake"):
        list(folder_samples(tmp_path))


def test_ffpp_official_layout(tmp_path: Path):
    root = tmp_path / "ffpp"
    for vid in ("000", "003", "010", "011"):
        touch(root / "original_sequences/youtube/c23/videos" / f"{vid}.mp4")
    for method in ("Deepfakes", "FaceSwap"):
        touch(root / "manipulated_sequences" / method / "c23/videos/000_003.mp4")
        touch(root / "manipulated_sequences" / method / "c23/videos/003_000.mp4")
        touch(root / "manipulated_sequences" / method / "c23/videos/010_011.mp4")
    touch(root / "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4")  # other compression: ignored
    (root / "splits").mkdir()
    (root / "splits/train.json").write_text(json.dumps([["000", "003"]]))
    (root / "splits/val.json").write_text(json.dumps([["010", "011"]]))
    (root / "splits/test.json").write_text(json.dumps([]))
    samples = list(ffpp_samples(root))
    assert sum(s.label == 0 for s in samples) == 4 and sum(s.label == 1 for s in samples) == 6
    assert {s.source for s in samples} == {"ffpp/original", "ffpp/Deepfakes", "ffpp/FaceSwap"}
    pair = [s for s in samples if s.group == "000_003"]
    assert len(pair) == 2 + 4 and {s.split for s in pair} == {"train"}
    assert {s.split for s in samples if s.group == "010_011"} == {"val"}


def test_ffpp_bad_split_file(tmp_path: Path):
    touch(tmp_path / "original_sequences/youtube/c23/videos/000.mp4")
    (tmp_path / "train.json").write_text("[[1, 2, 3]]")
    with pytest.raises(DatasetError, match="pairs"):
        list(ffpp_samples(tmp_path))
    with pytest.raises(DatasetError):
        list(ffpp_samples(tmp_path, compression="c40"))


def test_celebdf_layout(tmp_path: Path):
    root = tmp_path / "Celeb-DF-v2"
    touch(root / "Celeb-real/id0_0000.mp4")
    touch(root / "Celeb-real/id0_0001.mp4")
    touch(root / "Celeb-real/id1_0000.mp4")
    touch(root / "YouTube-real/00000.mp4")
    touch(root / "Celeb-synthesis/id0_id1_0000.mp4")
    touch(root / "Celeb-synthesis/id1_id0_0003.mp4")
    (root / "List_of_testing_videos.txt").write_text("1 Celeb-real/id0_0001.mp4\n0 Celeb-synthesis/id1_id0_0003.mp4\n")
    samples = {s.path.name: s for s in celebdf_samples(root)}
    assert samples["id0_0000.mp4"].group == samples["id0_id1_0000.mp4"].group == "id0"
    assert samples["id0_id1_0000.mp4"].label == 1 and samples["00000.mp4"].label == 0
    assert samples["id0_0001.mp4"].split == "test" and samples["id1_id0_0003.mp4"].split == "test"
    assert samples["id0_0000.mp4"].split is None
    (root / "List_of_testing_videos.txt").write_text("yes Celeb-real/id0_0001.mp4\n")
    with pytest.raises(DatasetError, match="expected"):
        list(celebdf_samples(root))


def test_dfdc_metadata(tmp_path: Path):
    part = tmp_path / "dfdc_train_part_0"
    touch(part / "real1.mp4")
    touch(part / "fake1.mp4")
    (part / "metadata.json").write_text(
        json.dumps(
            {
                "real1.mp4": {"label": "REAL", "split": "train", "original": None},
                "fake1.mp4": {"label": "FAKE", "split": "train", "original": "real1.mp4"},
                "absent.mp4": {"label": "FAKE", "split": "train", "original": "real1.mp4"},
            }
        )
    )
    samples = list(dfdc_samples(tmp_path))
    assert [(s.path.name, s.label, s.group) for s in samples] == [
        ("fake1.mp4", 1, "real1.mp4"),
        ("real1.mp4", 0, "real1.mp4"),
    ]
    (part / "metadata.json").write_text(json.dumps({"fake1.mp4": {"label": "FAKE"}}))
    with pytest.raises(DatasetError, match="original"):
        list(dfdc_samples(tmp_path))
    with pytest.raises(DatasetError):
        list(dfdc_samples(tmp_path / "nothing"))


def test_collect_requires_a_dataset():
    with pytest.raises(DatasetError):
        collect_samples()


def test_group_split_is_stable_and_fractional():
    groups = [f"g{i}" for i in range(2000)]
    splits = [group_split(g, val_fraction=0.2) for g in groups]
    assert splits == [group_split(g, val_fraction=0.2) for g in groups]
    assert 0.15 < splits.count("val") / len(splits) < 0.25


def test_mesonet_group():
    assert mesonet_group(Path("100_124.jpg")) == "100"
    assert mesonet_group(Path("a_b_7.jpg")) == "a_b"
    assert mesonet_group(Path("single.jpg")) == "single"


def test_shared_faces_never_split_a_group(shared_data: Path):
    samples = list(assign_splits(shared_face_samples(shared_data)))
    assert {s.source for s in samples} == {"dfdc", "mesonet", "stylegan", "lfw"}
    assert len(samples) > 28000
    leaks = {g: s for g, s in splits_by_group(samples).items() if len(s) > 1}
    assert not leaks
    dfdc_fakes = [s for s in samples if s.source == "dfdc" and s.label == 1]
    assert all(s.group.endswith(".mp4") for s in dfdc_fakes[:50])  # group = source real video
    assert {s.split for s in samples} == {"train", "val"}


def test_shared_lfw_faceswap(shared_data: Path):
    samples = list(shared_face_samples(shared_data, ["lfw"]))
    assert len(samples) == 8000 and {s.source for s in samples} == {"lfw"}
    assert sum(s.label for s in samples) == 4000  # 4,000 swaps, 4,000 photographs
    assert all(s.path.parent.parent.name == "lfw-faceswap" for s in samples)
    assert all(s.group == f"{s.path.parent.name}/{s.path.name}" or s.group == s.path.name for s in samples)
    with pytest.raises(DatasetError, match="unknown shared face source"):
        list(shared_face_samples(shared_data, ["lfw-faceswap"]))


def test_shared_videos(shared_data: Path):
    videos = list(shared_video_samples(shared_data))
    assert len(videos) == 6 and sum(v.label for v in videos) == 4
    ffpp = [v for v in videos if v.path.stem.startswith("ffpp")]
    assert len({v.group for v in ffpp}) == 1  # the real/fake pair share an identity
