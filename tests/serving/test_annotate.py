"""The annotated JPEG: decodes, keeps the picture's size, and visibly differs from the input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _media_factory import image_bytes

from fakewatch.settings import Settings
from serving.engine import Engine
from serving.models import init_checkpoint


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    empty = tmp_path_factory.mktemp("none")
    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint("video", architecture="tiny_lstm", input_size=32, sequence_length=4)
    return Engine(Settings(image_model=empty, video_model=empty), image_ckpt=image, video_ckpt=video, frames=6)


def _decode(jpeg: bytes) -> np.ndarray:
    assert jpeg[:3] == b"\xff\xd8\xff"
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def test_annotated_photo(engine, shared_data):
    path = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[1]
    prepared = engine.prepare(path, with_views=True)
    result = engine.score(prepared)
    assert result.faces
    out = _decode(engine.annotate(prepared, result))
    view = prepared.views[0]
    assert out.shape[1] == view.shape[1] and out.shape[0] > view.shape[0]  # + caption strip
    top = out[: view.shape[0]].astype(int)
    box = prepared.faces[0].box
    inside = np.abs(
        top[box.y1 + 5 : box.y2 - 5, box.x1 + 5 : box.x2 - 5] - view[box.y1 + 5 : box.y2 - 5, box.x1 + 5 : box.x2 - 5]
    )
    assert inside.mean() > 10, "the heat map must be blended into the face box"
    outside = np.abs(top[:, :3] - view[:, :3].astype(int)) if box.x1 > 10 else None
    if outside is not None:
        assert outside.mean() < 12  # away from the face, only JPEG noise


def test_annotated_video_frame_is_the_most_suspicious(engine, shared_videos):
    prepared = engine.prepare(shared_videos["dfdc_widuwuoiur"], with_views=True)
    result = engine.score(prepared)
    worst = int(np.argmax([f.fake_probability for f in result.faces]))
    frame = prepared.faces[worst].frame
    view = prepared.views[frame]
    assert max(view.shape[:2]) <= 1280 and prepared.view_scale < 1.0
    out = _decode(engine.annotate(prepared, result))
    assert out.shape[1] == view.shape[1]
    assert np.abs(out[: view.shape[0]].astype(int) - view).mean() > 0.5


def test_no_face_picture_gets_a_caption_only(engine):
    prepared = engine.prepare(image_bytes(200, 120, "PNG"), with_views=True)
    result = engine.score(prepared)
    assert result.verdict == "no_face"
    out = _decode(engine.annotate(prepared, result))
    assert out.shape[1] == 200 and out.shape[0] > 120


def test_nothing_to_annotate(engine, shared_data):
    invalid = engine.prepare(b"")
    with pytest.raises(ValueError):
        engine.annotate(invalid, engine.score(invalid))  # type: ignore[arg-type]
    path = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[1]
    bare = engine.prepare(path)  # no views kept
    with pytest.raises(ValueError, match="with_views"):
        engine.annotate(bare, engine.score(bare))
