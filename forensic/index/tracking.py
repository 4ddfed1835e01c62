"""Group one video's detections into appearances (tracks) with ultralytics' BoT-SORT tracker.

Frames are sampled sparsely (2 per second by default), so motion alone matches poorly: the
tracker also compares our appearance vectors (its "auto" ReID mode takes per-detection features),
and it associates enlarged boxes, so an object that moved more than its own size since the last
sample still overlaps where it was and its appearance can decide.
Every tracked detection gets the tracker's id, including tracks not yet confirmed; detections the
tracker leaves out get -1 and become single-detection appearances when the video is finished.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

CLASS_IDS = {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "truck": 7}


def association_scale_for(sample_fps: float) -> float:
    """How much the tracker's boxes are enlarged: 2.5x at 2 samples per second, less when denser.

    Measured on the dev footage (docs/benchmarks.md, "Tracks"): at 2 fps and plain boxes a walking
    person split into 15-34 appearances; enlarged 2.5x, 4-8, as many as at 4 fps with plain boxes,
    with the main appearance of each described object 87-100 % its own detections."""
    return float(min(3.0, max(1.0, 5.0 / sample_fps)))


def tracker_settings(sample_fps: float) -> SimpleNamespace:
    return SimpleNamespace(
        tracker_type="botsort",
        track_high_thresh=0.25, track_low_thresh=0.1, new_track_thresh=0.3,
        track_buffer=max(2, int(round(2.0 * sample_fps))),  # keep a lost object for 2 s of video
        match_thresh=0.9,  # sparse frames move boxes far: accept weak overlaps
        fuse_score=True, gmc_method="none",  # fixed cameras: no global motion compensation
        proximity_thresh=0.1, appearance_thresh=0.6, with_reid=True, model="auto", device="cpu",
    )


class ObjectTracker:
    """Trackers for one video, fed the sampled frames in order: one per class, because a rider's box
    and its motorbike's overlap almost entirely and a class-blind tracker swaps between them."""

    def __init__(self, sample_fps: float, association_scale: float | None = None):
        from ultralytics.trackers.bot_sort import BOTSORT

        self._trackers = {name: BOTSORT(tracker_settings(sample_fps)) for name in CLASS_IDS}
        self.association_scale = association_scale if association_scale is not None else association_scale_for(sample_fps)

    def update(self, image: np.ndarray, detections, features: np.ndarray) -> np.ndarray:
        """Tracker id per detection (-1 when none); ids are unique across classes within the video."""
        ids = np.full(len(detections), -1, np.int64)
        for k, (name, tracker) in enumerate(self._trackers.items()):
            rows = np.flatnonzero(detections.class_name == name)
            local = _update(tracker, image, _enlarged(detections[rows], self.association_scale), features[rows])
            ids[rows] = np.where(local >= 0, local * len(CLASS_IDS) + k, -1)
        return ids


def _enlarged(detections, scale: float):
    """The boxes the tracker associates: scaled about their centres, so an object that moved more
    than its own size between sparse samples still overlaps its last box (appearance then decides)."""
    if scale == 1.0 or len(detections) == 0:
        return detections
    centre = (detections.xyxy[:, :2] + detections.xyxy[:, 2:]) / 2
    half = (detections.xyxy[:, 2:] - detections.xyxy[:, :2]) * (scale / 2)
    out = detections[np.arange(len(detections))]
    out.xyxy = np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
    return out


def _update(tracker, image: np.ndarray, detections, features: np.ndarray) -> np.ndarray:
    from ultralytics.engine.results import Boxes

    ids = np.full(len(detections), -1, np.int64)
    cls = np.array([CLASS_IDS.get(str(c), 0) for c in detections.class_name], np.float32)
    data = np.concatenate([detections.xyxy, detections.confidence[:, None], cls[:, None]], axis=1) if len(detections) else np.zeros((0, 6), np.float32)
    out = tracker.update(Boxes(data, image.shape[:2]), image, feats=features)
    for row in out:  # confirmed tracks: [x1, y1, x2, y2, id, score, cls, idx]
        ids[int(row[-1])] = int(row[4])
    for track in getattr(tracker, "tracked_stracks", []):  # new tracks, not yet confirmed
        idx = getattr(track, "idx", None)
        if track.frame_id == tracker.frame_id and idx is not None and 0 <= int(idx) < len(ids) and ids[int(idx)] < 0:
            ids[int(idx)] = int(track.track_id)
    return ids
