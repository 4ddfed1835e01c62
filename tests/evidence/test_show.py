"""forensic show on the synthetic index of the stub detector (fast): the hit's own frame with its box,
and the strip of its track around it (real footage: test_frames.py, slow)."""

from __future__ import annotations

import numpy as np

from builders import RED
from forensic.api import show_hit
from forensic.settings import Settings


def red_pixels(image: np.ndarray) -> int:
    return int((np.abs(image.astype(np.int16) - np.asarray(RED, np.int16)) <= 40).all(axis=2).sum())


def test_show_writes_the_hit_frame_and_its_track_strip(stub_evidence_index, car_hit, tmp_path):
    import cv2

    settings = Settings.from_env({}, index=stub_evidence_index)
    frame = cv2.imread(str(show_hit(car_hit, tmp_path / "frame.png", settings)))
    assert frame is not None and frame.shape[1] == 320 and frame.shape[0] > 240  # the frame, with a caption under it
    assert red_pixels(frame[:240]) > 0.5 * 80 * 50  # the red car is in it
    strip = cv2.imread(str(show_hit(car_hit, tmp_path / "strip.png", settings, context=1.0, step=0.5)))
    assert strip is not None and strip.shape[1] > frame.shape[1]  # several frames side by side
