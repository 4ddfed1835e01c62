"""The text recogniser both readers share (licence plates, the recorder's on-screen clock): the PP-OCRv6
small recogniser that ships inside the `rapidocr` wheel (Apache-2.0, the optional `plates` extra), run by
onnxruntime from the wheel's own model file. The model path is set, so rapidocr never downloads and never
writes (it writes only when it downloads); its session runs on a few threads that sleep when idle."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from forensic.errors import ModelUnavailable

log = logging.getLogger(__name__)

REC_THREADS = 1  # recogniser threads (see _quiet_session): one reads a plate with 10 % less CPU than two, no slower
# beside a busy pipeline (240 plates of vn_plate_ocr_crops at load 5-6: 38-40 against 43 CPU ms a plate)
REC_BATCH = 16  # line images per recogniser call


def ocr_installed() -> bool:
    return importlib.util.find_spec("rapidocr") is not None and importlib.util.find_spec("onnxruntime") is not None


def _engine(rec_width: int = 320, det: bool = False):
    """A rapidocr engine with every model path set to the files inside the wheel (so it never downloads)."""
    import logging as _logging

    import rapidocr
    from rapidocr import RapidOCR

    folder = Path(rapidocr.__file__).resolve().parent / "models"
    needed = [folder / "PP-OCRv6_rec_small.onnx"] + ([folder / "PP-OCRv6_det_small.onnx"] if det else [])
    for path in needed:
        if not path.is_file():
            raise ModelUnavailable(f"rapidocr is installed without its model {path}")
    engine = RapidOCR(params={"Global.use_det": det, "Global.use_cls": False, "Global.log_level": "error",
                              "Global.model_root_dir": str(folder), "Rec.model_path": str(needed[0]),
                              "Rec.rec_img_shape": [3, 48, rec_width],
                              "Det.model_path": str(folder / "PP-OCRv6_det_small.onnx"),
                              "Cls.model_path": str(folder / "ch_ppocr_mobile_v2.0_cls_mobile.onnx")})
    _logging.getLogger("RapidOCR").setLevel(_logging.ERROR)
    return engine, needed


def load_recogniser(rec_width: int = 320):
    """rapidocr's text recogniser (its TextRecognizer), from the model file inside the wheel (never downloaded).
    `rec_width`: the narrowest input width (short lines are padded to it)."""
    engine, (rec,) = _engine(rec_width)
    rec_model = engine._load_rec_model()
    _quiet_session(rec_model, rec)
    return rec_model


def load_detector():
    """rapidocr's text detector (PP-OCRv6 small, from the wheel): text boxes in a picture, whole lines or words.
    Call it as `detector(image)`: `.boxes` is None or (N, 4, 2) corner points. Its input keeps the picture's
    size up to 1920 px on the longest side (rapidocr's default enlarges the shortest side to 736 px, which
    makes a frame-wide band of text tens of thousands of pixels wide)."""
    engine, (_, det) = _engine(det=True)
    det_model = engine._load_det_model()
    det_model.limit_side_len, det_model.limit_type = 1920, "max"
    _quiet_session(det_model, det)
    return det_model


def _quiet_session(rec_model, path: Path) -> None:
    """Run the recogniser on REC_THREADS threads that sleep when idle: by default onnxruntime takes
    every core and keeps its threads spinning between calls, which starves the detector, the
    decoder and the plate detector running beside it during indexing."""
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = REC_THREADS
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        rec_model.session.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - rapidocr's own session still works
        log.debug("text reader: keeping rapidocr's session (%s)", e)


def recognise(rec_model, lines: list[np.ndarray], allowed: set[str]) -> list[tuple[str, float]]:
    """Text and confidence of each line image (BGR), decoded over the `allowed` characters only: the
    recogniser knows thousands of characters, and a blurred digit must not become a Chinese one. Greedy
    CTC over the masked class probabilities; confidence: the mean of the kept characters'."""
    masks = rec_model.__dict__.setdefault("_forensic_masks", {})
    key = frozenset(allowed)
    if key not in masks:
        chars = list(rec_model.postprocess_op.character)
        masks[key] = (chars, np.array([i == 0 or c in allowed for i, c in enumerate(chars)]))
    chars, mask = masks[key]
    out: list[tuple[str, float]] = [("", 0.0)] * len(lines)
    order = np.argsort([ln.shape[1] / max(1, ln.shape[0]) for ln in lines])
    _, h, w = rec_model.rec_image_shape
    for start in range(0, len(order), REC_BATCH):
        part = order[start:start + REC_BATCH]
        ratio = max([w / h] + [lines[k].shape[1] / max(1, lines[k].shape[0]) for k in part])
        batch = np.concatenate([rec_model.resize_norm_img(lines[k], ratio)[None] for k in part]).astype(np.float32)
        probs = np.asarray(rec_model.session(batch))  # (B, T, classes), softmax
        probs = np.where(mask, probs, 0.0)
        best, score = probs.argmax(axis=2), probs.max(axis=2)
        for k, idx, sc in zip(part, best, score):
            keep = (idx != 0) & np.r_[True, idx[1:] != idx[:-1]]
            text = "".join(chars[i] for i in idx[keep])
            out[k] = (text, float(sc[keep].mean()) if keep.any() else 0.0)
    return out
