"""Caps on the faces one request may have scored: per frame and per request.

Why drop rather than refuse: a crowd photo or a video of a meeting is ordinary chat media, and
the faces worth judging are the large ones (a face swap that passes at 20 px passes any look).
So beyond ``max_faces_per_frame`` the smallest faces of a frame are left out, and beyond
``max_faces_per_request`` the people whose faces are smallest on average, exactly as faces under
``min_face_px`` always were. What stays is bounded work: crops, crop memory and forward passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from serving.faces import FaceBox, Track


def can_hold_a_face(height: int, width: int, *, max_side: int, min_face_px: int) -> bool:
    """Whether the detector's copy of a ``height`` x ``width`` frame (longest side scaled to
    ``max_side``) is at least ``min_face_px`` on its short side: a smaller face is never kept, so
    slivers (1x1, 1x10000, 40x10000) skip detection. dlib's CNN fed such a sliver failed with
    "alias_tensor" errors and then corrupted the heap ("double free or corruption")."""
    scale = min(1.0, max_side / max(1, height, width))
    return min(height, width) * scale >= max(1, min_face_px)


def largest_faces(boxes: Sequence[FaceBox], cap: int) -> tuple[list[FaceBox], int]:
    """At most ``cap`` boxes, the largest by area, in their original order; and how many went."""
    if cap < 1:
        raise ValueError(f"the face cap must be at least 1, got {cap}")
    if len(boxes) <= cap:
        return list(boxes), 0
    keep = sorted(sorted(range(len(boxes)), key=lambda i: -boxes[i].area)[:cap])
    return [boxes[i] for i in keep], len(boxes) - cap


def cap_per_frame(detections: Sequence[Sequence[FaceBox]], cap: int) -> tuple[list[list[FaceBox]], int]:
    """``largest_faces`` on every frame's boxes; the total dropped."""
    out: list[list[FaceBox]] = []
    dropped = 0
    for boxes in detections:
        kept, gone = largest_faces(boxes, cap)
        out.append(kept)
        dropped += gone
    return out, dropped


def cap_tracks(tracks: Sequence[Track], cap: int) -> tuple[list[Track], int]:
    """Whole people, largest mean face first, while their faces fit in ``cap``; the kept tracks
    keep their order and are renumbered 0..k-1 (track ids are person ids in the result).

    A single person with more faces than ``cap`` (more sampled frames than the cap) keeps the
    first ``cap`` of them, so a video is never left with nobody to judge.
    """
    if cap < 1:
        raise ValueError(f"the face cap must be at least 1, got {cap}")
    total = sum(len(t) for t in tracks)
    if total <= cap:
        return list(tracks), 0
    by_size = sorted(range(len(tracks)), key=lambda i: -sum(b.area for b in tracks[i].boxes) / max(1, len(tracks[i])))
    chosen: dict[int, Track] = {}
    used = 0
    for i in by_size:
        track = tracks[i]
        if used + len(track) <= cap:
            chosen[i] = track
            used += len(track)
        elif not chosen:
            chosen[i] = dataclasses.replace(track, frames=track.frames[:cap], boxes=track.boxes[:cap])
            used = cap
    kept = [dataclasses.replace(chosen[i], id=new) for new, i in enumerate(sorted(chosen))]
    return kept, total - used
