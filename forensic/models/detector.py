"""YOLO person/vehicle detectors that also return features pooled from the network over each box.

The pooled features come for free from the detection pass (the feature maps that feed the
detection head) and give photo search an appearance vector without extra weights. Two backends
share everything but the forward pass: PyTorch (any device, GPU when present) and OpenVINO (an
Ultralytics OpenVINO export, much faster on a CPU; used when the `openvino` package is installed
and the export sits beside the weights). Both name their features after the weights' stem, so an
index built on a GPU machine can be searched with OpenVINO on a laptop and the other way round.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from forensic.detections import LOOK_ALIKE, SECOND_CLASS, SECOND_CONFIDENCE, Detections
from forensic.errors import ModelUnavailable
from forensic.models.base import USER_MODELS, LazyModel, configure_offline, find_model_file, pick_device
from forensic.query.vocabulary import COCO_KEEP

log = logging.getLogger(__name__)

OPENVINO_SUFFIXES = ("_int8_openvino_model", "_openvino_model")  # Ultralytics' export folder names


def weights_stem(weights: str) -> str:
    """'yolo11n.pt' and 'yolo11n_int8_openvino_model' are the same network: 'yolo11n'."""
    stem = Path(weights).stem
    for suffix in OPENVINO_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def letterbox(image: np.ndarray, size: int, stride: int = 32, square: bool = False) -> tuple[np.ndarray, float]:
    """Resize so the longest side is `size`, pad right/bottom to a multiple of `stride` (or to size x size)."""
    import cv2

    h, w = image.shape[:2]
    r = size / max(h, w)
    nh, nw = max(1, round(h * r)), max(1, round(w * r))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)  # as Ultralytics resizes in training
    ph, pw = (size - nh, size - nw) if square else (-nh % stride, -nw % stride)
    if ph or pw:
        resized = cv2.copyMakeBorder(resized, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return resized, r


def non_max_suppression(preds: np.ndarray, conf: float, iou: float, keep: dict[int, str], max_det: int = 300,
                        second: bool = False) -> np.ndarray:
    """Raw YOLO output of one image (4 + classes, anchors) -> (N, 6) [x1, y1, x2, y2, score, class], best first.

    As Ultralytics' own NMS (one class per box: its best of all classes; per-class IoU suppression),
    but kept to the classes in `keep`, in numpy and OpenCV: no torch on the hot path.
    With `second`, (N, 8): two more columns, the box's second-best class among `keep` and its score
    ([..., score2, class2]; -1 and 0 when `keep` has one class): the detector's doubt, which NMS
    would otherwise throw away. The first six columns are the same either way.
    """
    import cv2

    width = 8 if second else 6
    scores = preds[4:]
    cls = scores.argmax(axis=0)
    best = scores[cls, np.arange(scores.shape[1])]
    mask = (best > conf) & np.isin(cls, list(keep))
    if not mask.any():
        return np.zeros((0, width), np.float32)
    xywh, best, cls = preds[:4, mask].T, best[mask], cls[mask]
    xyxy = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
    boxes = np.concatenate([xyxy[:, :2], xywh[:, 2:]], axis=1)  # OpenCV wants x, y, w, h
    picked = np.asarray(cv2.dnn.NMSBoxesBatched(boxes.tolist(), best.tolist(), cls.tolist(), conf, iou), np.int64).reshape(-1)
    picked = picked[np.argsort(-best[picked], kind="stable")][:max_det]
    out = [xyxy[picked], best[picked, None], cls[picked, None]]
    if second:
        out += list(top_second(scores[:, mask][:, picked], cls[picked], keep))
    return np.concatenate(out, axis=1).astype(np.float32)


def top_second(scores: np.ndarray, first: np.ndarray, keep: dict[int, str]) -> tuple[np.ndarray, np.ndarray]:
    """Second-best class among `keep` of each box (column of `scores`, (classes, N)) whose best class is
    `first`: ((N, 1) score, (N, 1) class id), 0 and -1 where `keep` has no other class."""
    kept = np.array(sorted(keep), np.int64)
    n = len(first)
    if len(kept) < 2 or n == 0:
        return np.zeros((n, 1), np.float32), np.full((n, 1), -1, np.float32)
    sub = scores[kept].astype(np.float32)  # (K, N)
    sub[np.searchsorted(kept, first), np.arange(n)] = -np.inf  # the first class is in `keep`: leave it out
    k = sub.argmax(axis=0)
    return sub[k, np.arange(n)][:, None], kept[k][:, None].astype(np.float32)


# One vehicle is often boxed twice, as a car and as a truck (a van, a pickup), or as a motorcycle and a
# bicycle (an e-bike): look-alike classes (forensic.detections.LOOK_ALIKE). Same-class duplicates are
# NMS's business; these cross-class ones are merged after it.
MERGE_GROUPS = LOOK_ALIKE
MERGE_IOU = 0.7


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x1, y1, x2, y2 boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:4] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:4] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def merge_classes(det: np.ndarray, names: dict[int, str], iou: float = MERGE_IOU) -> np.ndarray:
    """One detection per object: boxes of different classes of one MERGE_GROUPS group (car/truck/bus,
    motorcycle/bicycle) overlapping by `iou` or more become one, the most confident (its box, class and
    score); the other class becomes its second class when it scored more than the second class the box
    had. `det`: (N, 8) rows of `non_max_suppression(..., second=True)`, best first; returns a subset of
    its rows, in order, with columns 6-7 updated."""
    if len(det) < 2:
        return det
    group_of = {name: g for g, members in enumerate(MERGE_GROUPS) for name in members}
    group = np.array([group_of.get(names.get(int(c), ""), -1) for c in det[:, 5]])
    if np.count_nonzero(group >= 0) < 2:
        return det
    overlap = box_iou(det[:, :4], det[:, :4])
    out = det.copy()
    gone = np.zeros(len(det), bool)
    for i in range(len(det)):
        if gone[i] or group[i] < 0:
            continue
        same = ~gone & (group == group[i]) & (det[:, 5] != det[i, 5]) & (overlap[i] >= iou)
        same[:i + 1] = False  # only less confident boxes are absorbed
        for j in np.flatnonzero(same):
            gone[j] = True
            if det[j, 5] == out[i, 7]:
                out[i, 6] = max(out[i, 6], det[j, 4])
            elif det[j, 4] > out[i, 6]:
                out[i, 6], out[i, 7] = det[j, 4], det[j, 5]
    return out[~gone]


def pool_features(maps: list[np.ndarray], boxes: np.ndarray, input_h: int) -> np.ndarray:
    """Average each (C, H, W) feature map over each box (letterboxed pixels); unit length per level,
    levels joined with equal weight."""
    parts = []
    for fmap in maps:
        channels, fh, fw = fmap.shape
        stride = input_h / fh
        level = np.zeros((len(boxes), channels), np.float32)
        for k, (x1, y1, x2, y2) in enumerate(boxes):
            c1, r1 = int(min(fw - 1, max(0, x1 // stride))), int(min(fh - 1, max(0, y1 // stride)))
            c2, r2 = max(c1 + 1, int(min(fw, np.ceil(x2 / stride)))), max(r1 + 1, int(min(fh, np.ceil(y2 / stride))))
            level[k] = fmap[:, r1:r2, c1:c2].mean(axis=(1, 2))
        level /= np.maximum(np.linalg.norm(level, axis=1, keepdims=True), 1e-12)
        parts.append(level)
    if not parts:
        return np.zeros((len(boxes), 0), np.float32)
    return (np.concatenate(parts, axis=1) / np.sqrt(len(parts))).astype(np.float32)


@runtime_checkable
class ObjectDetector(Protocol):
    """The detector's inference seam: all that indexing (forensic.index.pipeline), the appearance
    embedder and photo search ask of a detector. `Detector` below is the real one (YOLO weights); the
    tests' `StubDetector` (tests/builders.py) finds painted objects in synthetic frames, so the layers
    above can be tested in seconds without weights."""

    name: str  # names the appearance vectors it feeds (an index refuses vectors of another detector)
    imgsz: int  # input size in pixels (photo search enlarges a small subject towards it)
    conf: float  # confidence threshold

    @property
    def feature_dim(self) -> int:
        """Length of the pooled features of each detection."""

    def detect(self, images: list[np.ndarray], conf: float | None = None) -> list[Detections]:
        """People and vehicles in BGR images (one Detections per image, boxes in source pixels, with
        unit-length pooled features); `conf`: another threshold than `self.conf`."""

    def pool_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, feature_dim) pooled features of given boxes (source pixels) of one image, as `detect` gives them."""


