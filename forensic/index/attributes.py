"""Per-detection attributes computed from the frame: colours, crop quality and the thumbnail."""

from __future__ import annotations

import numpy as np

from forensic.colors import describe_colors
from forensic.images import shrink

THUMB_MAX = 224  # longest side of a stored thumbnail, pixels
THUMB_MARGIN = 0.08


def crop(image: np.ndarray, box, margin: float = 0.0) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    x1, y1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
    x2, y2 = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return image[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)]


def crop_quality(image: np.ndarray, box) -> float:
    """0..1: large, sharp and not cut off by the frame edge is best (used to rank and pick thumbnails)."""
    import cv2

    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    size = min(1.0, np.sqrt(max(0.0, (x2 - x1) * (y2 - y1))) / 160.0)
    patch = crop(image, box)
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.size else None
    sharp = 0.0 if gray is None or gray.size < 16 else min(1.0, cv2.Laplacian(gray, cv2.CV_32F).var() / 400.0)
    edge = 2.0
    cut = x1 <= edge or y1 <= edge or x2 >= w - edge or y2 >= h - edge
    return round(0.5 * size + 0.3 * sharp + 0.2 * (0.0 if cut else 1.0), 4)


def thumbnail(image: np.ndarray, box) -> bytes:
    import cv2

    patch = crop(image, box, THUMB_MARGIN)
    patch = shrink(patch, THUMB_MAX)
    ok, buf = cv2.imencode(".jpg", patch, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes()


def attributes(image: np.ndarray, detections, scene=None) -> tuple[list[dict], np.ndarray, list[bytes]]:
    """Colours (as dicts), quality and JPEG thumbnail for each detection of one frame; `scene`
    (forensic.index.scene.SceneModel) leaves the background out and takes the camera's light out."""
    look = {} if scene is None else {"background": scene.background(image.shape), "gains": scene.gains, "monochrome": scene.monochrome}
    colors = [describe_colors(image, b, str(c), **look).to_dict() for b, c in zip(detections.xyxy, detections.class_name)]
    quality = np.array([crop_quality(image, b) for b in detections.xyxy], np.float32)
    thumbs = [thumbnail(image, b) for b in detections.xyxy]
    return colors, quality, thumbs
