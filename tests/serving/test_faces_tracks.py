"""Track linking on synthetic boxes, and on a real clip: one track per person."""

from __future__ import annotations

import av
import numpy as np
import pytest

from serving.faces import FaceBox, create_detector, detect_frames, keyframes, link_tracks


def _box(x: int, y: int, side: int = 60) -> FaceBox:
    return FaceBox(x, y, x + side, y + side)


def test_two_people_moving_get_two_tracks():
    dets = [[_box(10 + 5 * i, 50), _box(300 - 5 * i, 60)] for i in range(10)]
    tracks = link_tracks(dets)
    assert len(tracks) == 2
    left, right = tracks
    assert left.frames == list(range(10)) and right.frames == list(range(10))
    assert all(b.x1 < 200 for b in left.boxes) and all(b.x1 > 200 for b in right.boxes)
    assert [t.id for t in tracks] == [0, 1]


def test_missed_detections_are_tolerated():
    dets = [[_box(10 + 4 * i, 50)] if i not in (3, 4) else [] for i in range(10)]
    (track,) = link_tracks(dets)
    assert track.frames == [0, 1, 2, 5, 6, 7, 8, 9]


def test_fast_motion_links_by_centre_distance():
    dets = [[_box(10 + 20 * i, 50 + 20 * i)] for i in range(8)]  # IoU between frames < 0.3
    assert _box(10, 50).iou(_box(30, 70)) < 0.3
    assert len(link_tracks(dets)) == 1


def test_spurious_single_detection_is_dropped_and_broken_track_rejoined():
    dets = [[_box(100, 100)] for _ in range(12)]
    dets[5] = dets[5] + [_box(400, 300, 30)]  # a one-frame false positive elsewhere
    for i in (6, 7, 8, 9):
        dets[i] = []  # a long gap: the person's track breaks and must be re-joined
    tracks = link_tracks(dets)
    assert len(tracks) == 1
    assert tracks[0].frames == [0, 1, 2, 3, 4, 5, 10, 11]


def test_short_videos_keep_single_detections():
    assert len(link_tracks([[_box(100, 100)], [_box(400, 100)]])) == 2
    assert link_tracks([]) == [] and link_tracks([[], []]) == []
    # One face in one frame of a long video is all there is: keep it.
    dets = [[] for _ in range(10)]
    dets[4] = [_box(100, 100)]
    assert len(link_tracks(dets)) == 1


def test_very_different_sizes_are_not_linked():
    dets = [[_box(100, 100, 60)], [_box(100, 100, 200)]] * 3
    assert len(link_tracks([d for d in dets])) == 2


def test_bad_threshold():
    with pytest.raises(ValueError):
        link_tracks([[_box(0, 0)]], iou_threshold=1.5)


def test_keyframes_cover_first_and_last():
    assert keyframes(0) == []
    assert keyframes(1) == [0]
    assert keyframes(10, 4) == [0, 4, 8, 9]
    assert keyframes(9, 4) == [0, 4, 8]


def test_real_clip_one_person_one_track(shared_videos):
    with av.open(str(shared_videos["dfdc_widuwuoiur"])) as container:
        frames = [
            f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i % 25 == 0 and i < 250
        ]
    detector = create_detector("hog")
    dets = detect_frames(detector, frames, keyframe_every=4)
    assert len(dets) == len(frames) == 10
    assert sum(bool(d) for d in dets) >= 8
    tracks = link_tracks(dets)
    assert len(tracks) == 1 and len(tracks[0]) >= 8
    # The region searches agree with full-frame detection on the in-between frames.
    full = detector.detect(frames[2])
    assert full and dets[2] and max(b.iou(full[0]) for b in dets[2]) > 0.4
    assert np.all(np.diff(tracks[0].frames) > 0)


class _ScriptedDetector:
    """Full search finds the face only on the frames in ``visible``; region search always does."""

    name = "scripted"

    def __init__(self, visible: set[int]) -> None:
        self.visible = visible
        self.full_calls: list[int] = []

    def detect(self, rgb):
        index = int(rgb[0, 0, 0])
        self.full_calls.append(index)
        return [_box(100 + index, 100)] if index in self.visible else []

    def detect_region(self, rgb, around):
        return [FaceBox(around.x1 + 1, around.y1, around.x2 + 1, around.y2)]


def test_detect_frames_follows_and_fills_gaps_from_neighbours():
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(17)]
    detector = _ScriptedDetector(visible={8})  # keyframes 0, 8, 16: only 8 sees the face
    dets = detect_frames(detector, frames, keyframe_every=8)
    assert sorted(detector.full_calls) == [0, 8, 16]
    assert all(len(d) == 1 for d in dets), "frames before and after the keyframe are filled"
    assert len(link_tracks(dets)) == 1

    # Without region search, every frame gets a full search.
    class FullOnly:
        name = "full"

        def detect(self, rgb):
            return []

    assert detect_frames(FullOnly(), frames) == [[] for _ in frames]