class Detector(LazyModel):
    """What the backends share: letterboxing, NMS to people and vehicles, pooled features.

    A backend implements `_load` and `_infer(batch)`: a (B, 3, H, W) float32 RGB batch in 0..1
    gives raw predictions (B, 4 + classes, anchors) and the head's input feature maps, one
    (B, C, h, w) array per level.
    """

    backend = "?"
    square = False  # the network only takes imgsz x imgsz inputs (a static export)
    max_batch = 64

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
        self.name = weights_stem(weights)
        self.names: dict[int, str] = {}
        self._feature_dim = 0

    @property
    def feature_dim(self) -> int:
        self.model
        return self._feature_dim

    def _infer(self, batch: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, images: list[np.ndarray]):
        """Letterbox same-size images and run the network; returns (input height, ratios, preds, maps)."""
        import cv2

        boxed = [letterbox(im, self.imgsz, square=self.square) for im in images]
        batch = cv2.dnn.blobFromImages([b[0] for b in boxed], scalefactor=1 / 255.0, swapRB=True)  # NCHW RGB float32
        preds, maps = self._infer(batch)
        return batch.shape[2], [b[1] for b in boxed], preds, maps

    def detect(self, images: list[np.ndarray], conf: float | None = None) -> list[Detections]:
        """Detect people and vehicles in BGR images; boxes in source pixels, with pooled features.
        `conf`: another confidence threshold than the detector's (a photo's subject may be fainter)."""
        if not images:
            return []
        self.model
        if len({im.shape for im in images}) > 1:  # mixed sizes: one at a time
            return [d for im in images for d in self.detect([im], conf)]
        if len(images) > self.max_batch:
            return [d for i in range(0, len(images), self.max_batch) for d in self.detect(images[i:i + self.max_batch], conf)]
        input_h, ratios, preds, maps = self._forward(images)
        results = []
        for b, r in enumerate(ratios):
            det = non_max_suppression(preds[b], self.conf if conf is None else conf, self.iou, COCO_KEEP, second=True)
            det = merge_classes(det, self.names)
            feats = pool_features([m[b] for m in maps], det[:, :4], input_h)
            h, w = images[b].shape[:2]
            xyxy = det[:, :4] / r
            xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
            xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
            names = np.array([self.names[int(c)] for c in det[:, 5]], dtype="<U16")
            names2 = np.array([self.names.get(int(c), "") if c >= 0 else "" for c in det[:, 7]], dtype="<U16")
            second = {SECOND_CLASS: names2, SECOND_CONFIDENCE: np.where(names2 != "", det[:, 6], 0.0).astype(np.float32)}
            results.append(Detections(xyxy.astype(np.float32), det[:, 4].astype(np.float32), names, feats, data=second))
        return results

    def pool_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Pooled features for given boxes (source pixels) of one image, as `detect` computes them."""
        self.model
        input_h, ratios, _, maps = self._forward([image])
        return pool_features([m[0] for m in maps], np.asarray(boxes, np.float32) * ratios[0], input_h)

    def _resolve(self) -> Path:
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


class YoloDetector(Detector):
    """PyTorch backend: Ultralytics weights (.pt) on the CPU or a CUDA GPU (half precision there)."""

    backend = "torch"

    def resolve_weights(self) -> Path:
        return self._resolve()

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
        self._captured: dict[int, object] = {}
        for i in self._levels:
            net.model[i].register_forward_hook(lambda m, inp, out, i=i: self._captured.__setitem__(i, out))
        self._feature_dim = int(sum(head.cv2[k][0].conv.in_channels for k in range(len(self._levels))))
        self.names = dict(net.names)
        self._torch = torch
        return net

    def _infer(self, batch: np.ndarray):
        torch = self._torch
        x = torch.from_numpy(batch).to(self.device)
        x = x.half() if self.half else x
        with torch.inference_mode():
            preds = self.model(x)
            preds = preds[0] if isinstance(preds, (tuple, list)) else preds
            maps = [self._captured[i].float().cpu().numpy() for i in self._levels]
        return preds.float().cpu().numpy(), maps


class OpenVinoDetector(Detector):
    """OpenVINO backend for an Ultralytics OpenVINO export folder (e.g. yolo11n_int8_openvino_model/).

    The export's graph only outputs detections; the inputs of the detection head are added as
    outputs so features can be pooled as the PyTorch backend does. Exports are static (batch 1,
    imgsz x imgsz), so frames are letterboxed to a square; the frames of a batch run as parallel
    inference requests (OpenVINO's throughput mode: on a small CPU, about 25 % less CPU per frame
    than one request using every core).
    """

    backend = "openvino"
    square = True

    def __init__(self, folder: Path, **kwargs):
        super().__init__(str(folder), **kwargs)
        self.folder = Path(folder)

    @staticmethod
    def export_for(weights: str, models_dir: Path | None) -> Path | None:
        """The OpenVINO export folder of these weights, if one is at hand (given directly or beside them)."""
        given = find_model_file(weights, models_dir)
        if given is not None and given.is_dir() and any(given.glob("*.xml")):
            return given
        stem = weights_stem(weights)
        folders = [given.parent] if given is not None else []
        folders += [f for f in (models_dir, USER_MODELS) if f is not None]
        for folder in folders:
            for suffix in OPENVINO_SUFFIXES:
                candidate = folder / f"{stem}{suffix}"
                if candidate.is_dir() and any(candidate.glob("*.xml")):
                    return candidate
        return None

    @staticmethod
    def export_imgsz(folder: Path) -> int | None:
        """The input size the export was made for (metadata.yaml), when it says."""
        meta = Path(folder) / "metadata.yaml"
        if not meta.is_file():
            return None
        m = re.search(r"^imgsz:\s*\n\s*-\s*(\d+)\s*\n\s*-\s*(\d+)", meta.read_text(encoding="utf-8", errors="replace"), re.M)
        return int(m.group(1)) if m and m.group(1) == m.group(2) else None

    def _load(self):
        try:
            import openvino as ov
        except ImportError:
            raise ModelUnavailable("the OpenVINO backend needs the openvino package (pip install openvino)") from None
        xml = next(iter(sorted(self.folder.glob("*.xml"))), None)
        if xml is None:
            raise ModelUnavailable(f"no OpenVINO model (.xml) in {self.folder}")
        core = ov.Core()
        try:
            model = core.read_model(str(xml))
            features = _head_inputs(model)
            model.add_outputs(features)
            shape = model.inputs[0].get_partial_shape()
            if shape.is_static and shape[2].get_length() != self.imgsz:
                raise ModelUnavailable(f"{self.folder} takes {shape[2].get_length()} px inputs, not --imgsz {self.imgsz}")
            compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        except ModelUnavailable:
            raise
        except Exception as e:
            raise ModelUnavailable(f"cannot load OpenVINO detector {self.folder}: {e}") from None
        self._queue = ov.AsyncInferQueue(compiled, max(1, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._queue.set_callback(self._collect)
        self._outputs: dict[int, list[np.ndarray]] = {}
        self._feature_dim = int(sum(f.get_partial_shape()[1].get_length() for f in features))
        self.names = _export_names(self.folder) or {k: v for k, v in COCO_KEEP.items()}
        self.device = "cpu"
        return compiled

    def _collect(self, request, index: int) -> None:
        self._outputs[index] = [t.data.copy() for t in request.output_tensors]  # buffers are reused

    def _infer(self, batch: np.ndarray):
        self._outputs = {}
        for k in range(len(batch)):  # static batch 1: one request per frame, run side by side
            self._queue.start_async({0: batch[k:k + 1]}, k)
        self._queue.wait_all()
        outputs = [self._outputs[k] for k in range(len(batch))]
        return np.concatenate([o[0] for o in outputs]), [np.concatenate([o[j] for o in outputs]) for j in range(1, len(outputs[0]))]


def _head_inputs(model) -> list:
    """The feature maps feeding the detection head (its box branch's first convolution per level),
    finest level first."""
    pattern = re.compile(r"__module\.model\.(\d+)\.cv2\.(\d+)\.0\.conv/aten::_convolution/Convolution$")
    convs = {}
    for op in model.get_ops():
        m = pattern.match(op.get_friendly_name())
        if m:
            convs[(int(m.group(1)), int(m.group(2)))] = op
    if not convs:
        raise ModelUnavailable("not an Ultralytics YOLO detection export (no detection head found)")
    head = max(layer for layer, _ in convs)
    return [convs[(head, level)].input_value(0) for level in sorted(lvl for layer, lvl in convs if layer == head)]


def _export_names(folder: Path) -> dict[int, str]:
    meta = Path(folder) / "metadata.yaml"
    if not meta.is_file():
        return {}
    names = {}
    block = meta.read_text(encoding="utf-8", errors="replace").split("names:", 1)[-1]
    for line in block.splitlines()[1:]:
        m = re.match(r"\s+(\d+):\s*(.+?)\s*$", line)
        if not m:
            break
        names[int(m.group(1))] = m.group(2).strip("'\"")
    return names


def build_detector(weights: str, models_dir: Path | None, allow_download: bool, device: str, imgsz: int, conf: float,
                   backend: str = "auto") -> Detector:
    """The detector for these settings: OpenVINO when asked, or on `auto` when no GPU is asked for,
    the openvino package is installed and an export of the weights for this input size is at hand;
    PyTorch otherwise."""
    kwargs = dict(models_dir=models_dir, allow_download=allow_download, device=device, imgsz=imgsz, conf=conf)
    if backend == "torch":
        return YoloDetector(weights, **kwargs)
    folder = OpenVinoDetector.export_for(weights, models_dir)
    if backend == "openvino":
        if folder is None:
            raise ModelUnavailable(f"no OpenVINO export of {weights_stem(weights)} found (looked for "
                                   f"{weights_stem(weights)}{OPENVINO_SUFFIXES[0]}/ in {models_dir or 'the models folder'})")
        return OpenVinoDetector(folder, **kwargs)
    if folder is None or device not in ("auto", "cpu") or not _openvino_installed():
        return YoloDetector(weights, **kwargs)
    if device == "auto" and _cuda_available():
        return YoloDetector(weights, **kwargs)
    size = OpenVinoDetector.export_imgsz(folder)
    if size is not None and size != imgsz:
        log.debug("OpenVINO export %s is for %d px inputs, not %d: using PyTorch", folder, size, imgsz)
        return YoloDetector(weights, **kwargs)
    return OpenVinoDetector(folder, **kwargs)


def _openvino_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
