"""Photo search: find the subject of a photo (the most prominent person or vehicle, else the whole
photo), embed it as the indexer embeds detections, and search the vector indexes.

A suspect photo is usually a crop of some frame, so it is pasted at its own scale onto a neutral
canvas of the indexed videos' typical size: the detector then sees it at the scale it sees objects
in the footage, and its pooled features are comparable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from forensic.errors import ForensicError
from forensic.index.attributes import crop
from forensic.search.filters import Filters
from forensic.search.hits import Hit, hits_from_scores
from forensic.search.vectors import search_vectors

log = logging.getLogger(__name__)

MAX_SHARE = 0.6  # a photo larger than this share of the canvas is scaled down


@dataclass
class Subject:
    cls: str | None  # None: nothing detected, the whole photo is the subject
    box: list[float]  # in the photo's pixels
    confidence: float


def read_photo(path: Path) -> np.ndarray:
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ForensicError(f"photo {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ForensicError(f"cannot read photo {path}: not an image file OpenCV can decode")
    return image


def typical_frame_size(store) -> tuple[int, int]:
    row = store.db.execute("SELECT width, height, COUNT(*) n FROM videos WHERE status='done' GROUP BY width, height ORDER BY n DESC LIMIT 1").fetchone()
    return (row["width"], row["height"]) if row else (1280, 720)


def place_on_canvas(photo: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, int, int]:
    """Paste the photo centred on a grey canvas (w, h); returns canvas, scale, x offset, y offset."""
    import cv2

    w, h = size
    ph, pw = photo.shape[:2]
    scale = min(1.0, MAX_SHARE * w / pw, MAX_SHARE * h / ph)
    if scale < 1.0:
        photo = cv2.resize(photo, (max(1, int(pw * scale)), max(1, int(ph * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.full((h, w, 3), 114, np.uint8)
    ox, oy = (w - photo.shape[1]) // 2, (h - photo.shape[0]) // 2
    canvas[oy:oy + photo.shape[0], ox:ox + photo.shape[1]] = photo
    return canvas, scale, ox, oy


def find_subject(models, canvas: np.ndarray, region: tuple[int, int, int, int]):
    """The most prominent detection inside the pasted region, or the region itself."""
    dets = models.detector.detect([canvas])[0]
    if len(dets):
        x1, y1, x2, y2 = region
        inside = ((dets.xyxy[:, 0] >= x1 - 4) & (dets.xyxy[:, 1] >= y1 - 4) & (dets.xyxy[:, 2] <= x2 + 4) & (dets.xyxy[:, 3] <= y2 + 4))
        dets = dets[inside]
    if len(dets):
        best = int(np.argmax(dets.area * dets.confidence))
        return dets[best:best + 1]
    from forensic.detections import Detections

    box = np.array([region], np.float32)
    return Detections(box, np.zeros(1, np.float32), np.array(["object"]), models.detector.pool_boxes(canvas, box))


def search_photo(store, models, photo: Path | np.ndarray, limit: int = 20, any_class: bool = False, per_frame: bool = False,
                 filters: Filters | None = None, cameras=None) -> tuple[Subject, list[Hit]]:
    """`photo`: a path, or an image already read with `read_photo` (BGR)."""
    if not isinstance(photo, np.ndarray):
        photo = read_photo(photo)
    canvas, scale, ox, oy = place_on_canvas(photo, typical_frame_size(store))
    region = (ox, oy, ox + int(photo.shape[1] * scale), oy + int(photo.shape[0] * scale))
    det = find_subject(models, canvas, region)
    cls = None if det.class_name[0] == "object" else str(det.class_name[0])
    box = ((det.xyxy[0] - [ox, oy, ox, oy]) / scale).tolist()
    subject = Subject(cls, box, float(det.confidence[0]))

    filters = replace(filters or Filters(), classes=(cls,) if cls is not None and not any_class else ())
    queries = {"appearance": (models.appearance.name, models.appearance.embed(canvas, det)[0])}
    if models.clip is not None and store.embedder("clip") is not None:
        queries["clip"] = (models.clip.name, models.clip.embed_images([crop(canvas, det.xyxy[0], 0.05)])[0])
    scored = search_vectors(store, queries, filters.allowed_ids(store, cameras))
    return subject, hits_from_scores(store, scored, limit, per_frame)
