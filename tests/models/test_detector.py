"""The YOLO detector with pooled features, on real frames; weights found offline or a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.errors import ModelUnavailable
from forensic.models import base
from forensic.models.base import find_model_file, pick_device
from forensic.models.detector import COCO_KEEP, YoloDetector, letterbox
from realdata import ACVIEW, DELIVERY_RIDER, TRUCCAT, WHITE_SUV, frame_at


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
    det.model  # loaded (the test may run alone)
    for image in frames.values():
        _, _, preds, _ = det._forward([image])
        ours = non_max_suppression(preds[0], det.conf, det.iou, COCO_KEEP)
        theirs = ultralytics_nms(torch.as_tensor(preds).float(), det.conf, det.iou, classes=list(COCO_KEEP), max_det=300)[0].numpy()
        assert len(ours) == len(theirs) > 5
        np.testing.assert_allclose(ours[np.lexsort(ours.T[::-1])], theirs[np.lexsort(theirs.T[::-1])], atol=1e-3)
        both = non_max_suppression(preds[0], det.conf, det.iou, COCO_KEEP, second=True)
        np.testing.assert_array_equal(both[:, :6], ours)  # the second class changes nothing of the first
        kept = np.array(sorted(COCO_KEEP))
        for row in both:  # each box's second class: the runner-up of its anchor's scores among the kept classes
            anchor = np.argmin(np.abs(preds[0][4 + int(row[5])] - row[4]) + np.abs(preds[0][0] - (row[0] + row[2]) / 2))
            scores = preds[0][4 + kept, anchor]
            order = np.argsort(-scores, kind="stable")
            assert kept[order[0]] == row[5] and kept[order[1]] == row[7]
            assert row[6] == pytest.approx(scores[order[1]]) and row[6] <= row[4]


@pytest.mark.slow
def test_detections_carry_their_second_class_and_one_box_per_object(real_models, frames):
    from forensic.models.detector import MERGE_GROUPS, box_iou

    for image in frames.values():
        (d,) = real_models.detector.detect([image])
        names2, scores2 = d.data["class_name2"], d.data["confidence2"]
        assert len(names2) == len(scores2) == len(d)
        assert (names2 != d.class_name).all() and set(names2) <= set(COCO_KEEP.values())
        assert (scores2 <= d.confidence).all() and (scores2 >= 0).all()
        overlap = box_iou(d.xyxy, d.xyxy)
        for group in MERGE_GROUPS:
            inside = np.isin(d.class_name, group)
            same = overlap[np.ix_(inside, inside)] >= 0.7
            np.fill_diagonal(same, False)
            assert not same.any()  # a van is not both a car and a truck


# --- the detector's doubt: second classes, and one detection per object -------------------------------
def synthetic_preds(anchors: list[tuple[tuple[float, float, float, float], dict[int, float]]], classes: int = 80) -> np.ndarray:
    """Raw YOLO output (4 + classes, anchors) from (centre x, centre y, w, h) and {class id: score} per anchor."""
    preds = np.zeros((4 + classes, len(anchors)), np.float32)
    for k, (box, scores) in enumerate(anchors):
        preds[:4, k] = box
        for c, s in scores.items():
            preds[4 + c, k] = s
    return preds


def test_nms_keeps_each_box_top_two_classes():
    from forensic.models.detector import non_max_suppression

    preds = synthetic_preds([
        ((100, 100, 40, 80), {0: 0.9, 1: 0.05}),  # person, barely a bicycle
        ((300, 100, 80, 40), {2: 0.6, 7: 0.35, 5: 0.1}),  # car, or a truck
        ((500, 100, 60, 60), {3: 0.5, 4: 0.45, 1: 0.3}),  # motorcycle; airplane (4) is no class forensic keeps
        ((500, 300, 60, 60), {4: 0.8, 3: 0.7}),  # an airplane first: dropped, as today
        ((302, 101, 80, 40), {2: 0.4}),  # the car again, weaker: suppressed
    ])
    plain = non_max_suppression(preds, 0.3, 0.5, COCO_KEEP)
    both = non_max_suppression(preds, 0.3, 0.5, COCO_KEEP, second=True)
    assert plain.shape == (3, 6) and both.shape == (3, 8)
    np.testing.assert_array_equal(both[:, :6], plain)  # boxes, scores and first classes as before
    assert plain[:, 5].tolist() == [0, 2, 3]
    assert both[:, 7].tolist() == [1, 7, 1]
    np.testing.assert_allclose(both[:, 6], [0.05, 0.35, 0.3])
    alone = non_max_suppression(preds, 0.3, 0.5, {0: "person"}, second=True)  # one class kept: no second
    assert alone.shape == (1, 8) and alone[0, 7] == -1 and alone[0, 6] == 0
    assert non_max_suppression(preds, 0.95, 0.5, COCO_KEEP, second=True).shape == (0, 8)


def det_rows(*rows) -> np.ndarray:
    """(N, 8) NMS rows from (x1, y1, x2, y2, score, class, score2, class2), sorted best first."""
    out = np.array(rows, np.float32)
    return out[np.argsort(-out[:, 4], kind="stable")]


@pytest.mark.parametrize("second, expected", [
    ((0.2, 7), (7, 0.6)),  # the absorbed truck's score beats what the car box said of trucks
    ((0.7, 7), (7, 0.7)),  # ... or not: the higher of the two
    ((0.65, 5), (5, 0.65)),  # the car box thought "bus" likelier than the truck box's 0.6
])
def test_a_van_boxed_as_car_and_as_truck_is_one_detection(second, expected):
    from forensic.models.detector import merge_classes

    names = {k: v for k, v in COCO_KEEP.items()}
    det = det_rows((100, 100, 200, 180, 0.8, 2, *second), (102, 98, 203, 182, 0.6, 7, 0.5, 2))
    merged = merge_classes(det, names)
    assert len(merged) == 1
    np.testing.assert_array_equal(merged[0, :6], det[0, :6])  # the most confident box, class and score
    assert (merged[0, 7], merged[0, 6]) == pytest.approx(expected)


def test_cross_class_merge_only_joins_look_alike_classes_that_overlap():
    from forensic.models.detector import box_iou, merge_classes

    names = {k: v for k, v in COCO_KEEP.items()}
    det = det_rows(
        (0, 0, 100, 100, 0.9, 3, 0.2, 1), (2, 2, 100, 100, 0.5, 1, 0.4, 3),  # motorcycle and bicycle, IoU 0.96: one
        (0, 0, 100, 100, 0.85, 0, 0.01, 1),  # the rider on it: a person is never merged
        (300, 0, 400, 100, 0.7, 2, 0.1, 7), (340, 0, 440, 100, 0.6, 7, 0.3, 2),  # car and truck, IoU 0.43: two
        (600, 0, 700, 100, 0.7, 2, 0.1, 7), (600, 0, 700, 100, 0.65, 1, 0.1, 3),  # a car and a bicycle: other groups
        (800, 0, 900, 100, 0.8, 5, 0.3, 7), (801, 0, 900, 100, 0.6, 7, 0.3, 2), (800, 1, 900, 100, 0.55, 2, 0.2, 7),  # bus, truck, car: one
    )
    assert box_iou(np.array([[0, 0, 100, 100.0]]), np.array([[2, 2, 100, 100.0], [340, 0, 440, 100]]))[0] == pytest.approx([0.9604, 0])
    merged = merge_classes(det, names)
    kept = [(float(r[0]), names[int(r[5])]) for r in merged]
    assert kept == [(0.0, "motorcycle"), (0.0, "person"), (800.0, "bus"), (300.0, "car"), (600.0, "car"), (600.0, "bicycle"),
                    (340.0, "truck")]
    assert names[int(merged[0, 7])] == "bicycle" and merged[0, 6] == pytest.approx(0.5)
    assert names[int(merged[2, 7])] == "truck" and merged[2, 6] == pytest.approx(0.6)
    assert merge_classes(det[:1], names).tolist() == det[:1].tolist()
    assert merge_classes(det[:0], names).shape == (0, 8)
