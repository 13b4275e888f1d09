"""Synthesised pseudo-fakes: each kind changes what it claims to, only inside its mask, repeatably."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.constants import SYNTH_DEFAULT_WEIGHTS, SYNTH_KINDS
from training.synth import KINDS, synthesize

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.fixture(scope="module")
def people(shared_data):
    """Three real FFHQ faces (three different people) cut the way the engine cuts them, with landmarks."""
    from serving.faces import create_detector, crop_face
    from training.sbi import face_landmarks

    detector = create_detector("hog")
    found = []
    for path in sorted((shared_data / "faces/stylegan/real").glob("*.jpg"))[:3]:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        crop = crop_face(rgb, detector.detect(rgb)[0], margin=0.25, size=128)
        points = face_landmarks(crop)
        assert points is not None
        found.append((crop, points))
    return found


def _run(kind, people, seed, donor=1):
    (rgb, points), (donor_rgb, donor_points) = people[0], people[donor]
    result = KINDS[kind](rgb, np.random.default_rng(seed), points, donor_rgb=donor_rgb, donor_landmarks=donor_points)
    assert result is not None
    return rgb, result[0], result[1]


def _gray(rgb):
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


@pytest.mark.parametrize("kind", SYNTH_KINDS)
def test_each_kind_changes_the_face_and_nothing_else(kind, people):
    for seed in range(4):
        rgb, out, mask = _run(kind, people, seed)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        assert mask.shape == rgb.shape[:2] and mask.min() >= 0 and mask.max() <= 1
        outside = mask == 0
        most = 1.0 if kind == "upsampler" else 0.7  # a fully generated face has no edge to find
        assert 0.1 < (~outside).mean() <= most, f"{kind}: mask covers {(~outside).mean():.2f} of the crop"
        assert np.array_equal(out[outside], rgb[outside])
        changed = np.any(out != rgb, axis=2)
        assert changed[~outside].mean() > 0.3, f"{kind} seed {seed}: only {changed[~outside].mean():.2f} changed"


def test_lowres_inner_loses_fine_detail(people):
    for seed in range(4):
        rgb, out, mask = _run("lowres_inner", people, seed)
        inner = mask > 0.9
        before, after = (cv2.Laplacian(_gray(x), cv2.CV_32F)[inner].var() for x in (rgb, out))
        assert after < 0.6 * before, (seed, before, after)


def test_restorer_smooths_the_skin(people):
    def local_variance(x):
        g = _gray(x)
        return cv2.blur(g * g, (5, 5)) - cv2.blur(g, (5, 5)) ** 2

    for seed in range(6):  # the three smoothing methods, with and without re-sharpening
        rgb, out, mask = _run("restorer", people, seed)
        inner = mask > 0.9  # the median: skin texture, not the edges an edge-preserving filter keeps
        before, after = (float(np.median(local_variance(x)[inner])) for x in (rgb, out))
        assert after < 0.75 * before, (seed, before, after)


def test_upsampler_leaves_a_pixel_phase_trace_and_keeps_detail(people):
    def phase_gain(x):  # how much the four pixel phases of each 2x2 block differ in brightness
        g = _gray(x)
        return float(np.std([g[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]) / g.mean())

    def fine_detail(x):
        return float(cv2.Laplacian(_gray(x), cv2.CV_32F).var())

    for seed in range(4):
        rgb, out, mask = _run("upsampler", people, seed)
        assert mask.min() == 1.0  # the whole crop is generated
        assert phase_gain(out) > max(0.003, 3 * phase_gain(rgb)), (seed, phase_gain(rgb), phase_gain(out))
        assert phase_gain(out) < 0.05, "a trace, not a visible checkerboard"
        assert np.abs(out.astype(np.float32).mean() - rgb.mean()) < 3.0  # brightness kept
        assert fine_detail(out) > 0.25 * fine_detail(rgb), "part of the lost detail is put back"


def test_colour_shifts_the_face_colour(people):
    for seed in range(6):
        rgb, out, mask = _run("colour", people, seed)
        inner = mask > 0.5
        lab = [cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[inner].mean(0) for x in (rgb, out)]
        assert np.linalg.norm(lab[1] - lab[0]) > 3.0, seed


def test_swap_brings_in_the_donor(people):
    for seed in range(3):
        rgb, from_1, mask = _run("swap", people, seed, donor=1)
        _, from_2, _ = _run("swap", people, seed, donor=2)
        _, self_blended, _ = _run("sbi", people, seed)
        inner = mask > 0.5

        def gap(a, b, inner=inner):
            return float(np.abs(a.astype(np.float32) - b.astype(np.float32))[inner].mean())

        assert gap(from_1, from_2) > 6, seed  # the donor matters
        assert gap(from_1, self_blended) > 6, seed  # not an SBI in disguise


def test_swap_without_a_donor_is_skipped(people):
    rgb, points = people[0]
    assert KINDS["swap"](rgb, np.random.default_rng(0), points) is None
    assert synthesize(rgb, np.random.default_rng(0), {"swap": 1}, landmarks=points) is None
    made = synthesize(rgb, np.random.default_rng(0), {"swap": 1, "seam": 1e-9}, landmarks=points)
    assert made is not None and made[2] == "seam"  # falls back to a kind that can run


def test_picker_respects_weights(people):
    (rgb, points), donor = people[0], people[1]
    weights = {"sbi": 1, "seam": 1, "colour": 1, "lowres_inner": 1, "restorer": 0, "swap": 0}
    rng = np.random.default_rng(0)
    kinds = Counter(synthesize(rgb, rng, weights, donor=donor, landmarks=points)[2] for _ in range(120))  # type: ignore[index]
    assert set(kinds) == {"sbi", "seam", "colour", "lowres_inner"}
    assert min(kinds.values()) > 15
    calls = []

    def lazy_donor():
        calls.append(1)
        return donor

    only = {synthesize(rgb, rng, {"restorer": 1}, donor=lazy_donor, landmarks=points)[2] for _ in range(10)}  # type: ignore[index]
    assert only == {"restorer"} and not calls  # the donor is only looked up for a swap
    assert synthesize(rgb, rng, {"swap": 1}, donor=lazy_donor, landmarks=points)[2] == "swap"  # type: ignore[index]
    assert calls == [1]


def test_same_seed_same_fake(people):
    (rgb, points), donor = people[0], people[1]
    for seed in range(4):
        a, b = (synthesize(rgb, np.random.default_rng(seed), donor=donor, landmarks=points) for _ in range(2))
        assert a is not None and b is not None
        assert a[2] == b[2] and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    made = [synthesize(rgb, np.random.default_rng(s), donor=donor, landmarks=points) for s in range(4)]
    assert len({m[0].tobytes() for m in made if m is not None}) == 4


def test_no_landmarks_and_bad_input(people, monkeypatch):
    import training.synth

    rgb, _ = people[0]
    monkeypatch.setattr(training.synth, "face_landmarks", lambda *a, **k: None)
    assert synthesize(rgb, np.random.default_rng(0)) is None
    with pytest.raises(ValueError, match="unknown synth kinds"):
        synthesize(rgb, np.random.default_rng(0), {"deepfacelab": 1})
    with pytest.raises(ValueError):
        synthesize(rgb[..., 0], np.random.default_rng(0))


def test_dataset_turns_every_real_crop_fake(people, tmp_path):
    from training.data import CropDataset

    rows = []
    for i, (crop, _) in enumerate(people):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        rows.append({"crop": f"{i}.jpg", "label": "0", "group": f"person{i}", "source": "stylegan"})
    rows.append({"crop": "0.jpg", "label": "1", "group": "fake", "source": "stylegan"})
    for seed, kinds in enumerate([None, {"swap": 1}, {"swap": 1}, {"swap": 1}]):
        ds = CropDataset(rows, tmp_path, 64, synth_probability=1.0, synth_kinds=kinds, seed=seed)
        ds._worker_state()
        ds._rng = np.random.default_rng(seed)  # the worker seed also mixes in torch's: pin it
        labels = [float(ds[i][1]) for i in range(len(ds))]
        assert labels == [1.0] * len(rows)  # a swap always finds a donor of another group here
        assert ds[0][0].shape == (3, 64, 64) and ds[0][2] == 0
    # one real person only: no donor for a swap, so another kind steps in
    lonely = CropDataset(rows[:1], tmp_path, 64, synth_probability=1.0, synth_kinds={"swap": 1, "colour": 0.01})
    assert float(lonely[0][1]) == 1.0
    plain = CropDataset(rows, tmp_path, 64)
    assert [float(plain[i][1]) for i in range(len(rows))] == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError):
        CropDataset(rows, tmp_path, 64, synth_probability=0.5, synth_kinds={"swap": 0})


def test_config_synth_section():
    from training.config import ConfigError, load_config
    from training.train import pseudo_fakes_record

    synth = load_config(CONFIGS / "image_synth.yaml")
    assert synth.synth.enabled and synth.synth.probability == 0.3 and not synth.sbi.enabled
    assert synth.data.sources == ["dfdc", "mesonet", "stylegan", "lfw"]
    assert synth.synth.kinds == SYNTH_DEFAULT_WEIGHTS
    record = pseudo_fakes_record(synth)
    active = {kind: w for kind, w in SYNTH_DEFAULT_WEIGHTS.items() if w}  # the record names kinds in use
    assert record["synth"] == {"enabled": True, "probability": 0.3, "kinds": active}
    assert record["sbi"]["enabled"] is False

    # existing configs with only `sbi:` load and train as before
    old = load_config(CONFIGS / "image_effnet_lite0.yaml")
    assert old.sbi.enabled and old.sbi.probability == 0.15 and not old.synth.enabled
    assert pseudo_fakes_record(old) == {"sbi": {"enabled": True, "probability": 0.15}, "synth": {"enabled": False}}
    # both enabled: synth wins, and the card says so
    both = load_config(CONFIGS / "image_effnet_lite0.yaml", ["synth.enabled=true"])
    assert pseudo_fakes_record(both)["sbi"] == {"enabled": False, "probability": 0.15, "superseded_by": "synth"}

    # one entry of the table, on a file with a table and on one without
    for path in (CONFIGS / "image_synth.yaml", CONFIGS / "image_effnet_lite0.yaml"):
        dropped = load_config(path, ["synth.kinds.swap=0"]).synth
        assert dropped.kinds == {**SYNTH_DEFAULT_WEIGHTS, "swap": 0.0}
        assert "swap" not in dropped.active_kinds()
    # a single kind (ablations), a list, a table naming only some kinds
    assert load_config(path, ["synth.kinds=restorer"]).synth.active_kinds() == {"restorer": 1.0}
    assert load_config(path, ["synth.kinds=[seam, colour]"]).synth.active_kinds() == {"seam": 1.0, "colour": 1.0}
    assert load_config(path, ["synth.kinds={swap: 2}"]).synth.active_kinds() == {"swap": 2.0}
    assert load_config(path, ["data.source_weights.stylegan=2"]).data.source_weights == {"stylegan": 2.0}
    for bad in ("synth.kinds=morph", "synth.kinds.swap=-1", "synth.kinds={swap: 0}"):
        with pytest.raises(ConfigError):
            load_config(path, [bad])
