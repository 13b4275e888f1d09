"""Face detection behind a small interface, so another backend can replace dlib.

The detectors are face_recognition's (dlib's frontal HOG detector and its MMOD CNN), called
directly so that every thread has its own copy and the boxes match ``face_locations``, and
MTCNN (``serving.faces._mtcnn``), whose boxes are re-framed to HOG's. HOG is the primary: the
models were trained on its crops; the others search only where it finds no face.

Why a downscaled copy: dlib's HOG costs grow with the pixel count, and faces in phone/DFDC
video stay far above the detector's 80 px window once we upsample the 480 px copy once.
Why padding for small images: training crops (224 px DFDC, 100-260 px MesoNet) are so tight
that the HOG window sees no face outline; replicating the border gives it that context
(measured on ../shared/data/faces, see DEVELOPERS.md, serving.faces).
"""

from __future__ import annotations

import queue
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from serving.faces._mtcnn import THRESHOLDS as _MTCNN_DEFAULTS
from serving.faces._mtcnn import detect_mtcnn, load_nets

# Images whose longer side is at most this are treated as "a face crop or a thumbnail":
# padded and searched with a cascade of upsampling factors.
SMALL_IMAGE_SIDE = 400
SMALL_IMAGE_PAD = 0.25  # fraction of the longer side replicated on every border
LARGE_IMAGE_UPSAMPLE = 1  # one dlib pyramid doubling on the max_side copy (finds ~40 px faces)
# Region-of-interest search (tracking): the previous box is scaled to about this many pixels.
ROI_FACE_PX = 110
ROI_CONTEXT = 0.6  # the region is the box grown by this fraction of its side on every side
# Below this shorter side (after downscaling and padding) no detector here can see a face, and
# dlib's CNN fails outright ("Filter windows must be small enough..."): such inputs have no face.
MIN_SEARCH_SIDE = 20

_load_lock = threading.Lock()


def _dlib() -> Any:
    """dlib, imported on first use so that importing serving.faces stays cheap."""
    import dlib

    return dlib


