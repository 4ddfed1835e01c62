"""Detections of one frame as parallel numpy arrays (one row per object)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Detections:
    xyxy: np.ndarray  # (N, 4) float32, source pixels
    confidence: np.ndarray  # (N,) float32
    class_name: np.ndarray  # (N,) str
    features: np.ndarray | None = None  # (N, D) float32 pooled detector features, unit length
    tracker_id: np.ndarray | None = None  # (N,) int, -1 when untracked

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
        )

    @property
    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])
