"""Clothing colours of a person's appearance from its best view, with pose keypoints.

Pose runs on one crop per person track (its largest, sharpest, least cut-off detection), batched,
never on whole frames, so its cost is bounded by the number of people, not by the video's length.
While a video is indexed each track keeps only its best crop so far (a small copy, with the scene's
background and white balance at that moment); tracks not seen for STALE_S seconds are described in
batches of BATCH, the rest when the video ends. People under MIN_HEIGHT pixels or seen fewer than
MIN_SEEN times keep the colours voted from their boxes (pose adds little there and costs the same).
Pose runs beside the indexing (`side`: the worker thread of `forensic.index.pipeline`): a batch started
now is taken in when the next one starts, or at the end, so what is batched never depends on timing.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from forensic.colors import describe_colors
from forensic.index.side import INLINE

log = logging.getLogger(__name__)

MARGIN = 0.1
MAX_SIDE = 192  # crops are kept at most this tall or wide
STALE_S = 10.0
BATCH = 16
MIN_HEIGHT = 64  # people smaller than this (pixels) keep their box-proportion colours: pose adds little there
MIN_SEEN = 2  # ... and so do people seen once (often a fragment of a track, or not a person at all)


@dataclass
class _View:
    quality: float
    t: float
    crop: np.ndarray
    background: np.ndarray | None
    box: tuple[float, float, float, float]  # in crop pixels
    gains: np.ndarray
    monochrome: bool


class BestViews:
    def __init__(self, pose, side=None):
        self.pose = pose  # forensic.models.pose.PoseEstimator, or None: no pose (box proportions)
        self.side = side or INLINE  # forensic.index.side: a worker thread beside the pipeline, or the caller's thread
        self._inflight: Future | None = None
        self._failed = False
        self.views: dict[int, _View] = {}
        self.colors: dict[int, dict] = {}  # tracker id -> colours of its best view (Colors.to_dict())
        self.seen: dict[int, float] = {}
        self.count: dict[int, int] = {}
        self.disabled = pose is None

    def add(self, image: np.ndarray, t: float, detections, quality: np.ndarray, scene=None) -> None:
        """Offer one frame's detections; keeps each person track's best crop."""
        if self.disabled or detections.tracker_id is None:
            return
        H, W = image.shape[:2]
        for k in np.flatnonzero(detections.class_name == "person"):
            tid = int(detections.tracker_id[k])
            x1, y1, x2, y2 = (float(v) for v in detections.xyxy[k])
            if tid < 0 or y2 - y1 < MIN_HEIGHT:  # small people are not kept (nor counted): memory stays bounded
                continue
            self.seen[tid] = t
            self.count[tid] = self.count.get(tid, 0) + 1
            old = self.views.get(tid)
            if old is not None and old.quality >= quality[k]:
                continue
            mx, my = MARGIN * (x2 - x1), MARGIN * (y2 - y1)
            ox, oy = int(max(0, x1 - mx)), int(max(0, y1 - my))
            ex, ey = int(min(W, x2 + mx)), int(min(H, y2 + my))
            if ex - ox < 4:
                continue
            scale = min(1.0, MAX_SIDE / max(ex - ox, ey - oy))
            crop = _resize(image[oy:ey, ox:ex], scale)
            background = None
            if scene is not None and scene.background(image.shape) is not None:
                background = _resize(scene.background(image.shape)[oy:ey, ox:ex], scale)
            box = ((x1 - ox) * scale, (y1 - oy) * scale, (x2 - ox) * scale, (y2 - oy) * scale)
            self.views[tid] = _View(float(quality[k]), t, crop, background, box,
                                    scene.gains if scene is not None else np.ones(3, np.float32),
                                    bool(scene.monochrome) if scene is not None else False)
        stale = [tid for tid, last in self.seen.items() if t - last > STALE_S and tid in self.views]
        if len(stale) >= BATCH:
            self._describe(stale)

    def finish(self) -> dict[int, dict]:
        """Colours of every person track's best view, by tracker id."""
        self._describe(list(self.views))
        self._collect()
        return self.colors

    def _describe(self, tids: list[int]) -> None:
        if not tids:
            return
        views = [self.views.pop(tid) for tid in tids]
        seen = [self.count.pop(tid, 0) for tid in tids]
        for tid in tids:
            self.seen.pop(tid, None)
        keep = [k for k, n in enumerate(seen) if n >= MIN_SEEN]
        tids, views = [tids[k] for k in keep], [views[k] for k in keep]
        if not tids:
            return
        self._collect()  # the previous batch first: results are taken in the order they were started
        if self.disabled:
            return
        self._inflight = self.side.submit(self._colours, tids, views)

    def _collect(self) -> None:
        if self._inflight is None:
            return
        found, self._inflight = self._inflight.result(), None
        if found is None:
            self.disabled = True
        else:
            self.colors.update(found)

    def _colours(self, tids: list[int], views: list[_View]) -> dict[int, dict] | None:
        """Colours of these views with their keypoints (tracker id -> Colors.to_dict()); None: no pose."""
        if self._failed:
            return None
        try:
            keypoints = []
            for start in range(0, len(views), BATCH):
                keypoints += self.pose.keypoints_many([(v.crop, v.box) for v in views[start:start + BATCH]])
        except Exception as e:  # noqa: BLE001 - no pose: the per-detection colours stand
            log.warning("pose keypoints unavailable (%s): clothing colours from box proportions", e)
            self._failed = True
            return None
        out = {}
        for tid, view, kp in zip(tids, views, keypoints):
            if kp is None or view.monochrome:  # an infrared view has no colours to add: the track's vote stands
                continue
            c = describe_colors(view.crop, view.box, True, keypoints=kp, background=view.background, gains=view.gains,
                                monochrome=view.monochrome)
            out[tid] = c.to_dict()
        return out


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale >= 1.0:
        return image.copy()
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