@dataclass(frozen=True)
class FaceBox:
    """A face in the pixels of the frame it was found in (x2/y2 exclusive)."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float = 1.0

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    @property
    def side(self) -> int:
        return max(self.width, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)

    def iou(self, other: FaceBox) -> float:
        ix = max(0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float) -> FaceBox:
        """The same box in an image resized by ``factor`` (e.g. a downscaled annotation copy)."""
        return FaceBox(
            int(round(self.x1 * factor)),
            int(round(self.y1 * factor)),
            int(round(self.x2 * factor)),
            int(round(self.y2 * factor)),
            self.score,
        )


def _scaled_region(rgb: np.ndarray, around: FaceBox, face_px: int) -> tuple[np.ndarray, float, tuple[int, int]] | None:
    """``around`` grown by ROI_CONTEXT and resized so the face is ``face_px`` wide.

    Returns (region, scale, its top-left in ``rgb``), or None when the region is too small to search.
    """
    h, w = rgb.shape[:2]
    grow = int(round(around.side * ROI_CONTEXT))
    x1, y1 = max(0, around.x1 - grow), max(0, around.y1 - grow)
    x2, y2 = min(w, around.x2 + grow), min(h, around.y2 + grow)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    scale = face_px / max(1, around.side)
    size = (max(1, int(round((x2 - x1) * scale))), max(1, int(round((y2 - y1) * scale))))
    if min(size) < MIN_SEARCH_SIDE:
        return None
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(rgb[y1:y2, x1:x2], size, interpolation=interp), scale, (x1, y1)


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds every face in one RGB frame."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[FaceBox]: ...


def _check_rgb(rgb: object) -> np.ndarray:
    """Refuse what is not an HxWx3 uint8 image with a clear error (dlib would segfault or lie).

    A greyscale uint8 image (HxW or HxWx1) is accepted and repeated into three channels.
    """
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"expected an RGB numpy array, got {type(rgb).__name__}")
    if rgb.dtype == np.uint8 and (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 1)):
        if rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise ValueError(f"empty image of shape {rgb.shape}")
        grey = rgb.reshape(rgb.shape[0], rgb.shape[1], 1)
        return np.ascontiguousarray(np.repeat(grey, 3, axis=2))
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got shape {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"empty image of shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


class _DlibDetector:
    """Common part of the HOG and CNN detectors from face_recognition (dlib)."""

    name = "dlib"

    def __init__(self, *, max_side: int = 480, min_face_px: int = 24, max_upsample: int | None = None) -> None:
        if max_side < 32:
            raise ValueError(f"max_side must be at least 32 pixels, got {max_side}")
        if min_face_px < 0:
            raise ValueError(f"min_face_px must not be negative, got {min_face_px}")
        self.max_side = int(max_side)
        self.min_face_px = int(min_face_px)
        # None: the usual cascade; 0: never enlarge (the CNN fallback, whose cost grows 4x per step)
        self.max_upsample = None if max_upsample is None else max(0, int(max_upsample))
        # dlib detectors are not safe to share between threads ("make a copy for each
        # thread", dlib's object_detector docs; sharing one segfaulted here), and building
        # one costs 0.3-4 s (it deserialises the model), so they are pooled: a thread takes
        # an idle one or builds one, and gives it back when done.
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle.put(self._new_dlib_detector())  # fail at construction, not on a request

    def warm(self, copies: int = 2) -> None:
        """Build up to ``copies`` pooled dlib detectors now (one per detection thread), so the
        first requests do not pay for it."""
        built: list[Any] = []
        while self._idle.qsize() + len(built) < copies:
            built.append(self._new_dlib_detector())
        for detector in built:
            self._idle.put(detector)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_side={self.max_side}, min_face_px={self.min_face_px})"

    def _new_dlib_detector(self) -> Any:
        raise NotImplementedError

    def _run(self, rgb: np.ndarray, upsample: int) -> list[tuple[int, int, int, int]]:
        """dlib boxes as (x1, y1, x2, y2) in ``rgb`` pixels (what face_locations computes)."""
        try:
            detector = self._idle.get_nowait()
        except queue.Empty:
            with _load_lock:
                detector = self._new_dlib_detector()
        try:
            rects = detector(rgb, upsample)
        finally:
            self._idle.put(detector)
        out = []
        for rect in rects:
            rect = getattr(rect, "rect", rect)  # the CNN detector wraps rects with a confidence
            out.append((rect.left(), rect.top(), rect.right(), rect.bottom()))
        return out

    def _search(self, rgb: np.ndarray, scale: float) -> list[tuple[int, int, int, int]]:
        """Find faces in an already downscaled copy; small images are padded and cascaded."""
        h, w = rgb.shape[:2]
        if max(h, w) / scale <= SMALL_IMAGE_SIDE:
            pad = max(1, int(round(max(h, w) * SMALL_IMAGE_PAD)))
            padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            if min(padded.shape[:2]) < MIN_SEARCH_SIDE:
                return []
            for upsample in (0, 1):
                if self.max_upsample is not None and upsample > self.max_upsample:
                    break
                found = self._run(padded, upsample)
                if found:
                    return [(x1 - pad, y1 - pad, x2 - pad, y2 - pad) for x1, y1, x2, y2 in found]
            return []
        if min(h, w) < MIN_SEARCH_SIDE:
            return []
        upsample = LARGE_IMAGE_UPSAMPLE if self.max_upsample is None else min(LARGE_IMAGE_UPSAMPLE, self.max_upsample)
        return self._run(rgb, upsample)

    def _to_boxes(
        self,
        raw: list[tuple[int, int, int, int]],
        scale: float,
        offset: tuple[int, int],
        shape: tuple[int, ...],
    ) -> list[FaceBox]:
        """Map boxes from a scaled/offset copy back to full-resolution pixels, clip, filter."""
        h, w = shape[:2]
        out: list[FaceBox] = []
        for x1, y1, x2, y2 in raw:
            box = FaceBox(
                max(0, int(round(x1 / scale)) + offset[0]),
                max(0, int(round(y1 / scale)) + offset[1]),
                min(w, int(round(x2 / scale)) + offset[0]),
                min(h, int(round(y2 / scale)) + offset[1]),
            )
            if box.width >= max(1, self.min_face_px) and box.height >= max(1, self.min_face_px):
                out.append(box)
        return out

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Every face in the frame, in full-resolution pixels, largest first."""
        rgb = _check_rgb(rgb)
        h, w = rgb.shape[:2]
        if min(h, w) < max(1, self.min_face_px):
            return []  # a box is clipped to the image, so none could be min_face_px wide and high
        scale = min(1.0, self.max_side / max(h, w))
        small = rgb
        if scale < 1.0:
            size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        boxes = self._to_boxes(self._search(small, scale), scale, (0, 0), rgb.shape)
        return sorted(boxes, key=lambda b: -b.area)

    def detect_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        """Faces near ``around`` (the same person one sampled frame earlier), cheaply.

        Why: a full-frame search at one upsample costs ~45 ms per 1080p frame; a region of
        about 2x the face, scaled so the face is ~110 px, costs a few milliseconds and keeps
        small faces findable because they are enlarged rather than shrunk.
        """
        rgb = _check_rgb(rgb)
        found = _scaled_region(rgb, around, ROI_FACE_PX)
        if found is None:
            return []
        region, scale, offset = found
        raw = self._run(np.ascontiguousarray(region), 0)
        boxes = self._to_boxes(raw, scale, offset, rgb.shape)
        return sorted(boxes, key=lambda b: -b.area)


