"""Licence plates: find the plate inside a vehicle crop, read its text, and match typed plate patterns.

The detector is `plates/pyplatex_plate_detector_model_1.pt` of the models folder: a YOLOv8n fine-tune
with one class (`license_plate`) shipped in the MIT-licensed pyplatex package. The other plate model
there (fastanpr_best.pt) finds the same plates (both find the green taxi's two-line plate) but is
AGPL-3.0; with equal results the permissive one is the one to depend on. Its rare false plates (signs,
stickers) are weeded out by the Vietnamese format check below.

The reader is the PP-OCRv6 small recogniser that ships inside the `rapidocr` wheel (Apache-2.0, the
optional `plates` extra), loaded by forensic.models.ocr (shared with the on-screen clock reader): the model
path is set, so rapidocr never downloads and never writes (it writes only when it downloads). A two-line plate
(square, width < 2.6 x height: every motorbike and many cars) is split and each line read alone; the
lines are joined with '/', as `30F/621.51`.

The text side (normalise_plate, display_plate, plate_format, plate_distance, PlatePattern: the forms of
a plate, the Vietnamese formats and confusion-tolerant matching) lives in forensic.plates, free of
models, and is re-exported here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensic.errors import ModelUnavailable
from forensic.images import shrink
from forensic.models.base import LazyModel, compile_openvino, configure_offline, pick_device
from forensic.models.detector import letterbox, non_max_suppression
from forensic.models.ocr import load_recogniser, ocr_installed, recognise
from forensic.plates import (CONFUSIONS, PlatePattern, display_plate, normalise_plate, plate_distance,  # noqa: F401 (re-exported)
                             plate_format)

log = logging.getLogger(__name__)

PLATE_WEIGHTS = "pyplatex_plate_detector_model_1.pt"
PLATE_FOLDER = "plates"
PLATE_VEHICLES = ("car", "truck", "bus", "motorcycle")
MIN_VEHICLE_HEIGHT = 48  # px: smaller vehicles are not searched for a plate
MIN_PLATE_HEIGHT = 18  # px: smaller plates are not read (a line of a two-line plate is then 9 px)
MIN_TWO_LINE_HEIGHT = 20  # px: a two-line plate needs this to be read line by line
TWO_LINE_RATIO = 2.6  # width / height below which a plate has two lines
DETECT_SIZE = 256  # plate detector input (the vehicle crop's longest side)
DETECT_CONF = 0.45
FIT_TRUST = 0.75  # a read fitted to a plate template with a lower score is stored as read
PLATE_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. ")
PLATE_CROP_MAX = 160  # longest side of a stored plate crop, pixels

# --- reading --------------------------------------------------------------------------------------
@dataclass
class PlateRead:
    raw: str  # as read, lines joined by '/'
    norm: str  # normalised (fitted to a plate template when one fits)
    conf: float  # 0..1: reader confidence x format score
    box: tuple[float, float, float, float] = (0, 0, 0, 0)  # in the vehicle crop
    crop: np.ndarray | None = field(default=None, repr=False)


def split_lines(plate: np.ndarray) -> list[np.ndarray]:
    """One or two line images of a plate crop: a square plate is cut where the rows are brightest
    (the gap between its lines), searched around the middle."""
    h, w = plate.shape[:2]
    if w >= TWO_LINE_RATIO * h or h < MIN_TWO_LINE_HEIGHT:
        return [plate]
    gray = plate.mean(axis=2) if plate.ndim == 3 else plate.astype(np.float32)
    lo, hi = int(h * 0.38), max(int(h * 0.62), int(h * 0.38) + 1)
    profile = gray[lo:hi, int(w * 0.1):max(int(w * 0.9), int(w * 0.1) + 1)].mean(axis=1)
    cut = lo + int(np.argmax(profile)) if len(profile) else h // 2
    pad = max(1, h // 20)
    return [plate[: min(h, cut + pad)], plate[max(0, cut - pad):]]


def vote(reads: list[PlateRead]) -> tuple[PlateRead, float] | None:
    """The track's plate: the normalised text with the largest summed confidence; its confidence is
    its share of all the reads' weight times its best read's confidence. None without a usable read."""
    weights: dict[str, float] = {}
    best: dict[str, PlateRead] = {}
    for r in reads:
        if len(r.norm) < 4 or r.conf <= 0:
            continue
        weights[r.norm] = weights.get(r.norm, 0.0) + r.conf
        if r.norm not in best or r.conf > best[r.norm].conf:
            best[r.norm] = r
    if not weights:
        return None
    total = sum(weights.values())
    win = max(weights, key=lambda k: (weights[k], len(k)))
    return best[win], round(best[win].conf * weights[win] / total, 4)


class PlateReader(LazyModel):
    """Plate detector (lazy, ultralytics) + text reader (lazy, rapidocr)."""

    name = "plates"

    def __init__(self, models_dir: Path | None, weights: str = PLATE_WEIGHTS, device: str = "cpu", allow_download: bool = False):
        super().__init__()
        self.models_dir = models_dir
        self.weights = weights
        self.device = device
        self.allow_download = allow_download
        self._ocr = None
        self._openvino = None
        self.seconds = {"detect": 0.0, "read": 0.0}
        self.plates_read = 0

    # availability -------------------------------------------------------------
    def weights_path(self) -> Path | None:
        candidate = Path(self.weights).expanduser()
        if candidate.is_absolute() or len(candidate.parts) > 1:
            return candidate if candidate.is_file() else None
        if self.models_dir is None:
            return None
        for folder in (self.models_dir / PLATE_FOLDER, self.models_dir):
            if (folder / self.weights).is_file():
                return folder / self.weights
        return None

    @staticmethod
    def reader_installed() -> bool:
        return ocr_installed()

    @property
    def available(self) -> bool:
        return self.reader_installed() and self.weights_path() is not None

    def describe_missing(self) -> str:
        if not self.reader_installed():
            return "the plate reader is not installed (pip install 'forensic[plates]': rapidocr and onnxruntime)"
        return f"no plate detector weights {PLATE_FOLDER}/{self.weights} in the models folder {self.models_dir}"

    # models -------------------------------------------------------------------
    def _load(self):
        path = self.weights_path()
        if path is None:
            raise ModelUnavailable(self.describe_missing())
        configure_offline(self.allow_download)
        import torch
        from ultralytics import YOLO

        self._torch = torch
        self._device = pick_device(self.device)
        try:
            net = YOLO(str(path), task="detect").model
        except Exception as e:  # a broken or foreign file: say so in one line
            raise ModelUnavailable(f"cannot load plate detector weights {path}: {e}") from None
        net = net.fuse(verbose=False) if hasattr(net, "fuse") else net
        net = net.to(self._device).eval()
        self._openvino = compile_openvino(net, DETECT_SIZE, "plate detector") if self._device == "cpu" else None
        return net

    @property
    def ocr(self):
        """rapidocr's text recogniser, from the model file inside the wheel (never downloaded; forensic.models.ocr)."""
        if self._ocr is None:
            self._ocr = load_recogniser(rec_width=160)  # plate lines are short: half the default width
        return self._ocr

    # work ---------------------------------------------------------------------
    def detect(self, vehicles: list[np.ndarray]) -> list[tuple[tuple[float, float, float, float], float] | None]:
        """The most confident plate box (and its confidence) in each vehicle crop, or None."""
        out: list = [None] * len(vehicles)
        todo = [k for k, v in enumerate(vehicles) if v.shape[0] >= MIN_VEHICLE_HEIGHT and v.shape[1] >= 16]
        if not todo:
            return out
        net = self.model  # loaded outside the timing
        t0 = time.perf_counter()
        # Letterboxed to one square size and run as one batch: no per-image work in Python beyond this.
        boxed = [letterbox(vehicles[k][:, :, ::-1], DETECT_SIZE, square=True) for k in todo]
        batch = np.stack([b for b, _ in boxed]).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        if self._openvino is not None:
            preds = np.asarray(self._openvino(batch)[0])
        else:
            with self._torch.inference_mode():
                preds = net(self._torch.from_numpy(batch).to(self._device))
                preds = (preds[0] if isinstance(preds, (tuple, list)) else preds).float().cpu().numpy()
        for (k, (_, r)), pred in zip(zip(todo, boxed), preds):
            found = non_max_suppression(pred, DETECT_CONF, 0.5, {0: "plate"}, max_det=1)
            if len(found):
                out[k] = (tuple(float(v) / r for v in found[0, :4]), float(found[0, 4]))
        self.seconds["detect"] += time.perf_counter() - t0
        return out

    def recognise(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each line image, decoded over plate characters only (digits, A-Z, '-', '.')."""
        return recognise(self.ocr, lines, PLATE_CHARS)

    def read_plates(self, plates: list[np.ndarray]) -> list[PlateRead | None]:
        """Read plate crops (BGR): lines split, all lines recognised in one batch. None for a plate too small."""
        lines: list[np.ndarray] = []
        owner: list[int] = []
        for k, p in enumerate(plates):
            if p is None or p.shape[0] < MIN_PLATE_HEIGHT or p.shape[1] < MIN_PLATE_HEIGHT:
                continue
            for line in split_lines(p):
                lines.append(np.ascontiguousarray(line))
                owner.append(k)
        out: list[PlateRead | None] = [None] * len(plates)
        if not lines:
            return out
        self.ocr  # loaded outside the timing
        t0 = time.perf_counter()
        found = self.recognise(lines)
        self.seconds["read"] += time.perf_counter() - t0
        texts: dict[int, list[tuple[str, float]]] = {}
        for k, (txt, score) in zip(owner, found):
            texts.setdefault(k, []).append((txt or "", float(score or 0.0)))
        for k, parts in texts.items():
            self.plates_read += 1
            raw = "/".join(t.strip() for t, _ in parts if t.strip())
            norm, fmt = plate_format(normalise_plate(raw))
            if fmt < FIT_TRUST:  # the fit changed too much: keep the text as read
                norm = normalise_plate(raw)
            rec = min(s for _, s in parts) if parts else 0.0
            if fmt == 0.0:  # not a Vietnamese plate: kept, but worth less
                fmt = 0.3 if 5 <= len(norm) <= 10 else 0.0
            out[k] = PlateRead(raw, norm, round(rec * fmt, 4), crop=plates[k])
        return out

    def read_vehicles(self, vehicles: list[np.ndarray]) -> list[PlateRead | None]:
        """Detect and read the plate of each vehicle crop."""
        boxes = self.detect(vehicles)
        plates, where = [], []
        for k, found in enumerate(boxes):
            if found is None:
                continue
            (x1, y1, x2, y2), _ = found
            v = vehicles[k]
            x1, y1 = max(0, int(x1)), max(0, int(y1))
            x2, y2 = min(v.shape[1], int(np.ceil(x2))), min(v.shape[0], int(np.ceil(y2)))
            if y2 - y1 < MIN_PLATE_HEIGHT or x2 - x1 < MIN_PLATE_HEIGHT:
                continue
            plates.append(v[y1:y2, x1:x2])
            where.append((k, (x1, y1, x2, y2)))
        out: list[PlateRead | None] = [None] * len(vehicles)
        for (k, box), read in zip(where, self.read_plates(plates)):
            if read is not None:
                read.box = box
                out[k] = read
        return out


def plate_jpeg(plate: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", shrink(plate, PLATE_CROP_MAX), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes()
