"""Appearance vector for photo search that needs no weights beyond the detector.

It joins two views of an object: the detector's own features pooled over its box (shape and
texture as YOLO sees them) and colour histograms of three horizontal stripes (top, middle,
bottom: a rider's helmet, shirt and bike; a person's head, top and trousers).
"""

from __future__ import annotations

import numpy as np

from forensic.images import sample

HUE_BINS = 12
STRIPES = 3
HIST_DIM = STRIPES * (HUE_BINS + 3)
DETECTOR_WEIGHT = 0.6  # share of the squared norm given to detector features (rest: colour)


def stripe_histograms(image: np.ndarray, box) -> np.ndarray:
    """Hue histograms (chromatic pixels) + dark/mid/light counts (achromatic), per stripe; unit length."""
    import cv2

    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    w = x2 - x1
    crop = image[max(0, y1):max(y1 + 1, y2), max(0, x1 + w // 8):max(x1 + w // 8 + 1, x2 - w // 8)]
    out = np.zeros(HIST_DIM, np.float32)
    if crop.size == 0:
        return out
    crop = sample(crop, 64)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).reshape(crop.shape[0], crop.shape[1], 3).astype(np.int32)
    bins = HUE_BINS + 3
    for s, rows in enumerate(np.array_split(np.arange(hsv.shape[0]), STRIPES)):
        if len(rows) == 0:
            continue
        px = hsv[rows].reshape(-1, 3)
        h, sat, v = px[:, 0], px[:, 1], px[:, 2]
        chroma = (sat >= 45) & (v >= 55)
        hist = np.zeros(bins, np.float64)
        np.add.at(hist, (h[chroma] * HUE_BINS) // 180, sat[chroma] / 255.0)
        achro = ~chroma
        hist[HUE_BINS + 0] = np.sum(achro & (v < 70))
        hist[HUE_BINS + 1] = np.sum(achro & (v >= 70) & (v < 175))
        hist[HUE_BINS + 2] = np.sum(achro & (v >= 175))
        total = hist.sum()
        if total > 0:
            out[s * bins:(s + 1) * bins] = np.sqrt(hist / total)  # Hellinger: compare by dot product
    norm = np.linalg.norm(out)
    return out / norm if norm > 0 else out


class AppearanceEmbedder:
    """Unit vectors comparable by inner product; built from detections of one detector."""

    def __init__(self, detector):
        self.detector = detector

    @property
    def name(self) -> str:
        return f"appearance-v1/{self.detector.name}"

    @property
    def dim(self) -> int:
        return self.detector.feature_dim + HIST_DIM

    def embed(self, image: np.ndarray, detections) -> np.ndarray:
        if len(detections) == 0:
            return np.zeros((0, self.dim), np.float32)
        hists = np.stack([stripe_histograms(image, b) for b in detections.xyxy])
        vec = np.concatenate([np.sqrt(DETECTOR_WEIGHT) * detections.features, np.sqrt(1 - DETECTOR_WEIGHT) * hists], axis=1)
        vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-6)
        return vec.astype(np.float32)
