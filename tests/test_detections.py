"""Detections: parallel arrays of one frame's objects, per-object extra data in `data` (supervision's way)."""

from __future__ import annotations

import numpy as np

from forensic.detections import SECOND_CLASS, SECOND_CONFIDENCE, Detections


def test_indexing_keeps_every_array_and_the_data_in_step():
    d = Detections(np.arange(12, dtype=np.float32).reshape(3, 4), np.array([0.9, 0.5, 0.7], np.float32),
                   np.array(["car", "truck", "person"]), np.eye(3, dtype=np.float32), np.array([4, -1, 6]),
                   data={SECOND_CLASS: np.array(["truck", "car", ""]), SECOND_CONFIDENCE: np.array([0.3, 0.2, 0.0], np.float32)})
    kept = d[np.array([True, False, True])]
    assert len(kept) == 2 and kept.class_name.tolist() == ["car", "person"] and kept.tracker_id.tolist() == [4, 6]
    assert kept.data[SECOND_CLASS].tolist() == ["truck", ""] and kept.data[SECOND_CONFIDENCE].tolist() == [np.float32(0.3), 0.0]
    assert kept.features.tolist() == [[1, 0, 0], [0, 0, 1]] and kept.xyxy[1].tolist() == [8, 9, 10, 11]
    assert d[[1]].data[SECOND_CLASS].tolist() == ["car"]
    kept.data[SECOND_CLASS][0] = "bus"  # a copy (boolean indexing): the original is untouched
    assert d.data[SECOND_CLASS][0] == "truck"


def test_without_data_nothing_is_invented():
    d = Detections.empty()
    assert len(d) == 0 and d.data == {} and d[np.zeros(0, bool)].data == {}
    assert Detections(np.zeros((1, 4), np.float32), np.ones(1, np.float32), np.array(["car"])).data == {}
