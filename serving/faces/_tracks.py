"""Following people through a video: detect on some frames, search near the last box on the
others, and link the boxes into one track per person.

Why detect-then-track: a full-frame HOG search with one upsample costs ~45 ms per sampled
1080p frame; a search around the previous box costs a few ms, so a 32-frame clip fits the
3 s budget. dlib releases the GIL, so the keyframe searches run on a small thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from serving.faces._detector import FaceBox, FaceDetector

MAX_GAP = 2  # sampled frames a track may miss and still be continued
CENTER_LINK = 0.5  # link despite low IoU when centres are closer than this × the face side
MERGE_CENTER = 0.6  # re-join a broken track whose ends are this close (× side)
MIN_TRACK_DETECTIONS = 2  # shorter tracks are spurious when the video has enough frames
MANY_FRAMES = 4  # "enough frames" for the rule above
KEYFRAME_EVERY = 8  # full-frame search on every Nth sampled frame (and the first, and the last)


@dataclass
class Track:
    """One person through a video: the sampled frames where they were found, and their boxes."""

    id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[FaceBox] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def __len__(self) -> int:
        return len(self.frames)


def _center_distance(a: FaceBox, b: FaceBox) -> float:
    """Centre distance in units of the larger face side (scale-free)."""
    (ax, ay), (bx, by) = a.center, b.center
    return float(np.hypot(ax - bx, ay - by)) / max(1, a.side, b.side)


def _match_cost(last: FaceBox, box: FaceBox, iou_threshold: float) -> float | None:
    """Lower is better; None when the two boxes cannot be the same face."""
    iou = last.iou(box)
    dist = _center_distance(last, box)
    size_ratio = max(last.side, box.side) / max(1, min(last.side, box.side))
    if size_ratio > 2.0:
        return None
    if iou >= iou_threshold or dist <= CENTER_LINK:
        return (1.0 - iou) + dist
    return None


def link_tracks(detections: list[list[FaceBox]], *, iou_threshold: float = 0.3) -> list[Track]:
    """Greedy IoU + centre-distance linking; ``detections[i]`` are the boxes of sampled frame i.

    A track may miss up to MAX_GAP frames; tracks broken for longer are re-joined when their
    ends meet; single-detection tracks are dropped (when the video has MANY_FRAMES or more and
    a longer track exists) because they are false positives far more often than people.
    """
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be within [0, 1], got {iou_threshold}")
    tracks: list[Track] = []
    for index, boxes in enumerate(detections):
        open_tracks = [t for t in tracks if index - t.last <= MAX_GAP + 1]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(open_tracks):
            for bi, box in enumerate(boxes):
                cost = _match_cost(track.boxes[-1], box, iou_threshold)
                if cost is not None:
                    pairs.append((cost + 0.1 * (index - track.last - 1), ti, bi))
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for _, ti, bi in sorted(pairs):
            if ti in used_tracks or bi in used_boxes:
                continue
            used_tracks.add(ti)
            used_boxes.add(bi)
            open_tracks[ti].frames.append(index)
            open_tracks[ti].boxes.append(boxes[bi])
        for bi, box in enumerate(boxes):
            if bi not in used_boxes:
                tracks.append(Track(id=len(tracks), frames=[index], boxes=[box]))
    tracks = _merge_broken(tracks)
    tracks = _drop_spurious(tracks, n_frames=len(detections))
    tracks.sort(key=lambda t: (t.first, t.boxes[0].x1))
    for new_id, track in enumerate(tracks):
        track.id = new_id
    return tracks


def _merge_broken(tracks: list[Track]) -> list[Track]:
    """Join a track that starts after another ends, close to where the other ended."""
    tracks = sorted(tracks, key=lambda t: t.first)
    merged: list[Track] = []
    for track in tracks:
        best: Track | None = None
        best_dist = MERGE_CENTER
        for earlier in merged:
            if earlier.last >= track.first:
                continue
            dist = _center_distance(earlier.boxes[-1], track.boxes[0])
            if dist <= best_dist:
                best, best_dist = earlier, dist
        if best is None:
            merged.append(track)
        else:
            best.frames.extend(track.frames)
            best.boxes.extend(track.boxes)
    return merged


def _drop_spurious(tracks: list[Track], *, n_frames: int) -> list[Track]:
    if n_frames < MANY_FRAMES or not any(len(t) >= MIN_TRACK_DETECTIONS for t in tracks):
        return tracks
    return [t for t in tracks if len(t) >= MIN_TRACK_DETECTIONS]


def keyframes(n_frames: int, every: int = KEYFRAME_EVERY) -> list[int]:
    """Which sampled frames get a full-frame search: every Nth, plus the last one."""
    if n_frames <= 0:
        return []
    every = max(1, every)
    keys = list(range(0, n_frames, every))
    if keys[-1] != n_frames - 1:
        keys.append(n_frames - 1)
    return keys


def detect_frames(
    detector: FaceDetector,
    images: Sequence[np.ndarray],
    *,
    keyframe_every: int = KEYFRAME_EVERY,
    workers: int = 2,
) -> list[list[FaceBox]]:
    """Boxes for every sampled frame: full search on keyframes, region search in between.

    Detectors without ``detect_region`` (another backend) get a full search on every frame.
    Between keyframes, each frame is searched around where each face of the keyframe before
    it was last seen, so faces are followed even when they move.
    """
    n = len(images)
    region: Callable[[np.ndarray, FaceBox], list[FaceBox]] | None = getattr(detector, "detect_region", None)
    keys = keyframes(n, keyframe_every) if region is not None else list(range(n))
    results: list[list[FaceBox] | None] = [None] * n
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="faces") as pool:
        for index, boxes in zip(keys, pool.map(lambda i: detector.detect(images[i]), keys)):
            results[index] = boxes
        if region is None:
            return [r or [] for r in results]

        def follow(span: tuple[int, int]) -> None:
            start, stop = span
            anchors = list(results[start] or [])
            for index in range(start + 1, stop):
                found: list[FaceBox] = []
                for a, around in enumerate(anchors):
                    hits = [b for b in region(images[index], around) if all(b.iou(o) < 0.3 for o in found)]
                    found.extend(hits)
                    if hits:
                        # Follow the face; an anchor whose search failed stays where it was.
                        anchors[a] = max(hits, key=around.iou)
                results[index] = found

        spans = [(a, b) for a, b in zip(keys, keys[1:]) if b - a > 1]
        list(pool.map(follow, spans))
    found = [r or [] for r in results]
    _fill_gaps(found, images, region)
    recover_region = getattr(detector, "recover_region", None)
    if recover_region is not None:
        recover_lost(
            found,
            images,
            recover_region,
            getattr(detector, "recover_full", None),
            max_full=int(getattr(detector, "max_full", 0)),
            keyframe_every=keyframe_every,
        )
    return found


def _present(face: FaceBox, boxes: list[FaceBox]) -> bool:
    """Whether ``face`` (from a neighbouring frame) is among ``boxes`` (the same person)."""
    return any(face.iou(b) >= 0.3 or _center_distance(face, b) <= CENTER_LINK for b in boxes)


def recover_lost(
    found: list[list[FaceBox]],
    images: Sequence[np.ndarray],
    region: Callable[[np.ndarray, FaceBox], list[FaceBox]],
    full: Callable[[np.ndarray], list[FaceBox]] | None = None,
    *,
    max_full: int = 0,
    keyframe_every: int = KEYFRAME_EVERY,
) -> None:
    """Add the faces the primary detector lost, with a fallback detector; never change its boxes.

    Why: HOG loses heads that turn or tilt back for a few frames (a portrait DFDC clip: half of
    its frames). A face seen in a neighbouring sampled frame but absent from this one is searched
    for near where it was (``region``, a few ms), forwards then backwards, so a recovered face
    leads the search into the next frame. Where frames stay empty, up to ``max_full`` of them are
    searched whole (``full``): the keyframes when nobody was found at all, otherwise the middle
    of the longest empty stretch, keeping only faces of the size seen elsewhere in the clip (a
    lost person, not a new false face), each followed again with ``region``. Boxes the primary
    found stay as they are, so the crops of faces it finds do not change.
    """
    n = len(found)
    if n == 0:
        return
    _follow(found, images, region)
    if full is None or max_full <= 0:
        return
    tried: set[int] = set()
    if not any(found):
        for index in keyframes(n, keyframe_every)[:max_full]:
            tried.add(index)
            found[index] = list(full(images[index]))
        _follow(found, images, region)
    while len(tried) < max_full:
        sides = [b.side for boxes in found for b in boxes]
        if not sides:
            return
        runs = _empty_runs(found, tried)
        if not runs:
            return
        start, stop = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
        index = (start + stop - 1) // 2
        tried.add(index)
        low, high = min(sides), max(sides)
        hits = [b for b in full(images[index]) if low / 2.0 <= b.side <= high * 2.0]
        if hits:
            found[index] = hits
            _follow(found, images, region)


def _empty_runs(found: list[list[FaceBox]], tried: set[int]) -> list[tuple[int, int]]:
    """Maximal stretches ``[start, stop)`` of empty frames not yet searched whole."""
    runs, start = [], None
    for index in range(len(found) + 1):
        empty = index < len(found) and not found[index] and index not in tried
        if empty and start is None:
            start = index
        elif not empty and start is not None:
            runs.append((start, index))
            start = None
    return runs


def _follow(
    found: list[list[FaceBox]],
    images: Sequence[np.ndarray],
    region: Callable[[np.ndarray, FaceBox], list[FaceBox]],
) -> None:
    """Search each frame near the faces of its neighbour that it lacks, forwards then backwards."""
    n = len(found)
    for order in (range(1, n), range(n - 2, -1, -1)):
        for index in order:
            neighbour = index - 1 if order.step == 1 else index + 1
            for around in found[neighbour]:
                if _present(around, found[index]):
                    continue
                hits = [b for b in region(images[index], around) if not _present(b, found[index])]
                if hits:
                    found[index] = [*found[index], max(hits, key=around.iou)]


def _fill_gaps(
    found: list[list[FaceBox]],
    images: Sequence[np.ndarray],
    region: Callable[[np.ndarray, FaceBox], list[FaceBox]],
) -> None:
    """Search empty frames around the faces of their neighbours, forwards then backwards.

    Why: a keyframe that misses a face (profile, blur, a small face in a portrait video) would
    otherwise lose the person until the next keyframe; a region search costs a few ms.
    """
    n = len(found)
    for order in (range(1, n), range(n - 2, -1, -1)):
        for index in order:
            neighbour = index - 1 if order.step == 1 else index + 1
            if found[index] or not found[neighbour]:
                continue
            hits: list[FaceBox] = []
            for around in found[neighbour]:
                hits += [b for b in region(images[index], around) if all(b.iou(o) < 0.3 for o in hits)]
            found[index] = hits
