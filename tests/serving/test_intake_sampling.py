"""Frame sampling plans: even spread, seek decisions, nearest-decodable picking (pure logic)."""

from __future__ import annotations

import pytest

from serving.intake._sampling import NearestPicker, seek_target, spread_targets


class TestSpreadTargets:
    def test_spreads_over_the_whole_clip(self):
        pts = list(range(0, 3000, 10))  # 300 frames
        targets = spread_targets(pts, 32)
        assert len(targets) == 32 and targets[0] == 0 and targets[-1] == 2990
        gaps = [b - a for a, b in zip(targets, targets[1:])]
        assert min(gaps) >= 90 and max(gaps) <= 100  # even: 96.5 on average

    def test_fewer_frames_than_samples_takes_every_frame(self):
        assert spread_targets([5, 7, 9], 32) == [5, 7, 9]

    def test_one_frame_and_one_sample(self):
        assert spread_targets([42], 32) == [42]
        assert spread_targets(list(range(11)), 1) == [5]

    def test_even_in_time_for_variable_frame_rate(self):
        # a burst of 100 frames in the first second, then one frame per second for 9 s
        pts = list(range(0, 1000, 10)) + list(range(1000, 10_001, 1000))
        targets = spread_targets(pts, 11)
        assert targets == list(range(0, 10_001, 1000))  # not 10 samples from the burst

    def test_targets_are_distinct_and_increasing_even_when_crowded(self):
        pts = [0, 1, 2, 3, 1000]
        targets = spread_targets(pts, 4)
        assert len(set(targets)) == 4 and targets == sorted(targets)


class TestSeekTarget:
    keyframes = [0, 100, 200, 300]
    pts = list(range(0, 400))

    def test_no_seek_when_the_target_is_before_the_next_keyframe(self):
        assert seek_target(10, 90, self.keyframes) is None

    def test_seek_to_the_last_keyframe_before_the_target(self):
        assert seek_target(10, 250, self.keyframes) == 200

    def test_no_seek_when_it_would_skip_too_few_frames(self):
        assert seek_target(95, 150, self.keyframes, self.pts, min_skipped=12) is None
        assert seek_target(10, 150, self.keyframes, self.pts, min_skipped=12) == 100

    def test_no_keyframe_ahead(self):
        assert seek_target(310, 390, self.keyframes) is None


class TestNearestPicker:
    def test_exact_hits_when_every_frame_is_decoded(self):
        picker = NearestPicker([0, 3, 6])
        taken = [p for pts in range(8) for p, _ in picker.offer(pts, f"f{pts}")]
        assert taken == [0, 3, 6] and picker.done

    def test_nearest_decodable_frame_when_frames_are_skipped(self):
        picker = NearestPicker([0, 5, 9, 13])
        taken = []
        for pts in (0, 4, 8, 12, 16):  # only every 4th frame is decodable
            taken += [p for p, _ in picker.offer(pts, pts)]
        taken += [p for p, _ in picker.finish()]
        assert taken == [0, 4, 8, 12]  # 5 -> 4, 9 -> 8, 13 -> 12 (nearer than 16)

    def test_never_picks_a_frame_twice(self):
        picker = NearestPicker([0, 1, 2, 3])
        taken = []
        for pts in (0, 10, 20, 30, 40):
            taken += [p for p, _ in picker.offer(pts, pts)]
        assert taken == sorted(set(taken)) and len(taken) == 4

    def test_finish_gives_targets_past_the_end_the_last_frame(self):
        picker = NearestPicker([0, 100])
        picker.offer(0, "a")
        picker.offer(50, "b")
        assert picker.finish() == [(50, "b")]

    @pytest.mark.parametrize("step", [1, 2, 3, 4])
    def test_returns_items_in_presentation_order(self, step):
        picker = NearestPicker(spread_targets(list(range(300)), 32))
        taken = []
        for pts in range(0, 300, step):
            taken += [p for p, _ in picker.offer(pts, pts)]
        taken += [p for p, _ in picker.finish()]
        assert taken == sorted(taken) and len(taken) == len(set(taken))
        assert len(taken) == 32
