"""The detection pipeline, split in stages so Ray Serve can place each where it runs best.

``prepare`` (CPU: decode, faces, crops) → ``score_images`` (image CNN) and ``score_tracks``
(ResNeXt-LSTM) → ``assemble`` (verdict JSON) → optionally ``annotate`` (JPEG). ``check`` runs
them all in process. Why the split: decoding and dlib want CPU workers, the two networks want
batching (and a GPU where there is one), and a ``Prepared`` is small enough to hand between
processes (crops at one size, and downscaled copies of frames only when asked for).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from fakewatch.settings import Settings, get_settings
from serving.annotate import Heat, Mark, render
from serving.caps import can_hold_a_face, cap_per_frame, cap_tracks, largest_faces
from serving.contract import (
    CheckResult,
    ErrorCode,
    Face,
    MediaKind,
    ModelInfo,
    Provenance,
    Reason,
    TimelinePoint,
    TrackScore,
    Verdict,
)
from serving.faces import (
    FaceBox,
    FaceDetector,
    create_detector,
    crop_box,
    crop_face,
    detect_frames,
    link_tracks,
)
from serving.intake import IntakeError, IntakeLimits, load_media
from serving.models import (
    Checkpoint,
    ModelCard,
    grad_cam,
    image_logits,
    init_checkpoint,
    load_checkpoint,
    preprocess,
    read_card,
)
from serving.provenance import c2pa_context
from serving.verdict import band, calibrate, fuse, top_moments, video_weight

log = logging.getLogger(__name__)

VIEW_MAX_SIDE = 1280  # annotation copies of frames: enough for a chat preview, ~3 MB each
IMAGE_BATCH = 32  # crops per forward pass of the image CNN (bounded memory on long videos)
VIDEO_BATCH = 4  # track windows per forward pass of the video model
CARD_FILE = "model_card.json"
DETECT_THREADS = 2  # dlib releases the GIL: two frames are searched at once

# One intra-op thread per network, and the two networks of a video run side by side: on this
# shared 2-core CPU, 2 OpenMP threads per forward pass spin at barriers whenever another process
# holds a core (EfficientNet 32 crops + ResNeXt 32 frames: 3.9-5.0 s with 2 threads, 1.75-1.9 s
# with 1, same machine and load); on an idle machine the side-by-side networks still fill both
# cores. ``Engine(torch_threads=N)`` overrides it for the process.
DEFAULT_TORCH_THREADS = 1
# Inference precision on the CPU. "auto" = bf16 autocast where the CPU has AMX/AVX512-BF16:
# single-thread EfficientNet x32 at 224 px 1.07 s -> 0.50 s, ResNeXt50 x32 at 112 px 0.68 s ->
# 0.28 s here; logits move by <= 0.01 (probabilities by <= 0.003). "fp32" for exact float32.
PRECISIONS = ("auto", "fp32", "bf16")

_threads_lock = threading.Lock()
_threads_set = False


def _set_torch_threads(threads: int | None) -> None:
    """Once per process (torch's intra-op pool is global), or whenever asked explicitly."""
    global _threads_set
    with _threads_lock:
        if threads is not None:
            torch.set_num_threads(max(1, min(int(threads), os.cpu_count() or 1)))
            _threads_set = True
        elif not _threads_set:
            torch.set_num_threads(DEFAULT_TORCH_THREADS)
            _threads_set = True


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


@dataclass
class PreparedFace:
    """One detected face that will be scored: where, in which sampled frame, which person."""

    box: FaceBox
    frame: int | None  # Frame.index for videos, None for images
    track: int | None  # person id for videos


@dataclass
class Prepared:
    """Everything the scoring and assembly stages need, and nothing heavy.

    ``crops[i]`` belongs to ``faces[i]``; ``tracks[k]`` lists the face indices of person k in
    frame order; ``views`` maps a frame index to a copy of that frame at most VIEW_MAX_SIDE long
    (only when prepared ``with_views``), ``view_scale`` maps frame pixels to view pixels.
    """

    path: str | None
    kind: MediaKind
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    frame_times: list[float | None]
    faces: list[PreparedFace]
    crops: np.ndarray  # [N, S, S, 3] uint8
    tracks: list[list[int]]
    margin: float
    views: dict[int, np.ndarray] = field(default_factory=dict)
    view_scale: float = 1.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def frames_sampled(self) -> int | None:
        return len(self.frame_times) if self.kind == MediaKind.VIDEO else None

    def track_sequences(self) -> list[np.ndarray]:
        """Per person, their crops in frame order: the video model's input."""
        return [self.crops[idx] for idx in self.tracks]


class _Slot:
    """One model: a checkpoint given, a checkpoint directory, or the untrained fallback.

    Loaded lazily (thread-safe) so a process that only prepares never builds the networks;
    the card of a directory checkpoint is read without building the model.
    """

    def __init__(self, task: str, given: Checkpoint | str | Path | None, directory: Path, device: str):
        self.task = task
        self.device = device
        self._lock = threading.Lock()
        self._checkpoint: Checkpoint | None = given if isinstance(given, Checkpoint) else None
        self._directory: Path | None = None
        if isinstance(given, (str, Path)):
            self._directory = Path(given)  # explicit: must exist and load
        elif given is None and (Path(directory) / CARD_FILE).is_file():
            self._directory = Path(directory)
        if self._checkpoint is not None:
            _for_device(self._checkpoint.model.to(device).eval(), device)
        self._card: ModelCard | None = None

    @property
    def card(self) -> ModelCard:
        if self._checkpoint is not None:
            return self._checkpoint.card
        if self._directory is not None:
            if self._card is None:
                self._card = read_card(self._directory)
            return self._card
        return self.checkpoint.card

    @property
    def checkpoint(self) -> Checkpoint:
        if self._checkpoint is None:
            with self._lock:
                if self._checkpoint is None:
                    if self._directory is not None:
                        ckpt = load_checkpoint(self._directory, device=self.device)
                    else:
                        log.warning("no %s checkpoint found; using the untrained fallback", self.task)
                        ckpt = init_checkpoint(self.task)  # type: ignore[arg-type]
                        ckpt.model.to(self.device).eval()
                    _for_device(ckpt.model, self.device)
                    self._checkpoint = ckpt
        return self._checkpoint


def _for_device(model: torch.nn.Module, device: str) -> torch.nn.Module:
    """Channels-last conv weights on CPU: oneDNN then skips layout conversions; measured ~30 %
    less CPU time for EfficientNet-Lite0 and ResNeXt50 here (same float32 arithmetic)."""
    if str(device).startswith("cpu"):
        model.to(memory_format=torch.channels_last)
    return model


def _fast_cpu_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX tiles or AVX512-BF16)."""
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if callable(check) and check():
                return True
        except Exception:
            continue
    return False


def resolve_precision(precision: str, device: str) -> bool:
    """True when the networks should run under bf16 autocast on the CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if not str(device).startswith("cpu"):
        return False  # GPUs: the serving app chooses its own autocast
    if precision == "auto":
        return _fast_cpu_bf16()
    return precision == "bf16"