# --- faces the primary detector lost, recovered with a fallback --------------------------------
def _frames(n: int) -> list[np.ndarray]:
    return [np.full((4, 4, 3), i, np.uint8) for i in range(n)]


def test_recover_lost_follows_a_lost_face_both_ways_and_keeps_primary_boxes():
    from serving.faces import recover_lost

    frames = _frames(10)
    primary = [[_box(100, 100)] if i in (4, 5) else [] for i in range(10)]
    kept = [list(b) for b in primary]
    calls: list[int] = []

    def region(rgb, around):  # a fallback that sees the face everywhere, one px further each frame
        calls.append(int(rgb[0, 0, 0]))
        return [FaceBox(around.x1 + 1, around.y1, around.x2 + 1, around.y2, 0.9)]

    recover_lost(primary, frames, region)
    assert all(len(b) == 1 for b in primary)
    assert primary[4] == kept[4] and primary[5] == kept[5]  # the primary's boxes, unchanged
    assert primary[9][0].x1 == 104 and primary[0][0].x1 == 104  # followed frame to frame
    assert sorted(calls) == [0, 1, 2, 3, 6, 7, 8, 9]  # searched only where the face was missing


def test_recover_lost_adds_a_second_person_the_primary_lost_but_no_duplicate():
    from serving.faces import recover_lost

    frames = _frames(3)
    found = [[_box(10, 10), _box(300, 10)], [_box(12, 10)], [_box(14, 10), _box(300, 12)]]

    def region(rgb, around):  # also returns a box on the face already found (a duplicate)
        return [FaceBox(around.x1, around.y1, around.x2, around.y2, 0.9), _box(12, 10)]

    recover_lost(found, frames, region)
    assert len(found[1]) == 2 and found[1][0] == _box(12, 10) and found[1][1].x1 == 300
    assert len(link_tracks(found)) == 2


def test_recover_lost_searches_whole_keyframes_when_nobody_was_found_within_the_cap():
    from serving.faces import recover_lost

    frames = _frames(17)
    full_calls: list[int] = []

    def full(rgb):
        full_calls.append(int(rgb[0, 0, 0]))
        return [_box(50, 50)] if int(rgb[0, 0, 0]) == 8 else []

    def nothing(rgb, around):
        return []

    found: list[list[FaceBox]] = [[] for _ in frames]
    recover_lost(found, frames, nothing, full, max_full=2, keyframe_every=8)
    assert full_calls == [0, 8]  # keyframes 0, 8, 16: capped at two
    assert [bool(b) for b in found] == [i == 8 for i in range(17)]


def test_recover_lost_searches_the_longest_empty_stretch_for_a_face_of_the_same_size():
    from serving.faces import recover_lost

    frames = _frames(20)
    full_calls: list[int] = []

    def full(rgb):  # the lost face (60 px) and a much smaller false face elsewhere
        full_calls.append(int(rgb[0, 0, 0]))
        return [_box(100, 100, 60), _box(500, 300, 20)]

    def follow(rgb, around):  # the fallback follows the face only inside frames 10..15
        return [around] if 10 <= int(rgb[0, 0, 0]) <= 15 else []

    found: list[list[FaceBox]] = [[_box(100, 100)] if i < 4 else [] for i in range(20)]
    recover_lost(found, frames, follow, full, max_full=3)
    # Empty 4..19: its middle (11) is searched whole, then followed to 10..15; then the longest
    # stretch left, 4..9 (middle 6), then 16..19 (middle 17).
    assert full_calls == [11, 6, 17]
    assert [len(b) for b in found] == [1] * 4 + [0, 0, 1, 0, 0, 0] + [1] * 6 + [0, 1, 0, 0]
    assert all(b.side == 60 for boxes in found for b in boxes)  # the 20-px false face was dropped


def test_mtcnn_recovers_the_tilted_back_head_in_a_portrait_clip(shared_videos):
    """dfdc_yhffcuhhjy: the head is tilted back in the first third; HOG loses it."""
    from fakewatch.settings import Settings
    from serving.intake import IntakeLimits, load_media

    media = load_media(shared_videos["dfdc_yhffcuhhjy"], limits=IntakeLimits.from_settings(Settings()), n_frames=16)
    frames = [frame.image for frame in media.frames]
    hog = detect_frames(create_detector("hog"), frames)
    both = detect_frames(create_detector("hog", fallback="mtcnn").video, frames)
    assert sum(bool(b) for b in hog) <= 12
    assert sum(bool(b) for b in both) >= sum(bool(b) for b in hog) + 3
    assert all(set(h) <= set(b) for h, b in zip(hog, both))  # HOG's boxes are all still there
    assert len(link_tracks(both)) == 1
