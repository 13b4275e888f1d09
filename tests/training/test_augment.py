"""Chat-app augmentations keep shapes, dtypes and labels, and actually change the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from training.augment import AugmentConfig, ChatAppAugment, downscale_upscale, jpeg_recompress


def face_like(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    img[20:70, 25:70] = (200, 160, 140)
    return img


def test_every_transform_keeps_shape_and_dtype():
    always = AugmentConfig(hflip=1, shift_scale=1, color=1, resample=1, blur=1, noise=1, jpeg=1, cutout=1)
    augment = ChatAppAugment(always, seed=1)
    img = face_like()
    for _ in range(20):
        out = augment(img)
        assert out.shape == img.shape and out.dtype == np.uint8 and out.flags.c_contiguous
        assert not np.array_equal(out, img)


def test_never_means_identity():
    never = AugmentConfig(hflip=0, shift_scale=0, color=0, resample=0, blur=0, noise=0, jpeg=0, cutout=0)
    img = face_like()
    assert np.array_equal(ChatAppAugment(never, seed=0)(img), img)


def test_seeded_augment_repeats():
    img = face_like()
    a = [ChatAppAugment(seed=7)(img) for _ in range(2)]
    assert np.array_equal(a[0], a[1])


def test_jpeg_and_resample_lose_detail_but_not_size():
    img = face_like()
    low = jpeg_recompress(img, 20)
    assert low.shape == img.shape and np.abs(low.astype(int) - img).mean() > 5
    assert downscale_upscale(img, 0.4).shape == img.shape


def test_rejects_non_rgb():
    with pytest.raises(ValueError):
        ChatAppAugment()(np.zeros((10, 10), np.uint8))


def test_dataset_keeps_labels_with_augmentation(tiny_cache):
    from training.data import CropDataset, load_rows

    rows = load_rows(tiny_cache, "train", ["dfdc", "mesonet", "stylegan"])
    ds = CropDataset(rows, tiny_cache, 48, augment=AugmentConfig(jpeg=1, cutout=1, noise=1), seed=0)
    for i in range(len(ds)):
        x, y, idx = ds[i]
        assert x.shape == (3, 48, 48) and idx == i
        assert int(y) == int(rows[i]["label"])
