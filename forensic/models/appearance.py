"""Appearance vector for photo search that needs no weights beyond the detector.

appearance-v2 joins two views of an object:
- the detector's own features pooled over its box (shape and texture as YOLO sees them), and
- hand-made colour statistics of the box cut into body-part stripes: the head, three torso stripes
  and three leg stripes, by a standing person's proportions, or placed by pose keypoints when the
  caller has them (shoulders, hips, knees and ankles at their usual heights). Columns are weighted by
  a Gaussian across the box, so the background at its sides counts less. Per stripe, three histograms:
    relative colour  hue x saturation (+ 3 grey levels) after equalising each of B, G and R over the
                     box: a camera's gain, offset and colour cast are monotone per-channel changes and
                     mostly cancel, so this is what carries a person from one camera to another;
    absolute colour  hue x saturation (+ 5 grey levels) as seen: white is not black (within a camera,
                     and for vehicles);
    brightness       the box's grey levels equalised, in 6 levels: the light/dark pattern of the
                     clothes (dark jacket over light trousers) whatever the exposure.
  Histograms are normalised per stripe and square-rooted (Hellinger: compared by dot product).

The same recipe serves every class (a rider's photo is searched among people and motorbikes alike);
for a vehicle the stripes are roof, windows, body and wheels and the detector features carry the shape.
Measured on PETA's cross-camera pairs with bench/reid.py (docs/benchmarks.md, "Re-identification"):
about twice the rank-5 of appearance-v1, at about 0.3 ms per detection.

appearance-v1 (the detector features + hue histograms of 3 stripes) stays as AppearanceEmbedderV1,
for benchmarks: an index keeps the embedder name it was built with and is only searched with it.
"""

from __future__ import annotations

import numpy as np

from forensic.images import sample

# --- appearance-v2 --------------------------------------------------------------------------
VERSION = "appearance-v2"
PATCH_W, PATCH_H = 24, 64  # the box is resized to this before counting (people: about their aspect)
STRIPE_EDGES = (0.0, 0.14, 0.26, 0.38, 0.5, 0.64, 0.8, 1.0)  # head | 3 torso | 3 legs, fractions of the height
STRIPES = len(STRIPE_EDGES) - 1
CENTRE_SIGMA = 0.25  # Gaussian column weight, in box widths from the centre
HUE_BINS, SAT_BINS = 8, 2
SAT_MIN, VAL_MIN = 40, 40  # a pixel with less saturation or value counts as grey
RELATIVE_GREYS, ABSOLUTE_GREYS, BRIGHTNESS_LEVELS = 3, 5, 6
PARTS = (("relative", HUE_BINS * SAT_BINS + RELATIVE_GREYS), ("absolute", HUE_BINS * SAT_BINS + ABSOLUTE_GREYS),
         ("brightness", BRIGHTNESS_LEVELS))
PART_WEIGHTS = (0.4, 0.2, 0.4)  # share of the hand-made part's squared norm (bench/reid.py --tune)
PART_BINS = tuple(n for _, n in PARTS)
HIST_DIM = STRIPES * sum(PART_BINS)  # 322
DETECTOR_WEIGHT = 0.2  # share of the squared norm given to detector features (rest: the histograms)

# Pose keypoints (COCO order) and the height, as a fraction of a standing person, each pair sits at.
BODY_LANDMARKS = (((5, 6), 0.17), ((11, 12), 0.5), ((13, 14), 0.72), ((15, 16), 0.94))  # shoulders, hips, knees, ankles
KEYPOINT_CONF = 0.3

_CENTRE = np.exp(-0.5 * (((np.arange(PATCH_W) + 0.5) / PATCH_W - 0.5) / CENTRE_SIGMA) ** 2)
_COLUMN_WEIGHTS = np.tile(_CENTRE, PATCH_H * len(PARTS))
_OFFSETS = np.cumsum((0,) + PART_BINS)[:-1]


