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

from forensic.detections import Detections
from forensic.errors import ForensicError
from forensic.index.attributes import crop
from forensic.index.riding import riding
from forensic.search.filters import Filters
from forensic.search.hits import Hit, top_hits
from forensic.search.vectors import vector_scores

log = logging.getLogger(__name__)

MAX_SHARE = 0.6  # a photo larger than this share of the canvas is scaled down


@dataclass
class Subject:
    cls: str | None  # None: nothing detected, the whole photo is the subject
    box: list[float]  # in the photo's pixels
    confidence: float
    classes: tuple[str, ...] = ()  # the classes a search keeps to (see find_subject); () = any


MAX_PHOTO_PIXELS = 120_000_000  # a 100-megapixel camera's photo fits; a decompression bomb does not


def _check_photo_size(path: Path) -> None:
    """Refuse a photo of more than MAX_PHOTO_PIXELS from its header alone (PNG, JPEG, GIF, BMP, WebP); other
    formats are left to OpenCV, whose own pixel limit then applies."""
    size = photo_header_size(path)
    if size is not None and size[0] * size[1] > MAX_PHOTO_PIXELS:
        raise ForensicError(f"photo {path} is too large: {size[0]}x{size[1]}, more than {MAX_PHOTO_PIXELS // 1_000_000} "
                            "megapixels; use a smaller copy")


def photo_header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) read from an image file's header without decoding it, or None when not known."""
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head[:2] == b"BM" and len(head) >= 26:
                w, h = struct.unpack("<ii", head[18:26])
                return abs(w), abs(h)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                kind = head[12:16]
                if kind == b"VP8X":
                    return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
                if kind == b"VP8L":
                    bits = int.from_bytes(head[21:25], "little")
                    return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
                if kind == b"VP8 ":
                    w, h = struct.unpack("<HH", head[26:30])
                    return w & 0x3FFF, h & 0x3FFF
                return None
            if head[:2] != b"\xff\xd8":
                return None
            f.seek(2)  # JPEG: walk the markers to the frame header (SOFn)
            while True:
                marker = f.read(2)
                while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes
                    marker = marker[1:] + f.read(1)
                if len(marker) < 2 or marker[0] != 0xFF:
                    return None
                code = marker[1]
                if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
                    continue
                length = struct.unpack(">H", f.read(2))[0]
                if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">xHH", f.read(5))
                    return w, h
                f.seek(length - 2, 1)
    except (OSError, struct.error):
        return None


def read_photo(path: Path) -> np.ndarray:
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ForensicError(f"photo {path} does not exist")
    _check_photo_size(path)  # before decoding: a 40000x40000 picture would take gigabytes
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ForensicError(f"cannot read photo {path}: not an image file OpenCV can decode")
    return image


def typical_frame_size(store) -> tuple[int, int]:
    """The frame size of most indexed videos; ties go to the size with more hours of video, then to
    the larger frame, so the answer never depends on the database's row order."""
    return store.typical_frame_size() or (1280, 720)


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


SUBJECT_CONF = 0.1  # a photo's subject may be found at this detector confidence ...
SUBJECT_MIN_SHARE = 0.25  # ... when it covers this share of the photo (below the indexing threshold)
VIEW_SCALES = (1.0, 2 / 3)  # the photo as pasted, and smaller (it may come from a larger frame) ...
UPSCALED_SIDE = 0.9  # ... and, when neither shows a subject, alone, enlarged to this share of the detector input


# Classes the detector confuses for one object: a photo's subject is searched among its group.
_GROUPS = ({"car", "truck", "bus"},)
_TWO_WHEELERS = ("motorcycle", "bicycle")


