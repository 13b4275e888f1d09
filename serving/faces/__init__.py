"""Faces: detection behind a small interface, square crops, and tracks through a video."""

from serving.faces._crop import crop_box, crop_face
from serving.faces._detector import (
    CNN_TO_HOG_SCALE,
    CNN_TO_HOG_SHIFT,
    DETECTORS,
    MTCNN_TO_HOG_SCALE,
    MTCNN_TO_HOG_SHIFT,
    CnnDetector,
    FaceBox,
    FaceDetector,
    FallbackDetector,
    HogDetector,
    LostFaceSearch,
    MtcnnDetector,
    create_detector,
    mtcnn_to_hog,
    reframe,
)
from serving.faces._tracks import Track, detect_frames, keyframes, link_tracks, recover_lost

__all__ = [
    "CNN_TO_HOG_SCALE",
    "CNN_TO_HOG_SHIFT",
    "DETECTORS",
    "MTCNN_TO_HOG_SCALE",
    "MTCNN_TO_HOG_SHIFT",
    "CnnDetector",
    "FaceBox",
    "FaceDetector",
    "FallbackDetector",
    "HogDetector",
    "LostFaceSearch",
    "MtcnnDetector",
    "Track",
    "create_detector",
    "crop_box",
    "crop_face",
    "detect_frames",
    "keyframes",
    "link_tracks",
    "mtcnn_to_hog",
    "recover_lost",
    "reframe",
]
