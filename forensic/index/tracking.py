"""Group one video's detections into appearances (tracks) with ultralytics' BoT-SORT tracker.

Frames are sampled sparsely (2 per second by default), so motion alone matches poorly: the
tracker also compares our appearance vectors (its "auto" ReID mode takes per-detection features),
and it associates enlarged boxes of people and two-wheelers, so one that moved about its own width
since the last sample still overlaps where it was and its appearance can decide.
Every tracked detection gets the tracker's id, including tracks not yet confirmed; detections the
tracker leaves out get -1 and become single-detection appearances when the video is finished.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

CLASS_IDS = {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "truck": 7}


def association_scale_for(sample_fps: float, cls: str = "person") -> float:
    """How much the tracker enlarges this class's boxes at this sampling rate (ENLARGE at 2 fps,
    proportionally less when denser, never below 1)."""
    return float(min(3.0, max(1.0, 1.0 + (ENLARGE.get(cls, 1.0) - 1.0) * 2.0 / sample_fps)))


# Measured on the dev footage at 2 fps (docs/benchmarks.md, "Tracks"): people and two-wheelers move
# more than their own width between samples and split into many appearances with plain boxes (52
# appearances to cover the described objects; 18 at 4 fps); enlarged 1.5x, 23, with the cleanest
# appearances of all settings tried; 2x and 2.5x pass from one motorbike to its neighbour in dense
# traffic. Cars, buses and trucks already keep one appearance with plain boxes, and enlarging them
# swaps a crossing car with a parked one.
ENLARGE = {"person": 1.5, "bicycle": 1.5, "motorcycle": 1.5}


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

    def __init__(self, sample_fps: float, association_scale: float | dict[str, float] | None = None):
        from ultralytics.trackers.bot_sort import BOTSORT

        self._trackers = {name: BOTSORT(tracker_settings(sample_fps)) for name in CLASS_IDS}
        if association_scale is None:
            association_scale = {name: association_scale_for(sample_fps, name) for name in CLASS_IDS}
        elif not isinstance(association_scale, dict):
            association_scale = dict.fromkeys(CLASS_IDS, float(association_scale))
        self.association_scale = association_scale

    def update(self, image: np.ndarray, detections, features: np.ndarray) -> np.ndarray:
        """Tracker id per detection (-1 when none); ids are unique across classes within the video."""
        ids = np.full(len(detections), -1, np.int64)
        for k, (name, tracker) in enumerate(self._trackers.items()):
            rows = np.flatnonzero(detections.class_name == name)
            local = _update(tracker, image, _enlarged(detections[rows], self.association_scale[name]), features[rows])
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
