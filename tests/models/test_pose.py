"""The pose model on real person crops: the OpenVINO-compiled network (what a CPU run uses) finds the same
people and the same keypoints as Ultralytics' own PyTorch `predict`."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from forensic.models.pose import PoseEstimator, _centred
from realdata import frame_at


def test_centred_letterbox_keeps_the_crop_in_the_middle():
    crop = np.zeros((100, 40, 3), np.uint8)
    crop[..., 2] = 255  # red in BGR
    boxed, r, left, top = _centred(crop, 160)
    assert boxed.shape == (160, 160, 3) and r == pytest.approx(1.6) and top == 0 and left == 48
    assert (boxed[:, left:left + 64, 0] == 255).all()  # RGB now: red first
    assert (boxed[:, :left] == 114).all() and (boxed[:, left + 64:] == 114).all()


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs OpenVINO")
def test_openvino_pose_matches_ultralytics_on_real_people(footage, models_dir, real_models):
    items = []
    for clip, t in (("uk_campus_pedestrians_vtest.avi", 2.0), ("uk_campus_pedestrians_vtest.avi", 20.0),
                    ("office_man_white_shirt.mp4", 3.0)):
        frame = frame_at(footage / clip, t)
        found = real_models.detector.detect([frame])[0]
        items += [(frame, b) for b, c in zip(found.xyxy, found.class_name) if c == "person"]
    assert len(items) >= 8
    pose = PoseEstimator(models_dir=models_dir, device="cpu")
    pose.model
    assert pose._openvino is not None  # a CPU run compiles it
    compiled = pose.keypoints_many(items)
    pose._openvino = None  # the same model through Ultralytics' predict
    reference = pose.keypoints_many(items)
    assert [k is None for k in compiled] == [k is None for k in reference]
    assert sum(k is not None for k in compiled) >= len(items) - 2
    diffs = [np.abs(a[:, :2] - b[:, :2]).mean() for a, b in zip(compiled, reference) if a is not None]
    assert np.median(diffs) < 0.5 and max(diffs) < 3.0  # pixels


def test_a_crop_a_pixel_thin_is_letterboxed_too():
    boxed, r, left, top = _centred(np.zeros((400, 1, 3), np.uint8), 160)
    assert boxed.shape == (160, 160, 3) and r == pytest.approx(0.4) and top == 0 and left in (79, 80)
