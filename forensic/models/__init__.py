"""The models a run needs, built from settings in one place (tests pass their own)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from forensic.errors import ModelUnavailable
from forensic.models.appearance import AppearanceEmbedder
from forensic.models.clip import ClipEmbedder
from forensic.models.clock import ClockReader
from forensic.models.detector import ObjectDetector, build_detector
from forensic.models.plates import PlateReader
from forensic.models.pose import PoseEstimator
from forensic.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Models:
    detector: ObjectDetector  # the real Detector, or a stand-in at its inference seam (tests)
    appearance: AppearanceEmbedder
    clip: ClipEmbedder | None = None
    plates: PlateReader | None = None  # licence plate detector + reader (None: plates are not read)
    pose: PoseEstimator | None = None  # keypoints for clothing colours; None: box proportions
    clock: ClockReader | None = None  # reads recorders' on-screen clocks (cameras with `osd`); None: not installed


def build_models(settings: Settings) -> Models:
    """Detector and appearance always; CLIP when its weights can be had (or required with clip='on')."""
    detector = build_detector(settings.detector, settings.models, settings.download, settings.device, settings.imgsz, settings.conf,
                              settings.backend)
    clip = None
    if settings.clip != "off":
        candidate = ClipEmbedder(settings.clip_model, settings.clip_pretrained, settings.clip_checkpoint, settings.models,
                                 settings.download, settings.device)
        if candidate.available:
            clip = candidate
        elif settings.clip == "on":
            raise ModelUnavailable(candidate.describe_missing())
        else:
            log.info("CLIP off: %s", candidate.describe_missing())
    pose = None
    if settings.pose:
        candidate = PoseEstimator(models_dir=settings.models, allow_download=settings.download, device=settings.device)
        if candidate.available:
            pose = candidate
        else:
            log.info("pose off: %s not in the models folder (clothing colours from box proportions)", candidate.weights)
    clock = ClockReader() if ClockReader.installed() else None  # loads its model only for a camera with `osd`
    return Models(detector, AppearanceEmbedder(detector), clip, plates=build_plates(settings), pose=pose, clock=clock)


def build_plates(settings: Settings) -> PlateReader | None:
    """The plate reader when plates are on and it can run offline (rapidocr installed, weights found)."""
    if not settings.plates:
        return None
    reader = PlateReader(settings.models, device=settings.device, allow_download=settings.download)
    if not reader.available:
        log.info("plates off: %s", reader.describe_missing())
        return None
    return reader
