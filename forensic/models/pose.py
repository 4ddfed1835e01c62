"""Body keypoints of people, so clothing colours come from the torso and the legs, not the box.

Official YOLO11n-pose (17 COCO keypoints; AGPL-3.0 like the detector), run on person crops (a
track's best views, batched), never on whole frames: its cost grows with the number of tracks,
not with the length of the video.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from forensic.errors import ModelUnavailable
from forensic.models.base import LazyModel, configure_offline, find_model_file, pick_device

log = logging.getLogger(__name__)

POSE_WEIGHTS = "yolo11n-pose.pt"
POSE_IMGSZ = 160  # person crops are small: 160 keeps their keypoints (bench/colours.py) at about 13 ms a crop on 2 CPU cores
MIN_IOU = 0.3  # the pose's person box must overlap the asked box this much
MARGIN = 0.1  # context around the box: the pose model finds a person better with a little of the scene


class PoseEstimator(LazyModel):
    name = "pose"

    def __init__(self, weights: str = POSE_WEIGHTS, models_dir: Path | None = None, allow_download: bool = False,
                 device: str = "auto", imgsz: int = POSE_IMGSZ):
        super().__init__()
        self.weights, self.models_dir, self.allow_download = weights, models_dir, allow_download
        self.device_setting, self.imgsz = device, imgsz

    @property
    def available(self) -> bool:
        return find_model_file(self.weights, self.models_dir) is not None or self.allow_download

    def _load(self):
        path = find_model_file(self.weights, self.models_dir)
        if path is None and not self.allow_download:
            raise ModelUnavailable(f"pose weights {self.weights} not found in the models folder (or pass --download)")
        configure_offline(self.allow_download)
        from ultralytics import YOLO

        self.device = pick_device(self.device_setting)
        try:
            return YOLO(str(path or self.weights))
        except Exception as e:  # a broken or foreign file: one line
            raise ModelUnavailable(f"cannot load pose weights {path or self.weights}: {e}") from None

    def keypoints(self, image: np.ndarray, boxes) -> list[np.ndarray | None]:
        """COCO keypoints (17, 3: x, y, confidence, in `image` pixels) of the person in each box; None where none is found."""
        return self.keypoints_many([(image, b) for b in boxes])

    def keypoints_many(self, items) -> list[np.ndarray | None]:
        """`keypoints` for (image, box) pairs, one batch."""
        crops, origins = [], []
        for image, b in items:
            H, W = image.shape[:2]
            x1, y1, x2, y2 = (float(v) for v in b)
            mx, my = MARGIN * (x2 - x1), MARGIN * (y2 - y1)
            ox, oy = int(max(0, x1 - mx)), int(max(0, y1 - my))
            ex, ey = int(min(W, x2 + mx)), int(min(H, y2 + my))
            crops.append(image[oy:max(oy + 1, ey), ox:max(ox + 1, ex)])
            origins.append((ox, oy, x1, y1, x2, y2))
        return self._on_crops(crops, origins)

    def _on_crops(self, crops, origins) -> list[np.ndarray | None]:
        if not crops:
            return []
        results = self.model.predict(crops, imgsz=self.imgsz, conf=0.1, device=self.device, verbose=False)
        out: list[np.ndarray | None] = []
        for r, (ox, oy, x1, y1, x2, y2) in zip(results, origins):
            if r.keypoints is None or len(r.boxes) == 0:
                out.append(None)
                continue
            boxes = r.boxes.xyxy.cpu().numpy() + np.float32([ox, oy, ox, oy])
            # the person that best fills the asked box
            ix1, iy1 = np.maximum(boxes[:, 0], x1), np.maximum(boxes[:, 1], y1)
            ix2, iy2 = np.minimum(boxes[:, 2], x2), np.minimum(boxes[:, 3], y2)
            inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) + (x2 - x1) * (y2 - y1) - inter
            iou = inter / np.maximum(area, 1e-6)
            k = int(np.argmax(iou))
            if iou[k] < MIN_IOU:  # someone else, or a part of the person: no keypoints rather than wrong ones
                out.append(None)
                continue
            kp = r.keypoints.data[k].cpu().numpy().astype(np.float32).copy()
            kp[:, 0] += ox
            kp[:, 1] += oy
            out.append(kp)
        return out
