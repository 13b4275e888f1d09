"""Self-blended images change a real face only inside its landmark mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.sbi import face_landmarks, landmark_mask, self_blend


@pytest.fixture(scope="module")
def real_crop(shared_data):
    """A real FFHQ face cut the way the engine cuts it."""
    from serving.faces import create_detector, crop_face

    path = sorted((shared_data / "faces/stylegan/real").glob("*.jpg"))[0]
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    box = create_detector("hog").detect(rgb)[0]
    return crop_face(rgb, box, margin=0.25, size=128)


def test_blend_changes_only_inside_mask(real_crop):
    for seed in range(3):
        result = self_blend(real_crop, rng=np.random.default_rng(seed), return_mask=True)
        assert result is not None
        out, mask = result
        assert out.shape == real_crop.shape and out.dtype == np.uint8
        outside = mask == 0
        assert outside.any() and (~outside).any()
        assert np.array_equal(out[outside], real_crop[outside])
        changed = np.any(out != real_crop, axis=2)
        assert changed[~outside].mean() > 0.2  # the face region really changed
        assert not changed[outside].any()


def test_landmarks_found_on_a_real_face(real_crop):
    points = face_landmarks(real_crop)
    assert (points is not None and points.shape == (72, 2)) or points.shape[0] >= 68
    side = real_crop.shape[0]
    assert (points >= -side * 0.1).all() and (points <= side * 1.1).all()


def test_mask_is_soft_and_bounded():
    points = np.array([[30, 30], [70, 30], [70, 80], [30, 80], [50, 90]], np.float32)
    mask = landmark_mask((100, 100), points, np.random.default_rng(0))
    assert mask.min() == 0.0 and mask.max() == pytest.approx(1.0)
    assert ((mask > 0) & (mask < 1)).any()  # a blurred edge, not a hard cut
    assert mask[50, 50] > 0.5 and mask[2, 2] == 0


def test_no_face_gives_none_and_bad_input_raises():
    flat = np.full((96, 96, 3), 128, np.uint8)
    assert self_blend(flat, rng=np.random.default_rng(0), landmarks=np.zeros((68, 2), np.float32)) is None
    with pytest.raises(ValueError):
        self_blend(np.zeros((5, 5), np.uint8))
