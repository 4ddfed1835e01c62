"""Detections of one frame as parallel numpy arrays (one row per object); per-object data beyond the
box, score, class, features and track lives in `data`, a dict of arrays of one row per object (as
roboflow/supervision's Detections carry it), and is indexed along with the rest."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Classes the detector confuses for one another: a van is a car or a truck, an e-bike a motorcycle or a
# bicycle. Its doubt between them is kept (a second class) and searched; a doubt between a person and a
# vehicle is a rider's box overlapping the vehicle's, not a doubt about what the object is.
LOOK_ALIKE = (("car", "truck", "bus"), ("motorcycle", "bicycle"))

SECOND_CLASS = "class_name2"  # keys of Detections.data
SECOND_CONFIDENCE = "confidence2"


@dataclass
class Detections:
    xyxy: np.ndarray  # (N, 4) float32, source pixels
    confidence: np.ndarray  # (N,) float32
    class_name: np.ndarray  # (N,) str
    features: np.ndarray | None = None  # (N, D) float32 pooled detector features, unit length
    tracker_id: np.ndarray | None = None  # (N,) int, -1 when untracked
    # Per-object data, each (N,): SECOND_CLASS and SECOND_CONFIDENCE, the detector's second-best class
    # for each box ("" when none) and its score, absent when unknown (another source than forensic's
    # detector).
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, dtype="<U16"))

    @classmethod
    def from_ultralytics(cls, result, keep: set[str] | None = None) -> "Detections":
        """Build from an ultralytics `Results` (e.g. of `YOLO.predict`), optionally keeping some classes."""
        boxes = result.boxes
        names = np.array([result.names[int(c)] for c in boxes.cls.cpu().numpy()], dtype="<U16")
        dets = cls(boxes.xyxy.cpu().numpy().astype(np.float32), boxes.conf.cpu().numpy().astype(np.float32), names)
        if boxes.id is not None:
            dets.tracker_id = boxes.id.cpu().numpy().astype(np.int64)
        return dets[np.isin(names, list(keep))] if keep is not None else dets

    def __getitem__(self, index) -> "Detections":
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_name[index],
            None if self.features is None else self.features[index],
            None if self.tracker_id is None else self.tracker_id[index],
            {key: value[index] for key, value in self.data.items()},
        )

    @property
    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])
