"""Names and numbers training agrees on, in one place (python-telegram-bot style)."""

from __future__ import annotations

REAL = 0
FAKE = 1
LABELS: dict[str, int] = {"real": REAL, "fake": FAKE}
LABEL_NAMES: dict[int, str] = {REAL: "real", FAKE: "fake"}

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm"})

SPLITS = ("train", "val", "test")
DEFAULT_VAL_FRACTION = 0.15
SPLIT_SALT = "fakewatch-split-v1"  # changing it reshuffles every group-wise split

# Face-crop cache
CACHE_CROP_SIZE = 160  # px; training resizes down from here (128-160 image CNN, 96-112 video)
CACHE_JPEG_QUALITY = 95
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = (
    "source",
    "file",
    "frame",
    "track",
    "x1",
    "y1",
    "x2",
    "y2",
    "label",
    "group",
    "split",
    "status",
    "crop",
)
STATUS_OK = "ok"
STATUS_NO_FACE = "no_face"
STATUS_ERROR = "error"

# Shared data (../shared/data): the four face sources (name -> folder under faces/) and the six clips
SHARED_FACE_FOLDERS: dict[str, str] = {
    "dfdc": "dfdc",
    "mesonet": "mesonet",
    "stylegan": "stylegan",
    "lfw": "lfw-faceswap",
}
SHARED_FACE_SOURCES = tuple(SHARED_FACE_FOLDERS)

# Synthesised pseudo-fakes (training.synth): the kinds and their default sampling weights. Here,
# not in training.synth, so the config can validate kind names without importing OpenCV.
SYNTH_DEFAULT_WEIGHTS: dict[str, float] = {
    "sbi": 1.0,
    "lowres_inner": 1.0,
    "restorer": 0.5,
    "seam": 1.0,
    "colour": 0.5,
    "swap": 1.0,
    "upsampler": 0.0,  # off by default: measured in the leave-one-source-out matrix first
}
SYNTH_KINDS = tuple(SYNTH_DEFAULT_WEIGHTS)
