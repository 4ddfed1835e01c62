"""Plates at index time: keep each vehicle track's best views in memory while the video is read, read
their plates in batches once the track has left the picture, vote per track.

A track keeps its VIEWS best views (whole in the picture, then crop quality, then size); the first is
read, the next ones only while the track's reads stay weak (below SURE). So the cost is bounded by the
number of vehicle tracks, not by the frames; tracks seen once and vehicles and plates too small to
read are skipped before any model runs (MIN_DETECTIONS, MIN_VEHICLE_HEIGHT here, MIN_PLATE_HEIGHT in
forensic.models.plates).

The reading runs beside the indexing (`side`: one worker thread; the plate detector and reader release
Python's lock, so they use the core the rest of the pipeline leaves idle). What is read together is
decided without regard to timing: each flush first takes the results of the reads it started DEPTH
flushes before (waiting for them if need be), then starts the next ones, so the batches, and with them
the reads, are the same on every run. The reads of the DEPTH - 1 flushes in between may still be
running: a burst of vehicles leaving together spreads over a few batches of frames instead of holding
up the next one.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from forensic.images import shrink
from forensic.index.side import INLINE
from forensic.index.attributes import crop
from forensic.models.plates import PLATE_VEHICLES, PlateRead, PlateReader, display_plate, plate_jpeg, vote

VIEWS = 2  # best views kept per track: the first is read, the others only while the reads are weak
BATCH = 16  # vehicle crops per plate-detector call
IDLE = 6.0  # seconds: a track not seen for this long has left; its views are read
VIEW_MAX = 640  # longest side of a kept vehicle crop (memory; the plate detector sees 320)
MARGIN = 0.04
EDGE = 0.02  # share of the picture: a box this close to its edge is a poor view of the plate
MIN_VEHICLE_HEIGHT = 120  # px (source): a plate on a smaller vehicle is under MIN_PLATE_HEIGHT
DEPTH = 3  # flushes a read may stay in flight (bench/index_speed.py: 1 held the pipeline up on busy crossroads)
SURE = 0.6  # a read at least this confident (reader x format) needs no second view
MIN_DETECTIONS = 2  # a track seen once is more often a false detection than a vehicle worth reading


class PlateCollector:
    def __init__(self, reader: PlateReader, views: int = VIEWS, batch: int = BATCH, idle: float = IDLE, side=None,
                 depth: int = DEPTH):
        self.reader = reader
        self.side = side or INLINE  # forensic.index.side: a worker thread beside the pipeline, or the caller's thread
        self.depth = max(1, depth)
        self._inflight: deque = deque()  # per flush, oldest first: (batches, future of their reads), or None
        self.views_per_track = views
        self.batch = batch
        self.idle = idle
        self._views: dict[int, list[tuple[tuple, int, np.ndarray]]] = {}  # tracker id -> [((quality, area), det id, crop)]
        self._last: dict[int, float] = {}
        self._seen: dict[int, int] = {}
        self._todo: list[tuple[int, int, np.ndarray]] = []  # (tracker id, det id, crop) waiting for a batch
        self._spare: dict[int, list[tuple[int, np.ndarray]]] = {}  # tracker id -> views left, read if the first is weak
        self._reads: dict[int, list[tuple[PlateRead, int]]] = {}
        self.views_read = 0

    def add(self, t: float, image: np.ndarray, detections, quality: np.ndarray, det_ids: list[int]) -> None:
        """Offer one frame's detections (after they were stored as `det_ids`)."""
        if detections.tracker_id is None:
            return
        for k, det_id in enumerate(det_ids):
            tid = int(detections.tracker_id[k])
            if tid < 0 or str(detections.class_name[k]) not in PLATE_VEHICLES:
                continue
            self._last[tid] = t
            self._seen[tid] = self._seen.get(tid, 0) + 1
            kept = self._views.setdefault(tid, [])
            x1, y1, x2, y2 = (float(v) for v in detections.xyxy[k])
            # A view for the plate: whole (a box at the frame's edge often has its plate cut off or
            # squeezed against it), then sharp and large (crop quality), then larger.
            h, w = image.shape[:2]
            edge = EDGE * min(h, w)
            whole = x1 > edge and y1 > edge and x2 < w - edge and y2 < h - edge
            q = (whole, float(quality[k]), (x2 - x1) * (y2 - y1))
            if len(kept) >= self.views_per_track and q <= kept[-1][0]:
                continue
            if y2 - y1 < MIN_VEHICLE_HEIGHT:  # its plate would be too small to read
                continue
            view = np.ascontiguousarray(shrink(crop(image, detections.xyxy[k], MARGIN), VIEW_MAX))
            kept.append((q, int(det_id), view))
            kept.sort(key=lambda v: v[0], reverse=True)
            del kept[self.views_per_track:]

    def flush(self, t: float | None = None) -> None:
        """Read the views of the tracks that have left (all tracks when `t` is None), in batches: a
        track's best view first; its next view only when that gave no plate or a weak one (SURE).
        With `t` None everything is read before it returns."""
        self._collect(keep=0 if t is None else self.depth - 1)
        gone = [tid for tid, last in self._last.items() if t is None or t - last > self.idle]
        for tid in gone:
            del self._last[tid]
            views = self._views.pop(tid, [])
            if self._seen.pop(tid, 0) >= MIN_DETECTIONS and views:
                self._todo.append((tid, views[0][1], views[0][2]))
                self._spare[tid] = [(det_id, view) for _, det_id, view in views[1:]]
        while True:
            self._start(t is None)
            if t is not None:
                return
            self._collect(keep=0)  # the end: every read taken, and the next views they asked for read too
            if not self._todo:
                return

    def _start(self, everything: bool) -> None:
        """Start reading the waiting views: full batches, or all of them (`everything`)."""
        batches = []
        while self._todo and (len(self._todo) >= self.batch or everything):
            batches.append(self._todo[:self.batch])
            self._todo = self._todo[self.batch:]
        if not batches:
            self._inflight.append(None)  # a flush that started nothing still counts towards DEPTH
            return
        job = [[view for *_, view in part] for part in batches]
        self._inflight.append((batches, self.side.submit(self._read, job)))

    def _read(self, job: list[list[np.ndarray]]) -> list[list]:
        return [self.reader.read_vehicles(views) for views in job]

    def _collect(self, keep: int) -> None:
        """Take the reads started before the last `keep` flushes (waiting for them); a weak read queues the
        track's next view."""
        while len(self._inflight) > keep:
            started = self._inflight.popleft()
            if started is not None:
                self._take(*started)

    def _take(self, batches, future) -> None:
        for part, reads in zip(batches, future.result()):
            self.views_read += len(part)
            for (tid, det_id, _), read in zip(part, reads):
                if read is not None:
                    self._reads.setdefault(tid, []).append((read, det_id))
                spare = self._spare.get(tid)
                if read is not None and read.conf >= SURE or not spare:
                    self._spare.pop(tid, None)
                    continue
                self._todo.append((tid, *spare.pop(0)))  # not sure yet: the next best view

    def results(self) -> list[dict]:
        """Each track's voted plate, for IndexStore.add_plates (call after flush())."""
        out = []
        for tid, reads in self._reads.items():
            voted = vote([r for r, _ in reads])
            if voted is None:
                continue
            read, conf = voted
            det_id = next(d for r, d in reads if r is read)
            out.append({"det_id": det_id, "text": read.raw, "norm": read.norm, "display": display_plate(read.norm), "conf": conf,
                        "reads": len(reads), "jpeg": plate_jpeg(read.crop) if read.crop is not None else None})
        return out
