"""YOLO person/vehicle detector that also returns features pooled from the network over each box.

The pooled features come for free from the detection pass (forward hooks on the layers that
feed the detection head) and give photo search an appearance vector without extra weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from forensic.detections import Detections
from forensic.errors import ModelUnavailable
from forensic.models.base import USER_MODELS, LazyModel, configure_offline, find_model_file, pick_device

log = logging.getLogger(__name__)

COCO_KEEP = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


def letterbox(image: np.ndarray, size: int, stride: int = 32) -> tuple[np.ndarray, float]:
    """Resize so the longest side is `size`, pad right/bottom to a multiple of `stride`."""
    import cv2

    h, w = image.shape[:2]
    r = size / max(h, w)
    nh, nw = max(1, round(h * r)), max(1, round(w * r))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR)
    ph, pw = -nh % stride, -nw % stride
    if ph or pw:
        resized = cv2.copyMakeBorder(resized, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return resized, r


class YoloDetector(LazyModel):
    def __init__(self, weights: str = "yolo11n.pt", models_dir: Path | None = None, allow_download: bool = False,
                 device: str = "auto", imgsz: int = 640, conf: float = 0.3, iou: float = 0.5):
        super().__init__()
        self.weights = weights
        self.models_dir = models_dir
        self.allow_download = allow_download
        self.device_setting = device
        self.imgsz = imgsz
        self.conf = conf
        self.iou = iou
        self.name = Path(weights).stem
        self._levels: list[int] = []
        self._captured: dict[int, object] = {}

    def resolve_weights(self) -> Path:
        path = find_model_file(self.weights, self.models_dir)
        if path is not None:
            return path
        if not self.allow_download:
            where = self.models_dir or "a models folder (--models DIR or FORENSIC_MODELS)"
            raise ModelUnavailable(f"detector weights {self.weights!r} not found: put the file in {where}, or run with --download")
        configure_offline(True)
        from ultralytics.utils.downloads import attempt_download_asset

        target = (self.models_dir or USER_MODELS) / Path(self.weights).name
        target.parent.mkdir(parents=True, exist_ok=True)
        log.warning("downloading %s to %s", self.weights, target)
        return Path(attempt_download_asset(str(target)))

    def _load(self):
        path = self.resolve_weights()
        configure_offline(self.allow_download)
        import torch
        from ultralytics import YOLO

        self.device = pick_device(self.device_setting)
        try:
            net = YOLO(str(path)).model
        except Exception as e:  # a broken or foreign file: say so in one line
            raise ModelUnavailable(f"cannot load detector weights {path}: {e}") from None
        net = net.fuse(verbose=False) if hasattr(net, "fuse") else net
        net = net.to(self.device).eval()
        self.half = self.device.startswith("cuda")
        if self.half:
            net = net.half()
        head = net.model[-1]
        self._levels = list(head.f)  # layers feeding the detection head (P3, P4, P5)
        for i in self._levels:
            net.model[i].register_forward_hook(lambda m, inp, out, i=i: self._captured.__setitem__(i, out))
        self.names = net.names
        self._torch = torch
        return net

    @property
    def feature_dim(self) -> int:
        net = self.model
        return int(sum(net.model[-1].cv2[k][0].conv.in_channels for k in range(len(self._levels))))

    def _forward(self, images: list[np.ndarray]):
        """Letterbox a batch of same-size images and run the network; returns (input, ratios, raw preds)."""
        torch = self._torch
        boxed = [letterbox(im, self.imgsz) for im in images]
        batch = np.stack([b[0][..., ::-1] for b in boxed]).transpose(0, 3, 1, 2)
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        x = (x.half() if self.half else x.float()) / 255.0
        preds = self.model(x)
        return x, [b[1] for b in boxed], preds[0] if isinstance(preds, (tuple, list)) else preds

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """Detect people and vehicles in BGR images; boxes in source pixels, with pooled features."""
        if not images:
            return []
        net = self.model
        if len({im.shape for im in images}) > 1:  # mixed sizes: one at a time
            return [d for im in images for d in self.detect([im])]
        from ultralytics.utils.nms import non_max_suppression

        with self._torch.inference_mode():
            x, ratios, preds = self._forward(images)
            out = non_max_suppression(preds, self.conf, self.iou, classes=list(COCO_KEEP), max_det=300)
            maps = [self._captured[i] for i in self._levels]
            results = []
            for b, (det, r) in enumerate(zip(out, ratios)):
                det = det.float().cpu().numpy()
                feats = self._pool([m[b] for m in maps], det[:, :4], x.shape[2])
                h, w = images[b].shape[:2]
                xyxy = det[:, :4] / r
                xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
                xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
                names = np.array([net.names[int(c)] for c in det[:, 5]], dtype="<U16")
                results.append(Detections(xyxy.astype(np.float32), det[:, 4].astype(np.float32), names, feats))
        return results

    def pool_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Pooled features for given boxes (source pixels) of one image, as `detect` computes them."""
        self.model
        with self._torch.inference_mode():
            x, ratios, _ = self._forward([image])
            maps = [self._captured[i][0] for i in self._levels]
            return self._pool(maps, np.asarray(boxes, np.float32) * ratios[0], x.shape[2])

    def _pool(self, maps, boxes: np.ndarray, input_h: int) -> np.ndarray:
        """Average each feature map over each box (in letterboxed pixels); unit length per level."""
        torch = self._torch
        parts = []
        for fmap in maps:
            stride = input_h / fmap.shape[1]
            fh, fw = fmap.shape[1:]
            vecs = []
            for x1, y1, x2, y2 in boxes:
                c1, r1 = int(min(fw - 1, max(0, x1 // stride))), int(min(fh - 1, max(0, y1 // stride)))
                c2, r2 = max(c1 + 1, int(min(fw, np.ceil(x2 / stride)))), max(r1 + 1, int(min(fh, np.ceil(y2 / stride))))
                vecs.append(fmap[:, r1:r2, c1:c2].float().mean(dim=(1, 2)))
            level = torch.stack(vecs) if vecs else torch.zeros((0, fmap.shape[0]))
            parts.append(torch.nn.functional.normalize(level, dim=1).cpu().numpy())
        return (np.concatenate(parts, axis=1) / np.sqrt(len(parts))).astype(np.float32)
