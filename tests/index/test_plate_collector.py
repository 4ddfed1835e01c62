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


def test_reads_stay_in_flight_for_depth_flushes_and_the_end_waits_for_all():
    """A slow read does not hold up the next DEPTH - 1 flushes (the pipeline goes on detecting); the
    DEPTH-th waits for it, and the final flush leaves nothing unread."""
    import threading

    release = threading.Event()

    class Held(StandInReader):
        def read_vehicles(self, vehicles):
            assert release.wait(10), "a read was never released"
            return super().read_vehicles(vehicles)

    reader = Held()
    h = MIN_VEHICLE_HEIGHT + 20
    img = np.full((720, 1280, 3), 150, np.uint8)
    with ThreadPoolExecutor(1) as side:
        collector = PlateCollector(reader, batch=1, side=side, depth=3)
        for k in range(2):  # two cars, each seen twice, then gone
            dets = Detections(np.array([[100, 100, 400, 100 + h]], np.float32), np.ones(1, np.float32), np.array(["car"]))
            dets.tracker_id = np.array([k + 1])
            collector.add(0.0, img, dets, np.array([0.5], np.float32), [10 * k])
            collector.add(0.5, img, dets, np.array([0.6], np.float32), [10 * k + 1])
        done = threading.Event()

        def flushes():
            collector.flush(100.0)  # both tracks gone: their reads start (and block in the reader)
            collector.flush(101.0)
            collector.flush(102.0)  # two flushes later: still not waited for
            done.set()

        worker = threading.Thread(target=flushes)
        worker.start()
        assert done.wait(5), "a flush waited for a read started less than DEPTH flushes before"
        assert collector.views_read == 0 and not reader.batches
        release.set()
        collector.flush(103.0)  # the DEPTH-th flush takes the first reads
        assert collector.views_read == 2
        collector.flush()
        worker.join()
    assert len(collector.results()) == 2