def body_heights(box, keypoints=None, rows: int = PATCH_H) -> np.ndarray:
    """Where each of `rows` rows of the box lies on a standing body (0 = top of the head, 1 = soles).

    Without keypoints (or fewer than one landmark pair seen) the box is taken as the whole body:
    row fraction = body height. With keypoints ((17, 3): x, y, confidence in image pixels) the seen
    landmarks are pinned at their usual heights and the rows between are placed linearly; beyond the
    last landmark the last segment's scale carries on, so a person cut off at the waist keeps the
    torso stripes on the torso.
    """
    v = (np.arange(rows) + 0.5) / rows
    if keypoints is None:
        return v
    kp = np.asarray(keypoints, np.float32).reshape(-1, 3)
    if len(kp) < 17:
        return v
    y1, y2 = float(box[1]), float(box[3])
    if y2 - y1 < 1:
        return v
    at_v, at_u = [0.0], [0.0]  # the top of the box is the top of the head
    for pair, height in BODY_LANDMARKS:
        seen = kp[list(pair)]
        seen = seen[seen[:, 2] >= KEYPOINT_CONF]
        if len(seen) == 0:
            continue
        where = (float(seen[:, 1].mean()) - y1) / (y2 - y1)
        if where > at_v[-1] + 0.02:
            at_v.append(where)
            at_u.append(height)
    if len(at_v) < 2:
        return v
    u = np.interp(v, at_v, at_u)
    past = v > at_v[-1]
    u[past] = at_u[-1] + (v[past] - at_v[-1]) * (at_u[-1] - at_u[-2]) / (at_v[-1] - at_v[-2])
    return u


def _stripe_of_rows(box, keypoints) -> np.ndarray:
    u = body_heights(box, keypoints)
    return np.clip(np.searchsorted(np.asarray(STRIPE_EDGES[1:-1]), u, side="right"), 0, STRIPES - 1)


def _patch(image: np.ndarray, box) -> np.ndarray | None:
    import cv2

    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    crop = image[y1:y2, x1:x2]
    step = min(crop.shape[0] // (2 * PATCH_H), crop.shape[1] // (2 * PATCH_W))
    if step >= 2:  # a large box: subsample to about twice the patch first (area averaging costs per source pixel)
        crop = crop[::step, ::step]
    return cv2.resize(crop, (PATCH_W, PATCH_H), interpolation=cv2.INTER_AREA)


def _colour_bins(patch: np.ndarray, greys: int) -> np.ndarray:
    """Hue x saturation bin of each pixel, or one of `greys` value levels for greyish pixels."""
    import cv2

    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV_FULL).astype(np.int32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    colour = ((hue * HUE_BINS) >> 8) * SAT_BINS + np.minimum(((sat - SAT_MIN) * SAT_BINS) // (256 - SAT_MIN), SAT_BINS - 1)
    grey = HUE_BINS * SAT_BINS + ((val * greys) >> 8)
    return np.where((sat >= SAT_MIN) & (val >= VAL_MIN), colour, grey)


def part_histograms(image: np.ndarray, box, keypoints=None) -> np.ndarray:
    """The hand-made part, one unit vector per part (len(PARTS), STRIPES * bins padded): see the
    module docstring. Zeros for an empty box. `descriptor` joins them with PART_WEIGHTS."""
    import cv2

    out = np.zeros((len(PARTS), STRIPES * max(PART_BINS)), np.float32)
    patch = _patch(image, box)
    if patch is None:
        return out
    equalised = cv2.merge([cv2.equalizeHist(np.ascontiguousarray(patch[..., k])) for k in range(3)])
    grey = cv2.equalizeHist(cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)).astype(np.int32)
    bins = np.stack([_colour_bins(equalised, RELATIVE_GREYS), _colour_bins(patch, ABSOLUTE_GREYS),
                     (grey * BRIGHTNESS_LEVELS) >> 8])  # (parts, H, W)
    total = sum(PART_BINS)
    stripe = _stripe_of_rows(box, keypoints)[None, :, None] * total
    index = (stripe + _OFFSETS[:, None, None] + bins).ravel()
    counts = np.bincount(index, weights=_COLUMN_WEIGHTS, minlength=STRIPES * total).reshape(STRIPES, total)
    for p, (start, n) in enumerate(zip(_OFFSETS, PART_BINS)):
        hist = counts[:, start:start + n]
        hist = np.sqrt(hist / np.maximum(hist.sum(axis=1, keepdims=True), 1e-9))
        norm = np.linalg.norm(hist)
        if norm > 0:
            out[p, :STRIPES * n] = (hist / norm).ravel()
    return out


def join_parts(parts: np.ndarray, weights=PART_WEIGHTS) -> np.ndarray:
    """(..., len(PARTS), padded) unit parts -> (..., HIST_DIM), weighted by share of squared norm."""
    return np.concatenate([np.sqrt(w) * parts[..., p, :STRIPES * n] for p, (w, n) in enumerate(zip(weights, PART_BINS))], axis=-1)


def descriptor(image: np.ndarray, box, keypoints=None) -> np.ndarray:
    """The hand-made part of appearance-v2 for one box (HIST_DIM, unit length or zeros)."""
    return join_parts(part_histograms(image, box, keypoints)).astype(np.float32)


def join(features: np.ndarray, hists: np.ndarray, detector_weight: float = DETECTOR_WEIGHT) -> np.ndarray:
    """Detector features and hand-made part -> unit vectors (rows)."""
    vec = np.concatenate([np.sqrt(detector_weight) * features, np.sqrt(1 - detector_weight) * hists], axis=1)
    vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-6)
    return vec.astype(np.float32)