def _resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _downscale(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


class Engine:
    """The deepfake checker for one process: models, detector, caps, and the stages."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        image_ckpt: Checkpoint | str | Path | None = None,
        video_ckpt: Checkpoint | str | Path | None = None,
        frames: int | None = None,
        detector: str | FaceDetector | None = None,
        keyframe_every: int | None = None,
        torch_threads: int | None = None,
        precision: str = "auto",
    ) -> None:
        """``image_ckpt``/``video_ckpt``: a loaded ``Checkpoint`` or a directory; by default the
        settings' directories, or the untrained fallback when they hold no checkpoint.
        ``frames`` overrides ``settings.frames_per_video`` (tests use few); ``torch_threads``
        sets torch's intra-op threads for the process (default DEFAULT_TORCH_THREADS);
        ``precision`` is "auto", "fp32" or "bf16" (see PRECISIONS)."""
        _set_torch_threads(torch_threads)
        self.settings = settings or get_settings()
        self.limits = IntakeLimits.from_settings(self.settings)
        self.frames = int(frames or self.settings.frames_per_video)
        if self.frames < 1:
            raise ValueError(f"frames must be positive, got {self.frames}")
        self.margin = float(self.settings.face_margin)
        if isinstance(detector, str) or detector is None:
            detector = create_detector(
                detector or self.settings.detector,
                max_side=self.settings.detect_max_side,
                min_face_px=self.settings.min_face_px,
                fallback=self.settings.image_fallback_detector,
            )
        self.detector: FaceDetector = detector  # still images (HOG, then the fallback if HOG finds none)
        # video frames: the primary's searches, and the fallback only for faces the primary lost
        self.video_detector: FaceDetector = (
            getattr(detector, "video", None) or getattr(detector, "primary", None) or detector
        )
        self.keyframe_every = keyframe_every
        self.device = _resolve_device(self.settings.device)
        self.bf16 = resolve_precision(precision, self.device)
        self._image = _Slot("image", image_ckpt, self.settings.image_model, self.device)
        self._video = _Slot("video", video_ckpt, self.settings.video_model, self.device)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # --- models ----------------------------------------------------------------------------
    @property
    def image_card(self) -> ModelCard:
        return self._image.card

    @property
    def video_card(self) -> ModelCard:
        return self._video.card

    @property
    def image_checkpoint(self) -> Checkpoint:
        return self._image.checkpoint

    @property
    def video_checkpoint(self) -> Checkpoint:
        return self._video.checkpoint

    @property
    def crop_size(self) -> int:
        """One crop size for both models (the larger input); each model resizes down."""
        return max(self.image_card.input_size, self.video_card.input_size)

    def load(self) -> Engine:
        """Build both networks and the detector pool now (a server warms up before traffic)."""
        _ = self.image_checkpoint, self.video_checkpoint
        c2pa_context()  # the native C2PA library loads once, not during the first check
        warm = getattr(self.detector, "warm", None)
        if callable(warm):
            warm(DETECT_THREADS)
        return self

    def model_info(self, kind: MediaKind | None) -> ModelInfo:
        """What the result says about the models: both of them for a video."""
        image = self.image_card
        if kind != MediaKind.VIDEO:
            return ModelInfo(name=image.name, version=image.version, trained=image.trained)
        video = self.video_card
        return ModelInfo(
            name=f"{image.name}+{video.name}",
            version=f"{image.version}+{video.version}",
            trained=image.trained and video.trained,
        )

    def thresholds_for(self, kind: MediaKind | None) -> Any:
        """The bands that apply: the image card's, or for videos the video card's unless the
        image CNN decides alone (fusion weight 0)."""
        if kind != MediaKind.VIDEO:
            return self.image_card.thresholds
        weight, _ = video_weight(
            self.video_card.fusion,
            image_trained=self.image_card.trained,
            video_trained=self.video_card.trained,
        )
        return self.image_card.thresholds if weight == 0.0 else self.video_card.thresholds

    # --- stage 1: decode, faces, crops -----------------------------------------------------
    def prepare(
        self, source: bytes | Path, path: str | None = None, *, with_views: bool = False
    ) -> Prepared | CheckResult:
        """Decode and find faces; an intake failure comes back as an ``invalid`` result.

        ``with_views`` keeps downscaled copies of the frames with faces for ``annotate``.
        """
        started = time.perf_counter()
        if path is None and isinstance(source, (str, Path)):
            path = str(source)
        if isinstance(source, str):
            source = Path(source)
        try:
            media = load_media(source, limits=self.limits, n_frames=self.frames)
        except IntakeError as exc:
            result = CheckResult.invalid(path, exc.code, exc.message)
            result.timings_ms = {"total": _ms(started), "decode": _ms(started)}
            return result
        provenance_ms = media.timings_ms.get("provenance", 0.0)
        timings = {"provenance": provenance_ms, "decode": _ms(started) - provenance_ms}

        t = time.perf_counter()
        images = [frame.image for frame in media.frames]
        faces: list[PreparedFace] = []
        tracks: list[list[int]] = []
        per_frame, per_request = self.settings.max_faces_per_frame, self.settings.max_faces_per_request
        dropped = 0
        height, width = images[0].shape[:2]
        if not can_hold_a_face(
            height, width, max_side=self.settings.detect_max_side, min_face_px=self.settings.min_face_px
        ):
            pass  # no face of min_face_px fits: no_face, and the detectors never see a sliver
        elif media.kind == MediaKind.VIDEO:
            kwargs = {} if self.keyframe_every is None else {"keyframe_every": self.keyframe_every}
            detections = detect_frames(self.video_detector, images, workers=DETECT_THREADS, **kwargs)
            detections, dropped = cap_per_frame(detections, per_frame)
            kept_tracks, dropped_in_tracks = cap_tracks(link_tracks(detections), per_request)
            dropped += dropped_in_tracks
            for track in kept_tracks:
                tracks.append([])
                for frame_index, box in zip(track.frames, track.boxes):
                    tracks[-1].append(len(faces))
                    faces.append(PreparedFace(box, media.frames[frame_index].index, track.id))
        else:
            boxes, dropped = largest_faces(self.detector.detect(images[0]), min(per_frame, per_request))
            faces = [PreparedFace(box, None, None) for box in boxes]
        if dropped:
            log.info(
                "%s: %d smaller faces left out (caps: %d per frame, %d per request)",
                path,
                dropped,
                per_frame,
                per_request,
            )
        timings["detect"] = _ms(t)

        t = time.perf_counter()
        size = self.crop_size
        position = {frame.index: i for i, frame in enumerate(media.frames)}
        crops = np.empty((len(faces), size, size, 3), np.uint8)
        for i, face in enumerate(faces):
            image = images[position[face.frame] if face.frame is not None else 0]
            crops[i] = crop_face(image, face.box, margin=self.margin, size=size)
        views: dict[int, np.ndarray] = {}
        h, w = images[0].shape[:2]
        view_scale = min(1.0, VIEW_MAX_SIDE / max(h, w))
        if with_views:
            wanted = {f.frame if f.frame is not None else 0 for f in faces} or {media.frames[0].index}
            for frame in media.frames:
                if frame.index in wanted:
                    views[frame.index] = _downscale(frame.image, view_scale)
        timings["crop"] = _ms(t)
        return Prepared(
            path=path,
            kind=media.kind,
            width=media.width,
            height=media.height,
            duration_s=media.duration_s,
            fps=media.fps,
            frame_times=[frame.t for frame in media.frames],
            faces=faces,
            crops=crops,
            tracks=tracks,
            margin=self.margin,
            views=views,
            view_scale=view_scale,
            timings_ms=timings,
            provenance=media.provenance,
        )

    # --- stage 2: the networks -------------------------------------------------------------
    def _autocast(self) -> Any:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def score_images(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated fake probabilities ``[N]`` of the image CNN for uint8 crops ``[N,S,S,3]``."""
        if isinstance(crops, np.ndarray) and crops.ndim == 4 and len(crops) == 0:
            return np.empty(0, np.float64)
        ckpt = self.image_checkpoint
        logits: list[np.ndarray] = []
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(crops), IMAGE_BATCH):
                x = preprocess(crops[start : start + IMAGE_BATCH], ckpt.card).to(self.device)
                logits.append(image_logits(ckpt.model, x, ckpt.card).cpu().numpy())
        return calibrate(np.concatenate(logits), ckpt.card.temperature)

    def score_tracks(self, seqs: Sequence[np.ndarray]) -> list[tuple[float, np.ndarray]]:
        """Per track: the LSTM's calibrated probability and its per-frame probabilities.

        Tracks longer than the card's ``sequence_length`` are cut into windows; the track's
        probability is the length-weighted mean of its windows' probabilities.
        """
        if not seqs:
            return []
        ckpt = self.video_checkpoint
        card = ckpt.card
        window = int(card.sequence_length or 32)
        pieces: list[tuple[int, int, int]] = []  # (track, start, stop)
        for k, seq in enumerate(seqs):
            if not isinstance(seq, np.ndarray) or seq.ndim != 4 or len(seq) == 0:
                raise ValueError(f"track {k}: expected crops [T,S,S,3] with T >= 1")
            pieces += [(k, s, min(s + window, len(seq))) for s in range(0, len(seq), window)]
        track_logits = np.empty(len(pieces))
        frame_logits: list[np.ndarray] = [np.empty(0)] * len(pieces)
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(pieces), VIDEO_BATCH):
                batch = pieces[start : start + VIDEO_BATCH]
                lengths = [stop - s for _, s, stop in batch]
                steps = max(lengths)
                x = torch.zeros((len(batch), steps, 3, card.input_size, card.input_size))
                for b, (k, s, stop) in enumerate(batch):
                    x[b, : stop - s] = preprocess(seqs[k][s:stop], card)
                track_out, frame_out = ckpt.model(x.to(self.device), torch.tensor(lengths))
                track_out = track_out.float().cpu().numpy()
                frame_out = frame_out.float().cpu().numpy()
                for b, length in enumerate(lengths):
                    track_logits[start + b] = track_out[b]
                    frame_logits[start + b] = frame_out[b, :length]
        track_p = calibrate(track_logits, card.temperature)
        out: list[tuple[float, np.ndarray]] = []
        for k in range(len(seqs)):
            mine = [i for i, (owner, _, _) in enumerate(pieces) if owner == k]
            weights = np.array([pieces[i][2] - pieces[i][1] for i in mine], np.float64)
            prob = float(np.average(track_p[mine], weights=weights))
            frames = calibrate(np.concatenate([frame_logits[i] for i in mine]), card.temperature)
            out.append((prob, frames))
        return out

    # --- stage 3: the verdict --------------------------------------------------------------
    def assemble(
        self,
        prepared: Prepared | CheckResult,
        image_probs: np.ndarray | Sequence[float],
        track_scores: Sequence[tuple[float, np.ndarray]],
        *,
        timings_ms: dict[str, float] | None = None,
    ) -> CheckResult:
        """The result JSON; ``faces`` keep the order of ``prepared.faces``.

        ``timings_ms`` adds the stages measured elsewhere (inference in other replicas).
        """
        if isinstance(prepared, CheckResult):
            return prepared
        started = time.perf_counter()
        image_probs = np.asarray(image_probs, dtype=np.float64).reshape(-1)
        if len(image_probs) != len(prepared.faces):
            raise ValueError(f"{len(image_probs)} image scores for {len(prepared.faces)} faces")
        result = CheckResult(
            path=prepared.path,
            kind=prepared.kind,
            verdict=Verdict.NO_FACE,
            fake_probability=None,
            frames_sampled=prepared.frames_sampled,
            model=self.model_info(prepared.kind),
        )
        if prepared.faces and prepared.kind == MediaKind.VIDEO:
            self._assemble_video(result, prepared, image_probs, track_scores)
        elif prepared.faces:
            result.faces = [
                Face(box=f.box.as_tuple(), fake_probability=float(p)) for f, p in zip(prepared.faces, image_probs)
            ]
            result.fake_probability = float(image_probs.max())
            result.verdict = band(result.fake_probability, self.image_card.thresholds)
            result.reason = Reason.FACE_MODEL
        self._doubt_small_faces(result, prepared)
        result.provenance = prepared.provenance
        if prepared.provenance.ai_generated:
            # The file's own credentials or marks declare generative AI: stronger evidence than
            # any pixel model, and it holds without a face. A declared capture (ai_generated
            # False) is reported but changes nothing: credentials can be stripped and re-attached.
            result.verdict, result.reason = Verdict.FAKE, Reason.PROVENANCE
        timings = dict(prepared.timings_ms)
        timings.update(timings_ms or {})
        timings["assemble"] = _ms(started)
        timings["total"] = sum(v for k, v in timings.items() if k != "total")
        result.timings_ms = {"total": timings.pop("total"), **timings}
        return result

    def _doubt_small_faces(self, result: CheckResult, prepared: Prepared) -> None:
        """A confident verdict on faces that are all tiny is not evidence: say uncertain.

        Swap and synthesis traces live in high frequencies that a face a few dozen pixels
        wide no longer holds; the models' scores on such faces are confidently wrong too often.
        """
        if result.verdict not in (Verdict.REAL, Verdict.FAKE) or not prepared.faces:
            return
        if max(f.box.side for f in prepared.faces) < self.settings.min_reliable_face_px:
            result.verdict, result.reason = Verdict.UNCERTAIN, Reason.LOW_RESOLUTION

    def _assemble_video(
        self,
        result: CheckResult,
        prepared: Prepared,
        image_probs: np.ndarray,
        track_scores: Sequence[tuple[float, np.ndarray]],
    ) -> None:
        if len(track_scores) != len(prepared.tracks):
            raise ValueError(f"{len(track_scores)} track scores for {len(prepared.tracks)} tracks")
        image_card, video_card = self.image_card, self.video_card
        weight, how = video_weight(
            video_card.fusion, image_trained=image_card.trained, video_trained=video_card.trained
        )
        face_p = image_probs.copy()
        tracks_out: list[TrackScore] = []
        for k, (idx, (lstm_p, lstm_frames)) in enumerate(zip(prepared.tracks, track_scores)):
            lstm_frames = np.asarray(lstm_frames, dtype=np.float64).reshape(-1)
            if len(lstm_frames) != len(idx):
                raise ValueError(f"track {k}: {len(lstm_frames)} frame scores for {len(idx)} faces")
            mean_image = float(image_probs[idx].mean())
            track_p = float(fuse(lstm_p, mean_image, weight))
            face_p[idx] = fuse(lstm_frames, image_probs[idx], weight)
            tracks_out.append(
                TrackScore(
                    id=k,
                    faces=len(idx),
                    fake_probability=track_p,
                    video_model_probability=float(lstm_p),
                    image_model_probability=mean_image,
                )
            )
        result.faces = [
            Face(box=f.box.as_tuple(), fake_probability=float(p), frame=f.frame, track=f.track)
            for f, p in zip(prepared.faces, face_p)
        ]
        per_frame: dict[int, float] = {}
        for f, p in zip(prepared.faces, face_p):
            assert f.frame is not None
            per_frame[f.frame] = max(per_frame.get(f.frame, 0.0), float(p))
        times = {i: t for i, t in enumerate(prepared.frame_times)}
        points = sorted((times.get(i) or 0.0, p) for i, p in per_frame.items())
        result.timeline = [TimelinePoint(t=t, fake_probability=p) for t, p in points]
        result.fake_probability = max(t.fake_probability for t in tracks_out)
        result.verdict = band(result.fake_probability, self.thresholds_for(MediaKind.VIDEO))
        result.reason = Reason.FACE_MODEL
        result.moments = top_moments([t for t, _ in points], [p for _, p in points])
        result.tracks = tracks_out
        result.fusion = how

    # --- everything, in process -----------------------------------------------------------
    def score(self, prepared: Prepared | CheckResult) -> CheckResult:
        """Both networks and the verdict for a prepared input.

        For a video the LSTM runs in a second thread while the image CNN runs here (torch
        releases the GIL): each uses one core, see DEFAULT_TORCH_THREADS.
        """
        if isinstance(prepared, CheckResult):
            return prepared
        timings: dict[str, float] = {}
        started = time.perf_counter()
        video_future = None
        if prepared.tracks:
            video_future = self._video_pool().submit(self._timed, self.score_tracks, prepared.track_sequences())
        image_probs, timings["infer_image"] = self._timed(self.score_images, prepared.crops)
        track_scores: list[tuple[float, np.ndarray]] = []
        timings["infer_video"] = 0.0
        if video_future is not None:
            track_scores, timings["infer_video"] = video_future.result()
        infer_ms = _ms(started)
        result = self.assemble(prepared, image_probs, track_scores, timings_ms=timings)
        # The two inference stages overlap: the total counts their wall time once.
        stages = sum(v for k, v in prepared.timings_ms.items() if k != "total")
        result.timings_ms["total"] = stages + infer_ms + result.timings_ms["assemble"]
        return result

    @staticmethod
    def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
        t = time.perf_counter()
        return fn(*args), _ms(t)

    def _video_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-video")
            return self._pool

    def check(self, source: bytes | Path, path: str | None = None) -> CheckResult:
        """One input's verdict. Bad media gives an ``invalid`` result; this never raises for it."""
        if path is None and isinstance(source, (str, Path)):
            path = str(source)
        started = time.perf_counter()
        try:
            result = self.score(self.prepare(source, path))
            result.timings_ms["total"] = _ms(started)
            return result
        except Exception as exc:  # a bug or an exhausted resource: still one result per input
            log.exception("check failed for %s", path)
            result = CheckResult.invalid(
                path, ErrorCode.INTERNAL, f"internal error while checking: {type(exc).__name__}: {exc}"
            )
            result.timings_ms = {"total": _ms(started)}
            return result

    # --- explanation -----------------------------------------------------------------------
    def annotate(self, prepared: Prepared, result: CheckResult, *, quality: int = 90) -> bytes:
        """JPEG of the image (or the most suspicious frame): boxes, scores, Grad-CAM heat map.

        Drawn on the downscaled copy ``prepare(..., with_views=True)`` kept, so annotating a 4K
        frame never needs the full-resolution pixels again. Raises ValueError when there is
        nothing to draw on (an invalid input, or no views kept).
        """
        if isinstance(prepared, CheckResult) or result.verdict == Verdict.INVALID:
            raise ValueError("an invalid input has no picture to annotate")
        if not prepared.views:
            raise ValueError("nothing to annotate: prepare the input with with_views=True")
        if len(result.faces) != len(prepared.faces):
            raise ValueError("the result does not belong to this prepared input (face counts differ)")
        scale = prepared.view_scale
        worst = -1
        frame = next(iter(prepared.views))
        if result.faces:
            worst = int(np.argmax([f.fake_probability for f in result.faces]))
            frame = prepared.faces[worst].frame or 0
        if frame not in prepared.views:
            raise ValueError(f"frame {frame} was not kept for annotation")
        heat = None
        if worst >= 0:
            ckpt = self.image_checkpoint
            x = preprocess(prepared.crops[worst : worst + 1], ckpt.card).to(self.device)
            face = prepared.faces[worst]
            square = tuple(int(round(v * scale)) for v in crop_box(face.box, prepared.margin))
            heat = Heat(grad_cam(ckpt.model, x), square, face.box.scaled(scale))  # type: ignore[arg-type]
        thresholds = self.thresholds_for(prepared.kind)
        marks = [
            Mark(face.box.scaled(scale), scored.fake_probability, band(scored.fake_probability, thresholds), i == worst)
            for i, (face, scored) in enumerate(zip(prepared.faces, result.faces))
            if (face.frame or 0) == frame
        ]
        if result.verdict == Verdict.NO_FACE:
            caption = "no face found"
        elif result.fake_probability is not None:
            caption = f"{result.verdict}: fake probability {result.fake_probability:.0%}"
        else:
            caption = str(result.verdict)
        if result.model is not None and not result.model.trained:
            caption += " (untrained model)"
        return render(prepared.views[frame], marks, caption=caption, heat=heat, quality=quality)
