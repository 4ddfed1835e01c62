"""The YOLO detector with pooled features, on real frames; weights found offline or a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.errors import ModelUnavailable
from forensic.models import base
from forensic.models.base import find_model_file, pick_device
from forensic.models.detector import COCO_KEEP, YoloDetector, letterbox
from realdata import ACVIEW, DELIVERY_RIDER, TRUCCAT, WHITE_SUV


@pytest.mark.parametrize("h, w, size", [(1080, 1920, 416), (720, 1280, 320), (576, 768, 640), (100, 50, 320)])
def test_letterbox(h, w, size):
    image = np.full((h, w, 3), 200, np.uint8)
    out, r = letterbox(image, size)
    assert r == pytest.approx(size / max(h, w))
    assert out.shape[0] % 32 == 0 and out.shape[1] % 32 == 0 and max(out.shape[:2]) == size
    nh, nw = round(h * r), round(w * r)
    assert (out[:nh, :nw] == 200).all() and (out[nh:, :] == 114).all() and (out[:, nw:] == 114).all()


def test_find_model_file(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "USER_MODELS", tmp_path / "cache")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.pt").write_bytes(b"x")
    assert find_model_file("w.pt", tmp_path / "m") == tmp_path / "m" / "w.pt"
    assert find_model_file(str(tmp_path / "m" / "w.pt"), None) == tmp_path / "m" / "w.pt"
    assert find_model_file("w.pt", None) is None
    assert find_model_file("other.pt", tmp_path / "m") is None
    assert find_model_file("m/w.pt", tmp_path) is None  # a relative path is a path, not a name in the folder


def test_missing_weights_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "USER_MODELS", tmp_path / "cache")
    det = YoloDetector("yolo11n.pt", tmp_path, allow_download=False, device="cpu")
    with pytest.raises(ModelUnavailable) as e:
        det.model
    assert "yolo11n.pt" in str(e.value) and str(tmp_path) in str(e.value) and "--download" in str(e.value)


def test_broken_weights_file(tmp_path):
    (tmp_path / "yolo11n.pt").write_text("not a checkpoint")
    with pytest.raises(ModelUnavailable, match="cannot load detector weights"):
        YoloDetector("yolo11n.pt", tmp_path, device="cpu").model


def test_cuda_asked_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelUnavailable, match="--device cpu"):
        pick_device("cuda")
    assert pick_device("auto") == "cpu"


def frame_at(path, t: float) -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, round(t * cap.get(cv2.CAP_PROP_FPS)))
    ok, image = cap.read()
    cap.release()
    assert ok
    return image


@pytest.fixture(scope="module")
def frames(footage):
    return {ACVIEW: frame_at(footage / ACVIEW, 1.0), TRUCCAT: frame_at(footage / TRUCCAT, 1.0)}


@pytest.mark.slow
def test_detects_people_and_vehicles_with_features(real_models, frames):
    det = real_models.detector
    image = frames[ACVIEW]
    (d,) = det.detect([image])
    assert len(d) > 10 and set(d.class_name) <= set(COCO_KEEP.values())
    assert {"person", "car", "motorcycle"} <= set(d.class_name)
    h, w = image.shape[:2]
    assert (d.xyxy[:, 0] >= 0).all() and (d.xyxy[:, 2] <= w).all() and (d.xyxy[:, 1] >= 0).all() and (d.xyxy[:, 3] <= h).all()
    assert (d.confidence >= det.conf).all()
    assert d.features.shape == (len(d), det.feature_dim)
    np.testing.assert_allclose(np.linalg.norm(d.features, axis=1), 1.0, atol=1e-4)
    assert sum(DELIVERY_RIDER.matches(ACVIEW, 1.0, b, c) for b, c in zip(d.xyxy, d.class_name)) >= 1
    (t,) = det.detect([frames[TRUCCAT]])
    assert sum(WHITE_SUV.matches(TRUCCAT, 1.0, b, c) for b, c in zip(t.xyxy, t.class_name)) == 1


@pytest.mark.slow
def test_batches_and_mixed_sizes_give_the_same_detections(real_models, frames):
    det = real_models.detector
    alone = [det.detect([frames[name]])[0] for name in (ACVIEW, TRUCCAT)]
    mixed = det.detect([frames[ACVIEW], frames[TRUCCAT]])  # two sizes: one at a time
    same = det.detect([frames[TRUCCAT], frames[TRUCCAT]])  # one size: one batch
    for a, b in zip(alone, mixed):
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)
    for b in same:
        assert len(b) == len(alone[1])
        np.testing.assert_allclose(b.xyxy, alone[1].xyxy, atol=1.0)
        assert np.min(np.sum(b.features * alone[1].features, axis=1)) > 0.999


@pytest.mark.slow
def test_pool_boxes_matches_detect(real_models, frames):
    det = real_models.detector
    image = frames[TRUCCAT]
    (d,) = det.detect([image])
    pooled = det.pool_boxes(image, d.xyxy)
    cosine = np.sum(pooled * d.features, axis=1)
    assert pooled.shape == d.features.shape and np.median(cosine) > 0.99
    # A box somewhere else pools something else.
    elsewhere = det.pool_boxes(image, d.xyxy[:1] + np.array([300, 200, 300, 200], np.float32))
    assert float(elsewhere[0] @ d.features[0]) < 0.95


# --- backends: OpenVINO export beside the weights, chosen automatically on a CPU ------------------------
def test_weights_stem_names_the_network_not_the_backend():
    from forensic.models.detector import weights_stem

    assert weights_stem("yolo11n.pt") == weights_stem("yolo11n_int8_openvino_model") == weights_stem("/m/yolo11n_openvino_model") == "yolo11n"


def test_backend_choice(models_dir, tmp_path):
    from forensic.models.detector import OpenVinoDetector, build_detector

    torch_only = build_detector("yolo11n.pt", models_dir, False, "cpu", 640, 0.3, "torch")
    assert isinstance(torch_only, YoloDetector)
    other_size = build_detector("yolo11n.pt", models_dir, False, "cpu", 416, 0.3, "auto")
    assert isinstance(other_size, YoloDetector)  # the export is for 640 px inputs only
    with pytest.raises(ModelUnavailable, match="no OpenVINO export"):
        build_detector("yolo11n.pt", tmp_path, False, "cpu", 640, 0.3, "openvino")
    pytest.importorskip("openvino", reason="the OpenVINO backend needs the openvino package")
    auto = build_detector("yolo11n.pt", models_dir, False, "cpu", 640, 0.3, "auto")
    assert isinstance(auto, OpenVinoDetector) and auto.folder.name == "yolo11n_int8_openvino_model"
    assert auto.name == torch_only.name == "yolo11n"  # one appearance model name for both backends
    wrong = build_detector("yolo11n.pt", models_dir, False, "cpu", 416, 0.3, "openvino")
    with pytest.raises(ModelUnavailable, match="640"):
        wrong.model


@pytest.mark.slow
def test_openvino_finds_what_pytorch_finds_with_the_same_features(models_dir, frames):
    pytest.importorskip("openvino", reason="the OpenVINO backend needs the openvino package")
    from forensic.models.detector import build_detector

    ov = build_detector("yolo11n.pt", models_dir, False, "cpu", 640, 0.3, "openvino")
    pt = build_detector("yolo11n.pt", models_dir, False, "cpu", 640, 0.3, "torch")
    assert ov.feature_dim == pt.feature_dim
    for name, target in ((ACVIEW, DELIVERY_RIDER), (TRUCCAT, WHITE_SUV)):
        (o,), (p,) = ov.detect([frames[name]]), pt.detect([frames[name]])
        assert sum(target.matches(name, 1.0, b, c) for b, c in zip(o.xyxy, o.class_name)) >= 1
        np.testing.assert_allclose(np.linalg.norm(o.features, axis=1), 1.0, atol=1e-4)
        matched = [max(_iou(b, c) for c in o.xyxy) > 0.7 for b in p.xyxy]
        assert np.mean(matched) >= 0.8, (name, np.mean(matched))
        same_boxes = ov.pool_boxes(frames[name], p.xyxy)  # int8 and float features of one box agree
        assert np.median(np.sum(same_boxes * p.features, axis=1)) > 0.98


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.slow
def test_our_nms_equals_ultralytics_nms(real_models, frames):
    """The numpy/OpenCV NMS on the hot path keeps exactly the boxes Ultralytics' own NMS keeps."""
    import torch
    from ultralytics.utils.nms import non_max_suppression as ultralytics_nms

    from forensic.models.detector import non_max_suppression

    det = real_models.detector
    for image in frames.values():
        _, _, preds, _ = det._forward([image])
        ours = non_max_suppression(preds[0], det.conf, det.iou, COCO_KEEP)
        theirs = ultralytics_nms(torch.as_tensor(preds).float(), det.conf, det.iou, classes=list(COCO_KEEP), max_det=300)[0].numpy()
        assert len(ours) == len(theirs) > 5
        np.testing.assert_allclose(ours[np.lexsort(ours.T[::-1])], theirs[np.lexsort(theirs.T[::-1])], atol=1e-3)