class HogDetector(_DlibDetector):
    """dlib's HOG + linear SVM (face_recognition model="hog"): the CPU default."""

    name = "hog"

    def _new_dlib_detector(self) -> Any:
        return _dlib().get_frontal_face_detector()


class CnnDetector(_DlibDetector):
    """dlib's MMOD CNN (face_recognition model="cnn"): more robust to pose, slow on a CPU."""

    name = "cnn"

    def _new_dlib_detector(self) -> Any:
        with warnings.catch_warnings():
            # face_recognition_models imports pkg_resources, which warns on import.
            warnings.simplefilter("ignore")
            import face_recognition_models

        path = face_recognition_models.cnn_face_detector_model_location()
        return _dlib().cnn_face_detection_model_v1(path)


class MtcnnDetector:
    """MTCNN (facenet-pytorch's P/R/O-Net weights, ``serving.faces._mtcnn``), HOG-framed.

    Why: it finds turned, tilted-back and small faces that HOG misses, and it rejects a
    face-less photo in tens of milliseconds where dlib's CNN takes about a second. Its boxes are
    taller than HOG's squares and sit higher, so ``detect`` and ``detect_region`` re-frame them
    onto HOG's square box (``MTCNN_TO_HOG_*``), the framing the models were trained on;
    ``detect_raw`` gives MTCNN's own boxes. The networks are shared by every thread
    (inference only), so there is no pool.
    """

    name = "mtcnn"

    def __init__(
        self,
        *,
        max_side: int = 480,
        min_face_px: int = 24,
        max_upsample: int | None = None,
        threshold: float | None = None,
        region_threshold: float | None = None,
    ) -> None:
        if max_side < 32:
            raise ValueError(f"max_side must be at least 32 pixels, got {max_side}")
        if min_face_px < 0:
            raise ValueError(f"min_face_px must not be negative, got {min_face_px}")
        self.max_side = int(max_side)
        self.min_face_px = int(min_face_px)
        self.threshold = float(MTCNN_THRESHOLD if threshold is None else threshold)
        self.region_threshold = float(MTCNN_REGION_THRESHOLD if region_threshold is None else region_threshold)
        for value in (self.threshold, self.region_threshold):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"MTCNN thresholds must be within [0, 1], got {value}")
        self.max_upsample = max_upsample  # accepted for the registry's signature; the pyramid covers scale
        load_nets()  # fail at construction (facenet-pytorch missing), not on a request

    def __repr__(self) -> str:
        return f"MtcnnDetector(max_side={self.max_side}, min_face_px={self.min_face_px})"

    def warm(self, copies: int = 2) -> None:
        """Nothing to build per thread: the networks are loaded once, at construction."""
        load_nets()

    def _boxes(
        self,
        raw: np.ndarray,
        scores: np.ndarray,
        scale: float,
        offset: tuple[int, int],
        shape: tuple[int, ...],
        hog_framing: bool,
    ) -> list[FaceBox]:
        """MTCNN boxes of a scaled/offset copy in full-resolution pixels; re-framed before they are
        clipped to the frame (a tight crop's MTCNN box passes its border)."""
        h, w = shape[:2]
        out: list[FaceBox] = []
        for (x1, y1, x2, y2), score in zip(raw.tolist(), scores.tolist()):
            box = FaceBox(
                int(round(x1 / scale)) + offset[0],
                int(round(y1 / scale)) + offset[1],
                int(round(x2 / scale)) + offset[0],
                int(round(y2 / scale)) + offset[1],
                float(score),
            )
            if box.width <= 0 or box.height <= 0:
                continue
            if hog_framing:
                box = mtcnn_to_hog(box, shape)
            else:
                box = FaceBox(max(0, box.x1), max(0, box.y1), min(w, box.x2), min(h, box.y2), box.score)
            if box.width >= max(1, self.min_face_px) and box.height >= max(1, self.min_face_px):
                out.append(box)
        return sorted(out, key=lambda b: -b.area)

    def _detect(self, rgb: np.ndarray, hog_framing: bool) -> list[FaceBox]:
        rgb = _check_rgb(rgb)
        h, w = rgb.shape[:2]
        if min(h, w) < max(1, self.min_face_px):
            return []
        scale = min(1.0, self.max_side / max(h, w))
        small = rgb
        if scale < 1.0:
            size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        # The pyramid always starts at MTCNN_MIN_FACE (min_face_px filters the answers): where it
        # starts moves every level's scale, and with it the scores of large faces.
        min_face = MTCNN_MIN_FACE
        thresholds = (*MTCNN_STAGE_THRESHOLDS, self.threshold)
        # A tight crop or a thumbnail: MTCNN's score for a face that fills the image swings with
        # the pyramid's scales; a replicated border (as for HOG) gives it a photo's context, and
        # the bare image is searched too when that finds nothing.
        pads = [max(1, int(round(max(small.shape[:2]) * SMALL_IMAGE_PAD))), 0] if max(h, w) <= SMALL_IMAGE_SIDE else [0]
        for pad in pads:
            search = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else small
            if min(search.shape[:2]) < MIN_SEARCH_SIDE:
                continue
            raw, scores = detect_mtcnn(search, min_face=min_face, thresholds=thresholds)
            if len(raw):
                return self._boxes(raw - np.float32(pad), scores, scale, (0, 0), rgb.shape, hog_framing)
        return []

    def detect_raw(self, rgb: np.ndarray) -> list[FaceBox]:
        """MTCNN's own boxes (not re-framed), in full-resolution pixels, largest first."""
        return self._detect(rgb, hog_framing=False)

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Every face in the frame, HOG-framed, in full-resolution pixels, largest first."""
        return self._detect(rgb, hog_framing=True)

    def detect_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        """Faces near ``around`` (the same person one sampled frame earlier), HOG-framed.

        The region is ``around`` grown by ROI_CONTEXT and scaled so the face is about
        MTCNN_REGION_FACE_PX; faces from half to twice that size are searched (a few ms).
        """
        rgb = _check_rgb(rgb)
        found = _scaled_region(rgb, around, MTCNN_REGION_FACE_PX)
        if found is None:
            return []
        region, scale, offset = found
        min_face = max(MTCNN_MIN_FACE / 2, MTCNN_REGION_FACE_PX / 2, self.min_face_px * scale)
        raw, scores = detect_mtcnn(
            region, min_face=min_face, thresholds=(*MTCNN_STAGE_THRESHOLDS, self.region_threshold)
        )
        return self._boxes(raw, scores, scale, offset, rgb.shape, hog_framing=True)


DETECTORS: dict[str, type[_DlibDetector] | type[MtcnnDetector]] = {
    "hog": HogDetector,
    "cnn": CnnDetector,
    "mtcnn": MtcnnDetector,
}

# How a CNN (MMOD) box maps onto the box HOG draws around the same face: side scale and centre
# shift in units of the CNN box side. Medians over the ../shared/data face images on which both
# detectors found the face (measured by benchmarks/bench_faces.py --framing; DEVELOPERS.md).
# The models were trained on HOG-framed crops, so a fallback box is re-framed before cropping.
CNN_TO_HOG_SCALE = 1.091
CNN_TO_HOG_SHIFT = (0.022, 0.064)
# The same for MTCNN, whose boxes are not square (about 1.3x taller than wide): HOG's square side
# over sqrt(width x height) of the MTCNN box, and the centre shift in units of that sqrt
# (benchmarks/bench_faces.py, "framing").
MTCNN_TO_HOG_SCALE = 0.962
MTCNN_TO_HOG_SHIFT = (0.005, 0.050)
MTCNN_MIN_FACE = 20  # smallest face MTCNN searches for, in pixels of the max_side copy
# O-Net's score needed for a face: high on a whole frame, where a false face would be scored as a
# person; lower near a face seen one sampled frame earlier (the same person, turned or occluded).
MTCNN_THRESHOLD = 0.95
MTCNN_REGION_THRESHOLD = 0.7
MTCNN_STAGE_THRESHOLDS = _MTCNN_DEFAULTS[:2]  # P-Net and R-Net: facenet-pytorch's defaults
MTCNN_REGION_FACE_PX = 64  # a region search scales the previous face to about this many pixels
# The fallback never enlarges: it looks for the faces HOG misses (turned, blurred), which in a
# photo are big enough at the detection copy's scale; enlarging would multiply its cost by 4.
FALLBACK_MAX_UPSAMPLE = 0
# A video where the primary finds nobody gets at most this many whole-frame fallback searches
# (on its keyframes); lost faces are then followed with cheap region searches.
RECOVER_MAX_FULL = 3
VIDEO_FALLBACKS = ("mtcnn",)  # fallbacks cheap enough to search video frames for lost faces


def reframe(box: FaceBox, scale: float, shift: tuple[float, float], shape: tuple[int, ...]) -> FaceBox:
    """``box`` scaled about its centre and shifted (in units of its side), clipped to the frame."""
    h, w = shape[:2]
    cx, cy = box.center
    cx, cy = cx + shift[0] * box.side, cy + shift[1] * box.side
    half_w, half_h = box.width * scale / 2.0, box.height * scale / 2.0
    return FaceBox(
        max(0, int(round(cx - half_w))),
        max(0, int(round(cy - half_h))),
        min(w, int(round(cx + half_w))),
        min(h, int(round(cy + half_h))),
        box.score,
    )


def mtcnn_to_hog(box: FaceBox, shape: tuple[int, ...]) -> FaceBox:
    """An MTCNN box as the square HOG would draw around the same face, clipped to the frame."""
    h, w = shape[:2]
    base = float(np.sqrt(max(1, box.width) * max(1, box.height)))
    cx, cy = box.center
    cx, cy = cx + MTCNN_TO_HOG_SHIFT[0] * base, cy + MTCNN_TO_HOG_SHIFT[1] * base
    half = MTCNN_TO_HOG_SCALE * base / 2.0
    return FaceBox(
        max(0, int(round(cx - half))),
        max(0, int(round(cy - half))),
        min(w, int(round(cx + half))),
        min(h, int(round(cy + half))),
        box.score,
    )


class FallbackDetector:
    """HOG first; a second detector (MTCNN or dlib's CNN) only where HOG finds no face.

    Why: HOG misses turned, tilted-back, blurred and small faces; the fallback finds most of them
    but costs more, so it runs only where the answer would otherwise be ``no_face`` (a still) or
    where a face was lost (``video``). Its boxes are HOG-framed (MTCNN re-frames its own; the
    CNN's are mapped with ``CNN_TO_HOG_*``), the framing the models were trained on, so a face
    HOG finds is cropped exactly as before.
    """

    def __init__(
        self, primary: _DlibDetector, fallback_name: str = "mtcnn", *, fallback_max_side: int | None = None
    ) -> None:
        if fallback_name not in DETECTORS:
            raise ValueError(f"unknown fallback detector {fallback_name!r}; choose one of {sorted(DETECTORS)}")
        self.primary = primary
        self.fallback_name = fallback_name
        self.fallback_max_side = int(fallback_max_side or primary.max_side)
        self.name = f"{primary.name}+{fallback_name}"
        self._fallback: _DlibDetector | MtcnnDetector | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FallbackDetector({self.primary!r}, fallback={self.fallback_name!r})"

    @property
    def fallback(self) -> _DlibDetector | MtcnnDetector:
        with self._lock:
            if self._fallback is None:
                self._fallback = DETECTORS[self.fallback_name](
                    max_side=self.fallback_max_side,
                    min_face_px=self.primary.min_face_px,
                    max_upsample=FALLBACK_MAX_UPSAMPLE,
                )
            return self._fallback

    @property
    def video(self) -> FaceDetector:
        """What video frames use: the primary's searches, and the fallback where a face was lost
        when it is cheap enough for the clip budget (MTCNN; not the CNN: ~1 s per search)."""
        return LostFaceSearch(self) if self.fallback_name in VIDEO_FALLBACKS else self.primary

    def warm(self, copies: int = 2) -> None:
        """Warms the primary; MTCNN too (cheap), the CNN is built on first use (seconds)."""
        self.primary.warm(copies)
        if self.fallback_name == "mtcnn":
            self.fallback.warm(copies)

    def _framed(self, boxes: list[FaceBox], shape: tuple[int, ...]) -> list[FaceBox]:
        if self.fallback_name == "cnn" and self.primary.name == "hog":
            boxes = [reframe(b, CNN_TO_HOG_SCALE, CNN_TO_HOG_SHIFT, shape) for b in boxes]
        min_side = max(1, self.primary.min_face_px)
        return sorted((b for b in boxes if b.width >= min_side and b.height >= min_side), key=lambda b: -b.area)

    def fallback_detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """The fallback alone on the whole frame, HOG-framed."""
        return self._framed(self.fallback.detect(rgb), rgb.shape)

    def fallback_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        """The fallback alone near ``around``, HOG-framed."""
        return self._framed(self.fallback.detect_region(rgb, around), rgb.shape)

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        boxes = self.primary.detect(rgb)
        if boxes or self.fallback_name == self.primary.name:
            return boxes
        return self.fallback_detect(rgb)

    def detect_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        return self.primary.detect_region(rgb, around)


class LostFaceSearch:
    """A video's detector: the primary's full and region searches, plus ``recover_*`` that
    ``detect_frames`` calls for faces the primary lost (the fallback, re-framed to HOG).

    The primary's boxes are never changed, so faces HOG finds are cropped as before.
    """

    def __init__(self, owner: FallbackDetector) -> None:
        self.owner = owner
        self.primary = owner.primary
        self.name = f"{owner.primary.name}+{owner.fallback_name}(lost faces)"
        self.max_full = RECOVER_MAX_FULL

    def __repr__(self) -> str:
        return f"LostFaceSearch({self.owner!r})"

    def warm(self, copies: int = 2) -> None:
        self.owner.warm(copies)

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        return self.primary.detect(rgb)

    def detect_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        return self.primary.detect_region(rgb, around)

    def recover_full(self, rgb: np.ndarray) -> list[FaceBox]:
        return self.owner.fallback_detect(rgb)

    def recover_region(self, rgb: np.ndarray, around: FaceBox) -> list[FaceBox]:
        return self.owner.fallback_region(rgb, around)


def create_detector(
    name: str = "hog",
    *,
    max_side: int = 480,
    min_face_px: int = 24,
    fallback: str | None = None,
    fallback_max_side: int | None = None,
) -> FaceDetector:
    """A detector by name (``hog``, ``cnn`` or ``mtcnn``); unknown names fail loudly.

    ``fallback`` (``"mtcnn"`` or ``"cnn"``) wraps it in a :class:`FallbackDetector`: used where
    the primary finds no face in a still, and (``.video``) where it loses a face in a video.
    """
    try:
        cls = DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}") from None
    detector = cls(max_side=max_side, min_face_px=min_face_px)
    if fallback and fallback != "none":
        if not isinstance(detector, _DlibDetector):
            raise ValueError(f"a fallback needs a dlib primary (hog or cnn), got {name!r}")
        return FallbackDetector(detector, fallback, fallback_max_side=fallback_max_side)
    return detector
