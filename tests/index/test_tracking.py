"""The tracker's association boxes: enlarged so a fast object sampled sparsely keeps one appearance
(real footage: tests/search/test_tracks.py)."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.detections import Detections
from forensic.index.tracking import ObjectTracker, _enlarged, association_scale_for


def test_association_scale_follows_the_sampling_rate_and_class():
    assert association_scale_for(2.0, "motorcycle") == association_scale_for(2.0, "person") == 1.5
    assert association_scale_for(4.0, "person") == 1.25 and association_scale_for(1.0, "person") == 2.0
    assert association_scale_for(10.0, "person") == 1.1 and association_scale_for(0.1, "person") == 3.0
    assert association_scale_for(2.0, "car") == association_scale_for(0.5, "truck") == 1.0


def test_enlarged_keeps_centres_and_scales_sizes():
    dets = Detections(np.array([[10, 20, 30, 60]], np.float32), np.array([0.9], np.float32), np.array(["car"]))
    big = _enlarged(dets, 2.0)
    np.testing.assert_allclose(big.xyxy, [[0, 0, 40, 80]])
    np.testing.assert_allclose(dets.xyxy, [[10, 20, 30, 60]])  # the stored boxes are not touched


def moving_motorbike(step: float, n: int = 6):
    """A 40x80 motorbike moving `step` pixels right per sample, with a steady appearance vector."""
    rng = np.random.default_rng(0)
    feature = rng.normal(size=(1, 64)).astype(np.float32)
    feature /= np.linalg.norm(feature)
    image = np.zeros((720, 1280, 3), np.uint8)
    for k in range(n):
        x = 100 + k * step
        yield image, Detections(np.array([[x, 300, x + 40, 380]], np.float32), np.array([0.8], np.float32),
                                np.array(["motorcycle"])), feature


@pytest.mark.parametrize("scale, tracks", [(1.0, 6), (None, 1)])
def test_a_fast_mover_is_one_appearance_only_with_enlarged_boxes(scale, tracks):
    tracker = ObjectTracker(2.0, association_scale=scale)  # None: the default for motorbikes at 2 fps
    ids = [int(tracker.update(image, dets, feats)[0]) for image, dets, feats in moving_motorbike(step=40)]  # one width
    assert min(ids) >= 0 and len(set(ids)) == tracks, ids
