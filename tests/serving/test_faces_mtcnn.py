"""The MTCNN cascade (serving/faces/_mtcnn.py) on real face photos and on inputs without a face."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from serving.faces._mtcnn import detect_mtcnn, load_nets, weights_dir


@pytest.fixture(scope="module")
def face(shared_data) -> np.ndarray:
    path = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0]
    return np.asarray(Image.open(path).convert("RGB"))


def test_weights_come_from_the_wheel_and_load_once():
    folder = weights_dir()
    assert {p.name for p in folder.glob("*.pt")} >= {"pnet.pt", "rnet.pt", "onet.pt"}
    nets = load_nets()
    assert load_nets() is nets  # built once per process
    assert all(not net.training for net in nets)


def test_finds_the_face_in_a_photo(face):
    boxes, scores = detect_mtcnn(face, min_face=20, thresholds=(0.6, 0.7, 0.95))
    assert boxes.shape == (1, 4) and scores.shape == (1,) and scores[0] >= 0.95
    x1, y1, x2, y2 = boxes[0]
    h, w = face.shape[:2]
    assert 0.25 * w < x2 - x1 < w and 0.25 * h < y2 - y1 < h  # an FFHQ photo: the face is large
    assert x1 < w / 2 < x2 and y1 < h / 2 < y2  # and aligned at the centre


def test_a_higher_last_threshold_never_finds_more(face):
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    scene[20:276, 100:356] = face[:256, :256]  # a 256-px FFHQ photo pasted into noise
    low = detect_mtcnn(scene, min_face=20, thresholds=(0.6, 0.7, 0.5))[1]
    high = detect_mtcnn(scene, min_face=20, thresholds=(0.6, 0.7, 0.99))[1]
    assert len(high) <= len(low) and np.all(high >= 0.99)


@pytest.mark.parametrize("shape", [(1, 1, 3), (11, 500, 3), (19, 19, 3), (500, 5, 3)])
def test_images_smaller_than_the_smallest_face_have_none(shape):
    boxes, scores = detect_mtcnn(np.full(shape, 128, np.uint8), min_face=20)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_flat_and_noise_images_have_no_face():
    rng = np.random.default_rng(3)
    for image in (np.full((240, 320, 3), 200, np.uint8), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)):
        boxes, _ = detect_mtcnn(image, min_face=20, thresholds=(0.6, 0.7, 0.95))
        assert len(boxes) == 0
