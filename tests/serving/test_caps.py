"""Faces per frame and per request: the smallest are left out, the work stays bounded.

Unit tests of the three functions, then the engine on a real collage of twelve photographed faces
(FFHQ crops from ../shared/data at three sizes).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fakewatch.settings import Settings
from serving.caps import can_hold_a_face, cap_per_frame, cap_tracks, largest_faces
from serving.contract import MediaKind
from serving.engine import Engine
from serving.faces import FaceBox, Track
from serving.models import init_checkpoint


def box(side: int, x: int = 0) -> FaceBox:
    return FaceBox(x, 0, x + side, side)


def test_largest_faces_keeps_order_and_counts_the_rest() -> None:
    boxes = [box(30, 0), box(90, 100), box(10, 200), box(60, 300)]
    kept, dropped = largest_faces(boxes, 2)
    assert kept == [boxes[1], boxes[3]] and dropped == 2
    assert largest_faces(boxes, 4) == (boxes, 0)
    with pytest.raises(ValueError):
        largest_faces(boxes, 0)


def test_cap_per_frame() -> None:
    frames, dropped = cap_per_frame([[box(10), box(20), box(30)], [], [box(5)]], 2)
    assert [len(f) for f in frames] == [2, 0, 1] and dropped == 1


def test_cap_tracks_keeps_the_largest_people_whole_and_renumbers() -> None:
    def track(tid: int, side: int, n: int) -> Track:
        return Track(tid, list(range(n)), [box(side)] * n)

    tracks = [track(0, 40, 4), track(1, 100, 4), track(2, 20, 4), track(3, 80, 3)]
    kept, dropped = cap_tracks(tracks, 8)
    # people 1 (100 px) and 3 (80 px) fit: 7 faces; person 0 (4 faces) would not
    assert [t.boxes[0].side for t in kept] == [100, 80] and [t.id for t in kept] == [0, 1]
    assert dropped == 8
    # one person with more faces than the cap keeps the first `cap` of them
    kept, dropped = cap_tracks([track(0, 50, 10)], 6)
    assert len(kept) == 1 and kept[0].frames == [0, 1, 2, 3, 4, 5] and dropped == 4


@pytest.fixture(scope="module")
def collage(shared_data) -> bytes:
    """Twelve real faces on one canvas: four each at 300, 220 and 160 px."""
    photos = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[:12]
    canvas = Image.new("RGB", (1280, 900), (128, 128, 128))
    x = y = 0
    for i, path in enumerate(photos):
        side = (300, 220, 160)[i // 4]
        if x + side > canvas.width:
            x, y = 0, y + 300
        canvas.paste(Image.open(path).convert("RGB").resize((side, side)), (x, y))
        x += side + 10
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _engine(tmp_path, **caps: int) -> Engine:
    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint("video", architecture="tiny_lstm", input_size=32, sequence_length=4, name="tiny-video")
    settings = Settings(
        _env_file=None, image_model=tmp_path / "i", video_model=tmp_path / "v", detect_max_side=1280, **caps
    )
    return Engine(settings, image_ckpt=image, video_ckpt=video, frames=4)


def test_a_crowd_photo_is_judged_on_its_largest_faces(collage, tmp_path) -> None:
    everyone = _engine(tmp_path, max_faces_per_frame=64).check(collage, "crowd.jpg")
    assert everyone.kind is MediaKind.IMAGE and len(everyone.faces) >= 10, everyone.faces
    capped = _engine(tmp_path, max_faces_per_frame=5).check(collage, "crowd.jpg")
    assert len(capped.faces) == 5 and capped.error is None
    sides = sorted((f.box[2] - f.box[0] for f in everyone.faces), reverse=True)
    kept = sorted((f.box[2] - f.box[0] for f in capped.faces), reverse=True)
    assert kept == sides[:5]  # the five largest, none of the small ones
    # the request cap applies to a still image too (it is one frame)
    assert len(_engine(tmp_path, max_faces_per_request=3).check(collage).faces) == 3


def test_a_crowd_video_keeps_whole_people_within_the_request_cap(collage, tmp_path) -> None:
    import av

    buf = io.BytesIO()
    picture = np.asarray(Image.open(io.BytesIO(collage)).convert("RGB"))
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = picture.shape[1], picture.shape[0], "yuv420p"
        for _ in range(8):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    result = _engine(tmp_path, max_faces_per_frame=3, max_faces_per_request=8).check(buf.getvalue(), "crowd.mp4")
    assert result.kind is MediaKind.VIDEO and result.error is None
    assert 0 < len(result.faces) <= 8
    per_frame: dict[int, int] = {}
    for face in result.faces:
        per_frame[face.frame] = per_frame.get(face.frame, 0) + 1
    assert max(per_frame.values()) <= 3
    # whole people: every kept person has a face in each of the 4 sampled frames
    assert len(result.tracks) == 2 and all(t.faces == 4 for t in result.tracks)
    assert {f.track for f in result.faces} == {0, 1}


def test_can_hold_a_face() -> None:
    assert can_hold_a_face(480, 640, max_side=480, min_face_px=24)
    assert can_hold_a_face(24, 24, max_side=480, min_face_px=24)
    assert not can_hold_a_face(1, 1, max_side=480, min_face_px=24)
    assert not can_hold_a_face(40, 10_000, max_side=480, min_face_px=24)  # 2 px in the detector's copy
    assert can_hold_a_face(48, 960, max_side=480, min_face_px=24)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (5, 5), (1, 10_000), (10_000, 1), (40, 10_000), (3000, 20)])
def test_slivers_are_no_face_not_a_dlib_crash(size, tmp_path) -> None:
    """dlib's CNN fallback on these raised "alias_tensor" errors (internal) and corrupted the heap."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 150, 100)).save(buf, format="PNG")
    result = _engine(tmp_path).check(buf.getvalue(), "sliver.png")
    assert result.verdict == "no_face" and result.error is None, result.error
