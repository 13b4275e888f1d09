"""Crop geometry: square, centred, edge-replicated at borders, resized."""

from __future__ import annotations

import numpy as np
import pytest

from serving.faces import FaceBox, crop_box, crop_face


def _coords_image(h: int = 100, w: int = 160) -> np.ndarray:
    """Each pixel stores its own (x, y): the crop's content tells where it was cut."""
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs, ys, np.full_like(xs, 7)], axis=-1).astype(np.uint8)


def test_crop_box_is_square_and_centred():
    assert crop_box(FaceBox(40, 20, 60, 50), margin=0.5) == (20, 5, 80, 65)
    assert crop_box(FaceBox(10, 10, 30, 30), margin=0.0) == (10, 10, 30, 30)


def test_inside_crop_is_an_exact_slice():
    img = _coords_image()
    out = crop_face(img, FaceBox(50, 30, 70, 50), margin=0.5, size=40)
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, img[20:60, 40:80])


def test_border_crop_replicates_edges():
    img = _coords_image()
    out = crop_face(img, FaceBox(0, 0, 20, 20), margin=0.5, size=40)  # square (-10,-10)-(30,30)
    assert out.shape == (40, 40, 3)
    # Left/top padding repeats column/row 0; the inside part is unchanged.
    np.testing.assert_array_equal(out[:10, :, 1], 0)
    np.testing.assert_array_equal(out[:, :10, 0], 0)
    np.testing.assert_array_equal(out[10:, 10:], img[0:30, 0:30])
    # Bottom-right corner: replicated from the last row/column.
    out = crop_face(img, FaceBox(140, 80, 160, 100), margin=0.5, size=40)
    np.testing.assert_array_equal(out[-10:, :, 1], 99)
    np.testing.assert_array_equal(out[:, -10:, 0], 159)


def test_resize_keeps_content_and_non_square_box_uses_long_side():
    img = np.zeros((200, 200, 3), np.uint8)
    img[80:120, 60:140] = 255  # a wide bright rectangle
    out = crop_face(img, FaceBox(60, 80, 140, 120), margin=0.0, size=20)
    assert out.shape == (20, 20, 3)
    # 80 px square centred on the rectangle: the middle half of the rows is bright.
    assert out[10, :, 0].min() == 255 and out[0, 10, 0] == 0


def test_bad_crop_arguments():
    img = _coords_image()
    with pytest.raises(ValueError):
        crop_face(img, FaceBox(10, 10, 10, 30), margin=0.2, size=32)
    with pytest.raises(ValueError):
        crop_face(img, FaceBox(10, 10, 30, 30), margin=-0.1, size=32)
    with pytest.raises(ValueError):
        crop_face(img, FaceBox(10, 10, 30, 30), margin=0.1, size=0)
    with pytest.raises(TypeError):
        crop_face(None, FaceBox(10, 10, 30, 30), margin=0.1, size=32)  # type: ignore[arg-type]