class AppearanceEmbedder:
    """appearance-v2: unit vectors comparable by inner product; built from detections of one detector.
    The indexer embeds every detection with it, and photo search the photo's subject, the same way."""

    version = VERSION

    def __init__(self, detector):
        self.detector = detector

    @property
    def name(self) -> str:
        return f"{self.version}/{self.detector.name}"

    @property
    def dim(self) -> int:
        return self.detector.feature_dim + HIST_DIM

    def embed(self, image: np.ndarray, detections, keypoints=None) -> np.ndarray:
        """(N, dim) for the N detections of `image`; `keypoints` (N, 17, 3) COCO pose keypoints in
        image pixels place the body stripes when given (rows of NaN or None: by proportions)."""
        if len(detections) == 0:
            return np.zeros((0, self.dim), np.float32)
        kps = [None] * len(detections) if keypoints is None else list(keypoints)
        hists = np.stack([descriptor(image, b, None if k is None or not np.isfinite(np.asarray(k, np.float32)).all() else k)
                          for b, k in zip(detections.xyxy, kps)])
        return join(detections.features, hists)


# --- appearance-v1 (kept for benchmarks) ------------------------------------------------------
V1_HUE_BINS = 12
V1_STRIPES = 3
V1_HIST_DIM = V1_STRIPES * (V1_HUE_BINS + 3)
V1_DETECTOR_WEIGHT = 0.6


def stripe_histograms(image: np.ndarray, box) -> np.ndarray:
    """appearance-v1: hue histograms (chromatic pixels) + dark/mid/light counts (achromatic), per stripe; unit length."""
    import cv2

    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    w = x2 - x1
    crop = image[max(0, y1):max(y1 + 1, y2), max(0, x1 + w // 8):max(x1 + w // 8 + 1, x2 - w // 8)]
    out = np.zeros(V1_HIST_DIM, np.float32)
    if crop.size == 0:
        return out
    crop = sample(crop, 64)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).reshape(crop.shape[0], crop.shape[1], 3).astype(np.int32)
    bins = V1_HUE_BINS + 3
    for s, rows in enumerate(np.array_split(np.arange(hsv.shape[0]), V1_STRIPES)):
        if len(rows) == 0:
            continue
        px = hsv[rows].reshape(-1, 3)
        h, sat, v = px[:, 0], px[:, 1], px[:, 2]
        chroma = (sat >= 45) & (v >= 55)
        hist = np.zeros(bins, np.float64)
        np.add.at(hist, (h[chroma] * V1_HUE_BINS) // 180, sat[chroma] / 255.0)
        achro = ~chroma
        hist[V1_HUE_BINS + 0] = np.sum(achro & (v < 70))
        hist[V1_HUE_BINS + 1] = np.sum(achro & (v >= 70) & (v < 175))
        hist[V1_HUE_BINS + 2] = np.sum(achro & (v >= 175))
        total = hist.sum()
        if total > 0:
            out[s * bins:(s + 1) * bins] = np.sqrt(hist / total)  # Hellinger: compare by dot product
    norm = np.linalg.norm(out)
    return out / norm if norm > 0 else out


class AppearanceEmbedderV1(AppearanceEmbedder):
    """appearance-v1: detector features (0.6 of the squared norm) + hue histograms of 3 stripes."""

    version = "appearance-v1"

    @property
    def dim(self) -> int:
        return self.detector.feature_dim + V1_HIST_DIM

    def embed(self, image: np.ndarray, detections, keypoints=None) -> np.ndarray:
        if len(detections) == 0:
            return np.zeros((0, self.dim), np.float32)
        hists = np.stack([stripe_histograms(image, b) for b in detections.xyxy])
        return join(detections.features, hists, V1_DETECTOR_WEIGHT)
