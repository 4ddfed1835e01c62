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
from forensic.models.base import LazyModel, compile_openvino, configure_offline, find_model_file, pick_device

log = logging.getLogger(__name__)

POSE_WEIGHTS = "yolo11n-pose.pt"
POSE_IMGSZ = 160  # person crops are small: 160 keeps their keypoints (bench/colours.py) at about 13 ms a crop on 2 CPU cores
CONF, IOU, MAX_PEOPLE = 0.1, 0.7, 300  # a person's score to be kept, NMS overlap, people per crop (Ultralytics' predict)
MIN_IOU = 0.3  # the pose's person box must overlap the asked box this much
MARGIN = 0.1  # context around the box: the pose model finds a person better with a little of the scene


class PoseEstimator(LazyModel):
    name = "pose"

    def __init__(self, weights: str = POSE_WEIGHTS, models_dir: Path | None = None, allow_download: bool = False,
                 device: str = "auto", imgsz: int = POSE_IMGSZ):
        super().__init__()
        self.weights, self.models_dir, self.allow_download = weights, models_dir, allow_download
        self.device_setting, self.imgsz = device, imgsz
        self._openvino = None

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
            model = YOLO(str(path or self.weights))
        except Exception as e:  # a broken or foreign file: one line
            raise ModelUnavailable(f"cannot load pose weights {path or self.weights}: {e}") from None
        if self.device == "cpu":  # Ultralytics' predict would fuse it too; fused before it is compiled
            net = model.model.fuse(verbose=False) if hasattr(model.model, "fuse") else model.model
            self._openvino = compile_openvino(net, self.imgsz, "pose")
        return model

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
        self.model  # loaded (and compiled by OpenVINO where it can be) outside the loop
        found = self._openvino_people(crops) if self._openvino is not None else self._ultralytics_people(crops)
        out: list[np.ndarray | None] = []
        for (boxes, kps), (ox, oy, x1, y1, x2, y2) in zip(found, origins):
            if len(boxes) == 0:
                out.append(None)
                continue
            boxes = boxes + np.float32([ox, oy, ox, oy])
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
            kp = kps[k].astype(np.float32).copy()
            kp[:, 0] += ox
            kp[:, 1] += oy
            out.append(kp)
        return out

    def _ultralytics_people(self, crops) -> list[tuple[np.ndarray, np.ndarray]]:
        """(boxes (N, 4), keypoints (N, 17, 3)) of the people found in each crop, crop pixels: Ultralytics' predict."""
        out = []
        for r in self.model.predict(crops, imgsz=self.imgsz, conf=CONF, iou=IOU, device=self.device, verbose=False):
            if r.keypoints is None or len(r.boxes) == 0:
                out.append((np.zeros((0, 4), np.float32), np.zeros((0, 17, 3), np.float32)))
            else:
                out.append((r.boxes.xyxy.cpu().numpy().astype(np.float32), r.keypoints.data.cpu().numpy().astype(np.float32)))
        return out

    def _openvino_people(self, crops) -> list[tuple[np.ndarray, np.ndarray]]:
        """The same from the OpenVINO-compiled network: each crop letterboxed to imgsz x imgsz, one batch,
        then Ultralytics' decoding (score above CONF, NMS at IOU, boxes and keypoints scaled back)."""
        import cv2

        boxed = [_centred(c, self.imgsz) for c in crops]
        batch = np.stack([b for b, *_ in boxed]).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        preds = np.asarray(self._openvino(batch)[0])  # (n, 5 + 51, anchors): x, y, w, h, score, 17 x (x, y, conf)
        out = []
        for pred, (_, r, left, top) in zip(preds, boxed):
            keep = pred[4] > CONF
            if not keep.any():
                out.append((np.zeros((0, 4), np.float32), np.zeros((0, 17, 3), np.float32)))
                continue
            p = pred[:, keep].T.copy()
            p[:, 0] -= left
            p[:, 1] -= top
            xyxy = np.concatenate([p[:, :2] - p[:, 2:4] / 2, p[:, :2] + p[:, 2:4] / 2], axis=1)
            picked = np.asarray(cv2.dnn.NMSBoxes(np.concatenate([xyxy[:, :2], p[:, 2:4]], axis=1).tolist(), p[:, 4].tolist(),
                                                 CONF, IOU), np.int64).reshape(-1)
            picked = picked[np.argsort(-p[picked, 4], kind="stable")][:MAX_PEOPLE]
            kps = p[picked, 5:].reshape(-1, 17, 3).copy()
            kps[:, :, 0] = (kps[:, :, 0] - left) / r
            kps[:, :, 1] = (kps[:, :, 1] - top) / r
            out.append(((xyxy[picked] / r).astype(np.float32), kps.astype(np.float32)))
        return out


def _centred(crop: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """RGB, resized so its longest side is `size`, centred on a size x size grey square as Ultralytics'
    LetterBox does for a batch of crops of different shapes: (image, scale, left, top)."""
    import cv2

    h, w = crop.shape[:2]
    r = min(size / h, size / w)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))  # a crop a pixel thin stays a pixel thin
    dw, dh = (size - nw) / 2, (size - nh) / 2
    resized = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else crop
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    boxed = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return boxed[:, :, ::-1], r, left, top
