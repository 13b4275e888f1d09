"""Faces: detection behind a small interface, square crops, and tracks through a video."""

from serving.faces._crop import crop_box, crop_face
from serving.faces._detector import (
    DETECTORS,
    CnnDetector,
    FaceBox,
    FallbackDetector,
    FaceDetector,
    HogDetector,
    create_detector,
    reframe,
)
from serving.faces._tracks import Track, detect_frames, keyframes, link_tracks

__all__ = [
    "DETECTORS",
    "CnnDetector",
    "FaceBox",
    "FaceDetector",
    "FallbackDetector",
    "HogDetector",
    "Track",
    "create_detector",
    "crop_box",
    "crop_face",
    "detect_frames",
    "keyframes",
    "link_tracks",
    "reframe",
]
