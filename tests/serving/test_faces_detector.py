"""Face detection on real frames and real face crops from ../shared/data."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from serving.faces import FaceBox, FaceDetector, HogDetector, create_detector


def _frame(path, index: int = 0) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("clip shorter than expected")


@pytest.fixture(scope="module")
def detector() -> HogDetector:
    return create_detector("hog")


def test_create_detector_by_name_and_protocol():
    hog = create_detector("hog", max_side=320, min_face_px=10)
    assert isinstance(hog, FaceDetector) and hog.name == "hog" and hog.max_side == 320
    assert create_detector("cnn").name == "cnn"
    mtcnn = create_detector("mtcnn", max_side=320)
    assert isinstance(mtcnn, FaceDetector) and mtcnn.name == "mtcnn" and mtcnn.max_side == 320
    with pytest.raises(ValueError, match="unknown face detector"):
        create_detector("haar")
    with pytest.raises(ValueError, match="dlib primary"):
        create_detector("mtcnn", fallback="cnn")


def test_finds_the_face_in_a_1080p_dfdc_frame(detector, shared_videos):
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    boxes = detector.detect(rgb)
    assert len(boxes) == 1
    box = boxes[0]
    # Full-resolution pixels, inside the frame, a plausible face size for this clip (~200 px).
    assert 0 <= box.x1 < box.x2 <= rgb.shape[1] and 0 <= box.y1 < box.y2 <= rgb.shape[0]
    assert 120 <= box.side <= 400


def test_region_search_follows_the_face(detector, shared_videos):
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    (box,) = detector.detect(rgb)
    moved = FaceBox(box.x1 + 20, box.y1 - 15, box.x2 + 20, box.y2 - 15)
    found = detector.detect_region(rgb, moved)
    assert found and max(b.iou(box) for b in found) > 0.5


def test_no_face_in_noise_or_flat_images(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []
    assert detector.detect(np.full((200, 200, 3), 127, np.uint8)) == []
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_min_face_px_drops_small_faces(shared_videos):
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    assert create_detector("hog", min_face_px=1000).detect(rgb) == []


@pytest.mark.parametrize(
    "bad, error",
    [
        ("not an image", TypeError),
        (np.zeros((10, 10, 4), np.uint8), ValueError),
        (np.zeros((10, 10, 2), np.uint8), ValueError),
        (np.zeros((10, 10, 3), np.float32), ValueError),
        (np.zeros((0, 10, 3), np.uint8), ValueError),
        (np.zeros((0, 10), np.uint8), ValueError),
    ],
)
def test_bad_arrays_get_a_typed_error(detector, bad, error):
    with pytest.raises(error):
        detector.detect(bad)


@pytest.mark.parametrize("source", ["dfdc", "mesonet", "stylegan"])
def test_tight_face_crops_are_found(detector, shared_data, source):
    """Small, tight crops need the padded/upsampled cascade (measured ~0.9+ on every source)."""
    files = sorted((shared_data / "faces" / source / "real").glob("*.jpg"))[:12]
    found = sum(bool(detector.detect(np.asarray(Image.open(f).convert("RGB")))) for f in files)
    assert found >= 9, f"{source}: faces found in only {found}/12 crops"


# Face images from ../shared/data in which HOG finds no face (recorded no_face in the crop
# cache) and dlib's CNN does: what the still-image fallback exists for.
HOG_MISSES = ("dfdc/fake/acbqitgkie.jpg", "mesonet/real/100_784.jpg")


@pytest.fixture(scope="module")
def fallback_detector():
    from serving.faces import FallbackDetector

    detector = create_detector("hog", fallback="cnn")
    assert isinstance(detector, FallbackDetector) and detector.name == "hog+cnn"
    return detector


@pytest.mark.parametrize("name", HOG_MISSES)
def test_fallback_finds_faces_hog_misses(detector, fallback_detector, shared_data, name):
    rgb = np.asarray(Image.open(shared_data / "faces" / name).convert("RGB"))
    assert detector.detect(rgb) == []
    boxes = fallback_detector.detect(rgb)
    assert len(boxes) >= 1
    box = boxes[0]
    assert 0 <= box.x1 < box.x2 <= rgb.shape[1] and 0 <= box.y1 < box.y2 <= rgb.shape[0]
    assert box.side >= 0.3 * max(rgb.shape[:2])  # a tight crop: the face fills much of it


def test_fallback_keeps_hog_boxes_when_hog_finds_the_face(detector, shared_videos):
    fallback_detector = create_detector("hog", fallback="cnn")
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    assert fallback_detector.detect(rgb) == detector.detect(rgb)
    assert fallback_detector._fallback is None  # never built: HOG answered
    (box,) = detector.detect(rgb)
    assert fallback_detector.detect_region(rgb, box) == detector.detect_region(rgb, box)


def test_fallback_finds_nothing_in_noise(fallback_detector):
    rng = np.random.default_rng(1)
    assert fallback_detector.detect(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)) == []


def test_reframe_scales_about_the_centre_and_clips():
    from serving.faces import reframe

    box = FaceBox(100, 100, 200, 200)
    assert reframe(box, 1.0, (0.0, 0.0), (480, 640)) == box
    bigger = reframe(box, 1.2, (0.0, 0.1), (480, 640))
    assert bigger.width == 120 and bigger.center == (150.0, 160.0)
    clipped = reframe(FaceBox(0, 0, 50, 50), 2.0, (0.0, 0.0), (60, 60))
    assert (clipped.x1, clipped.y1) == (0, 0) and clipped.x2 <= 60 and clipped.y2 <= 60


def test_unknown_fallback_fails_loudly():
    with pytest.raises(ValueError, match="unknown fallback detector"):
        create_detector("hog", fallback="haar")
    assert isinstance(create_detector("hog", fallback="none"), HogDetector)


# --- every registered detector, and each fallback, on inputs that have no face -----------------
@pytest.fixture(scope="module")
def every_detector():
    from serving.faces import DETECTORS

    found = {name: create_detector(name) for name in DETECTORS}
    found["hog+cnn"] = create_detector("hog", fallback="cnn")
    found["hog+mtcnn"] = create_detector("hog", fallback="mtcnn")
    found["hog+mtcnn/video"] = found["hog+mtcnn"].video
    return found


TINY_AND_ODD = [
    (1, 1, 3),
    (2, 2, 3),
    (5, 5, 3),
    (1, 10_000, 3),
    (10_000, 1, 3),
    (3, 3_000, 3),
    (30, 10_000, 3),
    (13, 7, 3),
    (23, 23, 3),
    (25, 31, 3),
    (401, 1, 3),
    (37, 401, 3),
    (1, 1),
    (1, 10_000),
    (9, 9, 1),
]


@pytest.mark.parametrize("shape", TINY_AND_ODD, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ["hog", "cnn", "mtcnn", "hog+cnn", "hog+mtcnn", "hog+mtcnn/video"])
def test_tiny_odd_and_grey_inputs_have_no_face(every_detector, name, shape):
    """dlib's CNN raised "Filter windows must be small enough..." on a 1x1 image (issue 16)."""
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 255, shape, dtype=np.uint8)
    detector = every_detector[name]
    assert detector.detect(image) == []
    region = getattr(detector, "detect_region", None)
    if region is not None:
        h, w = image.shape[:2]
        assert region(image, FaceBox(0, 0, max(1, w // 2), max(1, h // 2))) == []


@pytest.mark.parametrize("name", ["hog", "mtcnn", "hog+mtcnn"])
def test_a_greyscale_photo_is_searched_like_its_rgb_copy(every_detector, shared_data, name):
    grey = np.asarray(
        Image.open(
            shared_data
            / "faces"
            / "stylegan"
            / "real"
            / sorted(p.name for p in (shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0]
        ).convert("L")
    )
    detector = every_detector[name]
    boxes = detector.detect(grey)
    assert len(boxes) >= 1
    assert boxes == detector.detect(np.repeat(grey[:, :, None], 3, axis=2))


def test_a_1x1_png_through_the_engine_is_no_face(tmp_path):
    """The whole path the bot takes: decode, detect (with the fallback), verdict ``no_face``."""
    import io

    from fakewatch.settings import Settings
    from serving.contract import Verdict
    from serving.engine import Engine
    from serving.models import init_checkpoint

    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint("video", architecture="tiny_lstm", input_size=32, sequence_length=4, name="tiny-video")
    for fallback in ("mtcnn", "cnn"):
        settings = Settings(image_model=tmp_path / "i", video_model=tmp_path / "v", image_fallback_detector=fallback)
        engine = Engine(settings, image_ckpt=image, video_ckpt=video, frames=4)
        for size in ((1, 1), (1, 4000), (4000, 1)):
            buffer = io.BytesIO()
            Image.new("RGB", size, (200, 180, 160)).save(buffer, format="PNG")
            result = engine.check(buffer.getvalue())
            assert result.verdict == Verdict.NO_FACE, (fallback, size, result.to_dict())
            assert result.error is None


# --- the MTCNN fallback ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mtcnn_fallback():
    from serving.faces import FallbackDetector

    detector = create_detector("hog", fallback="mtcnn")
    assert isinstance(detector, FallbackDetector) and detector.name == "hog+mtcnn"
    return detector


@pytest.mark.parametrize("name", HOG_MISSES)
def test_mtcnn_fallback_finds_faces_hog_misses(detector, mtcnn_fallback, shared_data, name):
    rgb = np.asarray(Image.open(shared_data / "faces" / name).convert("RGB"))
    assert detector.detect(rgb) == []
    boxes = mtcnn_fallback.detect(rgb)
    assert len(boxes) >= 1
    box = boxes[0]
    assert 0 <= box.x1 < box.x2 <= rgb.shape[1] and 0 <= box.y1 < box.y2 <= rgb.shape[0]
    assert box.side >= 0.3 * max(rgb.shape[:2])


def test_mtcnn_fallback_keeps_hog_boxes_and_finds_nothing_in_noise(detector, mtcnn_fallback, shared_videos):
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    assert mtcnn_fallback.detect(rgb) == detector.detect(rgb)
    rng = np.random.default_rng(1)
    assert mtcnn_fallback.detect(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)) == []
    assert mtcnn_fallback.detect(np.full((720, 1280, 3), 90, np.uint8)) == []


def test_mtcnn_boxes_are_framed_like_hog(detector, shared_data):
    """Where both find a face, the re-framed MTCNN box is a square close to HOG's box, and
    MTCNN's own box (taller than wide) is not."""
    mtcnn = create_detector("mtcnn")
    files = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[:10]
    framed, raw = [], []
    for path in files:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        hog_boxes, mtcnn_boxes = detector.detect(rgb), mtcnn.detect(rgb)
        if hog_boxes and mtcnn_boxes:
            framed.append(hog_boxes[0].iou(mtcnn_boxes[0]))
            raw.append(hog_boxes[0].iou(mtcnn.detect_raw(rgb)[0]))
            assert abs(mtcnn_boxes[0].width - mtcnn_boxes[0].height) <= 2
    assert len(framed) >= 8
    assert np.median(framed) >= 0.7
    assert np.median(framed) > np.median(raw)


def test_mtcnn_to_hog_is_a_square_scaled_and_shifted_from_the_box():
    from serving.faces import MTCNN_TO_HOG_SCALE, MTCNN_TO_HOG_SHIFT, mtcnn_to_hog

    box = FaceBox(100, 100, 200, 230)
    out = mtcnn_to_hog(box, (1000, 1000))
    base = (100 * 130) ** 0.5
    assert abs(out.width - MTCNN_TO_HOG_SCALE * base) <= 1 and abs(out.height - out.width) <= 1
    assert abs(out.center[1] - (165 + MTCNN_TO_HOG_SHIFT[1] * base)) <= 1
    clipped = mtcnn_to_hog(FaceBox(0, 0, 50, 60), (40, 40))
    assert clipped.x1 >= 0 and clipped.y1 >= 0 and clipped.x2 <= 40 and clipped.y2 <= 40


def test_mtcnn_region_search_follows_the_face(shared_videos):
    rgb = _frame(shared_videos["dfdc_lynaeydofd"], 30)
    mtcnn = create_detector("mtcnn")
    (box,) = mtcnn.detect(rgb)
    moved = FaceBox(box.x1 + 20, box.y1 - 15, box.x2 + 20, box.y2 - 15)
    found = mtcnn.detect_region(rgb, moved)
    assert found and max(b.iou(box) for b in found) > 0.6


def test_cnn_video_fallback_stays_the_primary():
    """dlib's CNN costs about a second per search: videos keep HOG alone with it."""
    detector = create_detector("hog", fallback="cnn")
    assert detector.video is detector.primary
