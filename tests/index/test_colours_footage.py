"""Clothing colours on real dev footage, through the indexing path: the real detector finds the person,
the clip's own frames give the scene (background, white balance), the real pose model gives the
keypoints, and the top is named. One person per colour: a red, a white, a green and a grey top."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.colors import describe_colors
from forensic.index.scene import SceneModel
from forensic.models.pose import PoseEstimator

pytestmark = pytest.mark.slow

# clip, time (s), normalised region the person's box centre lies in (x0, x1, y0, y1), acceptable top colours
CASES = {
    "red jacket (truccat rider)": ("vn_truccat_crossroad_day.mp4", 3.0, (0.57, 0.65, 0.50, 0.75), {"red"}),
    "white shirt (office)": ("office_man_white_shirt.mp4", 2.0, (0.40, 0.53, 0.22, 0.80), {"white"}),
    "green jacket (boulevard ride-hailing rider)": ("vn_boulevard_motorbikes_day.mp4", 5.0, (0.86, 0.92, 0.30, 0.46), {"green"}),
    "grey hoodie (acview rider)": ("vn_crossroad_acview_day.mp4", 3.0, (0.59, 0.67, 0.38, 0.62), {"grey"}),
}


def frames_around(path, t: float, span: float = 3.0, step: float = 0.5):
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = {}
    try:
        for k in np.arange(max(0.0, t - span), t + span + 1e-6, step):
            cap.set(cv2.CAP_PROP_POS_MSEC, 1000 * k)
            ok, frame = cap.read()
            if ok:
                out[round(float(k), 2)] = frame
    finally:
        cap.release()
    return out


@pytest.fixture(scope="module")
def detector(models_dir):
    """The default detector at the default input size (the session's real index uses a smaller one)."""
    from forensic.models.detector import build_detector

    return build_detector("yolo11n.pt", models_dir, False, "cpu", 640, 0.3, "auto")


@pytest.fixture(scope="module")
def pose(models_dir):
    if not (models_dir / "yolo11n-pose.pt").is_file():
        pytest.skip("needs yolo11n-pose.pt in the models folder")
    return PoseEstimator(models_dir=models_dir, device="cpu")


@pytest.mark.parametrize("case", list(CASES))
def test_top_colour_on_dev_footage(case, footage, detector, pose):
    clip, t, (x0, x1, y0, y1), expected = CASES[case]
    frames = frames_around(footage / clip, t)
    scene = SceneModel()
    for k in sorted(frames):
        scene.update(frames[k])
    image = frames[t]
    h, w = image.shape[:2]
    dets = detector.detect([image])[0]
    centres = (dets.xyxy[:, :2] + dets.xyxy[:, 2:]) / 2
    inside = (dets.class_name == "person") & (centres[:, 0] >= x0 * w) & (centres[:, 0] <= x1 * w) \
        & (centres[:, 1] >= y0 * h) & (centres[:, 1] <= y1 * h)
    assert inside.any(), f"{case}: no person detected in the region"
    box = dets.xyxy[np.flatnonzero(inside)[np.argmax(dets.area[inside])]]
    keypoints = pose.keypoints(image, [box])[0]
    assert keypoints is not None, f"{case}: no pose"
    colours = describe_colors(image, box, "person", keypoints=keypoints, background=scene.background(image.shape),
                              gains=scene.gains, monochrome=scene.monochrome)
    assert colours.names("upper")[0] in expected, (case, colours.upper)
    assert len(colours.names("upper")) <= 3


def test_the_night_infrared_clip_is_monochrome(footage):
    path = footage / "night_ir_yard_person.mp4"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    frames = frames_around(path, 60.0, span=1.0)
    scene = SceneModel()
    for frame in frames.values():
        scene.update(frame)
    assert scene.monochrome
    day = SceneModel()
    for frame in frames_around(footage / "vn_truccat_crossroad_day.mp4", 3.0, span=1.0).values():
        day.update(frame)
    assert not day.monochrome