def find_subject(models, canvas: np.ndarray, region: tuple[int, int, int, int]):
    """The most prominent person or vehicle in the photo pasted on `canvas` at `region` (else the
    region itself, class "object"), and the classes a search for it should keep to.

    A suspect photo is a crop around its subject, at whatever scale it was cut: the detector looks
    at it as pasted and smaller (as if cut from a larger frame), and only when neither shows a
    subject, alone and enlarged (enlarging a crop first makes the detector find parts of a rider
    rather than the rider); a subject that fills much of the photo may have a lower confidence than
    indexing asks for. The best candidate (confidence x sqrt(share of the photo)) is returned in
    `canvas` coordinates, with features pooled on `canvas`, as the indexer pools them on frames.

    Classes: a rider (a person on a motorbike or bicycle, or the two-wheeler itself) may be indexed
    as the person or as the vehicle, so both; a car, truck or bus as any of the three (the detector
    calls a minibus each by turns); a subject found below the indexing confidence keeps no class.
    """
    detector = models.detector
    x1, y1, x2, y2 = region
    photo = canvas[y1:y2, x1:x2]
    ph, pw = photo.shape[:2]
    candidates = []  # (score, box in canvas coordinates, confidence, class, Detections on `canvas` or None)
    base_conf = detector.conf
    for view, scale, (ox, oy) in _views(canvas, region, detector.imgsz):
        if candidates and scale > 1.0:
            break  # the enlarged view is the last resort
        dets = detector.detect([view], conf=min(base_conf, SUBJECT_CONF))[0]
        for k in range(len(dets)):
            bx1, by1, bx2, by2 = dets.xyxy[k]
            tol = 4 * scale
            if bx1 < ox - tol or by1 < oy - tol or bx2 > ox + pw * scale + tol or by2 > oy + ph * scale + tol:
                continue  # not inside the photo
            share = float(dets.area[k]) / (pw * ph * scale * scale)
            conf = float(dets.confidence[k])
            if conf < base_conf and share < SUBJECT_MIN_SHARE:
                continue
            box = np.clip((dets.xyxy[k] - [ox, oy, ox, oy]) / scale, 0, [pw, ph, pw, ph]) + [x1, y1, x1, y1]
            own = dets[k:k + 1] if view is canvas else None
            candidates.append((conf * np.sqrt(min(1.0, share)), box.astype(np.float32), conf, str(dets.class_name[k]), own))
    if not candidates:
        box = np.array([region], np.float32)
        return Detections(box, np.zeros(1, np.float32), np.array(["object"]), detector.pool_boxes(canvas, box)), ()
    best = max(range(len(candidates)), key=lambda i: (candidates[i][0], candidates[i][2]))
    _, box, conf, cls, own = candidates[best]
    if conf < base_conf:
        classes: tuple[str, ...] = ()
    elif cls in _TWO_WHEELERS:
        classes = (cls, "person")
    elif cls == "person":
        boxes = np.array([c[1] for c in candidates])  # all views in canvas coordinates
        rides = riding(np.zeros(len(candidates)), np.zeros(len(candidates)), np.array([c[3] for c in candidates]), boxes)
        classes = ("person", rides[best]) if rides[best] else ("person",)
    else:
        classes = tuple(sorted(next((g for g in _GROUPS if cls in g), {cls})))
    if own is None:
        boxes = box[None, :]
        own = Detections(boxes, np.array([conf], np.float32), np.array([cls]), detector.pool_boxes(canvas, boxes))
    return own, classes


def _views(canvas: np.ndarray, region: tuple[int, int, int, int], imgsz: int):
    """(image, scale of the photo in it, where the photo's top-left corner is) for each way of looking."""
    import cv2

    x1, y1, x2, y2 = region
    photo = canvas[y1:y2, x1:x2]
    H, W = canvas.shape[:2]
    ph, pw = photo.shape[:2]
    yield canvas, 1.0, (x1, y1)
    for scale in VIEW_SCALES[1:]:
        small = cv2.resize(photo, (max(1, round(pw * scale)), max(1, round(ph * scale))), interpolation=cv2.INTER_AREA)
        view = np.full_like(canvas, 114)
        ox, oy = (W - small.shape[1]) // 2, (H - small.shape[0]) // 2
        view[oy:oy + small.shape[0], ox:ox + small.shape[1]] = small
        yield view, small.shape[1] / pw, (ox, oy)
    scale = UPSCALED_SIDE * imgsz / max(ph, pw)
    if scale > 1.0:  # alone and enlarged: the detector sees a small crop at a size it knows
        big = cv2.resize(photo, (max(1, round(pw * scale)), max(1, round(ph * scale))), interpolation=cv2.INTER_CUBIC)
        yield big, big.shape[1] / pw, (0, 0)


def search_photo(store, models, photo: Path | np.ndarray, limit: int = 20, any_class: bool = False, per_frame: bool = False,
                 filters: Filters | None = None, cameras=None, min_score: float = 0.0) -> tuple[Subject, list[Hit]]:
    """`photo`: a path, or an image already read with `read_photo` (BGR)."""
    if not isinstance(photo, np.ndarray):
        photo = read_photo(photo)
    canvas, scale, ox, oy = place_on_canvas(photo, typical_frame_size(store))
    region = (ox, oy, ox + int(photo.shape[1] * scale), oy + int(photo.shape[0] * scale))
    det, classes = find_subject(models, canvas, region)
    cls = None if det.class_name[0] == "object" else str(det.class_name[0])
    box = ((det.xyxy[0] - [ox, oy, ox, oy]) / scale).tolist()
    subject = Subject(cls, box, float(det.confidence[0]), classes)

    filters = replace(filters or Filters(), classes=classes if not any_class else ())
    queries = {"appearance": (models.appearance.name, models.appearance.embed(canvas, det)[0])}
    if models.clip is not None and store.embedder("clip") is not None:
        queries["clip"] = (models.clip.name, models.clip.embed_images([crop(canvas, det.xyxy[0], 0.05)])[0])
    ids, scores = vector_scores(store, queries, filters.allowed_ids(store, cameras))
    return subject, top_hits(store, ids, scores, limit, per_frame, min_score, cameras)
