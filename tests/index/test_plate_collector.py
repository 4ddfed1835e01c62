"""The plate collector: which views of which vehicle tracks are read, in which batches, and that
reading beside the pipeline (a worker thread) changes nothing. The plate reader is replaced by a
stand-in at its seam (PlateCollector's `reader`: any object with read_vehicles)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from forensic.detections import Detections
from forensic.index.plates import MIN_VEHICLE_HEIGHT, VIEWS, PlateCollector
from forensic.models.plates import PlateRead


class StandInReader:
    """Reads the vehicle's plate from the crop's mean grey level: a dark crop is weak (0.3), a light one sure (0.9)."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.batches = delay, []

    def read_vehicles(self, vehicles):
        time.sleep(self.delay)
        self.batches.append([int(v.mean()) for v in vehicles])
        return [PlateRead(f"30F{int(v.mean()):05d}", f"30F{int(v.mean()):05d}", 0.9 if v.mean() > 100 else 0.3) for v in vehicles]


def _drive(collector: PlateCollector, tracks: int = 40) -> list[dict]:
    """Cars one after another, each seen 3 times (grey levels differ per view: the first views dark for odd tracks)."""
    h = MIN_VEHICLE_HEIGHT + 20
    for k in range(tracks):
        for j in range(3):
            img = np.zeros((720, 1280, 3), np.uint8)
            img[100:100 + h, 100:400] = 60 + 10 * j if k % 2 else 150 + j
            dets = Detections(np.array([[100, 100, 400, 100 + h]], np.float32), np.ones(1, np.float32), np.array(["car"]))
            dets.tracker_id = np.array([k + 1])
            t = 8.0 * k + 0.5 * j
            collector.add(t, img, dets, np.array([0.5 + 0.1 * j], np.float32), [1000 * k + j])
            collector.flush(t)
    collector.flush()
    return sorted(collector.results(), key=lambda r: r["det_id"])


def test_reading_beside_the_pipeline_reads_the_same_views_in_the_same_batches():
    inline_reader, side_reader = StandInReader(), StandInReader(delay=0.05)
    inline = _drive(PlateCollector(inline_reader, batch=4))
    with ThreadPoolExecutor(1) as side:
        beside = _drive(PlateCollector(side_reader, batch=4, side=side))
    assert len(inline) == 40
    strip = lambda rs: [{k: v for k, v in r.items() if k != "jpeg"} for r in rs]  # noqa: E731
    assert strip(beside) == strip(inline)
    assert side_reader.batches == inline_reader.batches


def test_a_weak_read_asks_for_the_next_view_and_a_sure_one_does_not():
    reader = StandInReader()
    results = _drive(PlateCollector(reader, batch=4), tracks=4)
    reads = {r["det_id"] // 1000: r["reads"] for r in results}
    assert VIEWS >= 2 and reads == {0: 1, 1: VIEWS, 2: 1, 3: VIEWS}  # dark (weak) views: every kept view read; light (sure): one
