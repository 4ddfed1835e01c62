"""Reading the recorder's on-screen clock in a few frames: the camera's region is cropped and read as one
line by the text recogniser the plate reader uses (forensic.models.ocr), over the characters the clock can
show only (digits and the format's separators).

Burnt-in clocks are thin coloured text over whatever the camera sees, so each region is read as several
pictures (as it is, each colour channel alone, the inverted grey): one of them usually stands out from its
background. Every reading that parses as a date-time in the camera's format is a candidate; which one is
right is decided across frames (forensic.osd.check_advance).

For `osd = "auto"`, `find` looks for the clock in one frame: the text detector (from the same wheel) boxes the
text of the top and bottom bands, boxes on one line are joined (a date and a time are often two boxes),
and the line that reads as a date-time in one of forensic.osd.FIND_FORMATS gives the region and format."""

from __future__ import annotations

import logging
import time

import numpy as np

from forensic.models.ocr import load_detector, load_recogniser, ocr_installed, recognise
from forensic.osd import FIND_CHARS, ClockReading, OsdSpec, guess_format

log = logging.getLogger(__name__)

MIN_HEIGHT = 24  # px: a smaller region is enlarged before reading (the recogniser reads 48 px tall lines)
BANDS = ((0.0, 0.12), (0.88, 1.0))  # where recorders put their clock: the top and bottom of the picture
MAX_RUN = 3  # boxes joined into one candidate line
MAX_CANDIDATES = 16  # candidate lines read (the widest) ...
MAX_RETRIED = 6  # ... and read again as colour channels and inverted when none reads as a date-time


class ClockReader:
    """The text recogniser, loaded on first use (about a second); `seconds` sums the reading time."""

    name = "clock"

    def __init__(self):
        self._rec = None
        self._det = None
        self.seconds = 0.0

    @staticmethod
    def installed() -> bool:
        return ocr_installed()

    @property
    def rec(self):
        if self._rec is None:
            self._rec = load_recogniser()
        return self._rec

    @property
    def det(self):
        if self._det is None:
            self._det = load_detector()
        return self._det

    def find(self, image: np.ndarray, tz: str) -> tuple[OsdSpec, str] | None:
        """Where the clock is in this frame and how it is written (and the text read there), or None."""
        det, rec = self.det, self.rec  # loaded outside the timing
        start = time.perf_counter()
        h, w = image.shape[:2]
        candidates = []  # (x0, y0, x1, y1) in frame pixels
        for top, bottom in BANDS:
            y0 = int(top * h)
            band = image[y0:max(int(bottom * h), y0 + 1)]
            found = det(np.ascontiguousarray(band)).boxes
            boxes = [] if found is None else [(float(b[:, 0].min()), float(b[:, 1].min()) + y0, float(b[:, 0].max()),
                                               float(b[:, 1].max()) + y0) for b in found]
            candidates += line_runs(boxes)
        regions = []
        for x0, y0, x1, y1 in sorted(candidates, key=lambda c: c[0] - c[2])[:MAX_CANDIDATES]:  # widest first
            pad = 0.25 * (y1 - y0)
            regions.append((max(0.0, (x0 - pad) / w), max(0.0, (y0 - pad) / h), min(1.0, (x1 + pad) / w), min(1.0, (y1 + pad) / h)))
        best = None
        # each line as it is first; the other pictures of the widest lines only when that finds nothing
        for todo, which in ((regions, slice(0, 1)), (regions[:MAX_RETRIED], slice(1, None))):
            pictures, owner = [], []
            for k, region in enumerate(todo):
                for picture in variants(OsdSpec(region, None).crop(image))[which]:
                    pictures.append(picture)
                    owner.append(k)
            for k, (text, conf) in zip(owner, recognise(rec, pictures, FIND_CHARS) if pictures else []):
                fmt = guess_format(text, tz)
                if fmt is not None:
                    key = (-fmt.resolution, len(fmt.fields), conf)  # seconds over minutes, then the surest
                    if best is None or key > best[0]:
                        best = (key, OsdSpec(todo[k], fmt), text)
            if best is not None:
                break
        self.seconds += time.perf_counter() - start
        return (best[1], best[2]) if best else None

    def read(self, frames: list[tuple[float, np.ndarray]], spec: OsdSpec, tz: str) -> list[ClockReading]:
        """One reading per (video seconds, BGR frame): the text read and the date-times it parses to."""
        rec = self.rec  # loaded outside the timing
        start = time.perf_counter()
        pictures, owner = [], []
        for k, (_, image) in enumerate(frames):
            for picture in variants(spec.crop(image)):
                pictures.append(picture)
                owner.append(k)
        texts = recognise(rec, pictures, spec.format.chars) if pictures else []
        out = [ClockReading(t, "") for t, _ in frames]
        shown = [(False, -1.0)] * len(frames)  # (parsed, confidence) of the text kept: a parsed one first, then the surest
        for k, (text, conf) in zip(owner, texts):
            when = spec.format.parse(text, tz)
            reading = out[k]
            if when is not None:
                known = {w: n for n, (w, _) in enumerate(reading.candidates)}
                if when in known:  # several pictures read the same: one candidate, its best confidence
                    n = known[when]
                    reading.candidates[n] = (when, max(reading.candidates[n][1], conf))
                else:
                    reading.candidates.append((when, conf))
            if (when is not None, conf) > shown[k]:
                reading.text, shown[k] = text, (when is not None, conf)
        self.seconds += time.perf_counter() - start
        return out


def line_runs(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Candidate text lines: each box, and runs of up to MAX_RUN neighbouring boxes on one line (overlapping
    by half their height, less than three line heights apart), as their enclosing boxes."""
    out = []
    for i, a in enumerate(boxes):
        line = sorted([b for b in boxes if min(a[3], b[3]) - max(a[1], b[1]) >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and b[0] >= a[0]])
        run = [a]
        for b in line:
            if b is a or b in run:
                continue
            if len(run) >= MAX_RUN or b[0] - max(r[2] for r in run) > 3 * (a[3] - a[1]):
                break
            run.append(b)
        for n in range(1, len(run) + 1):
            part = run[:n]
            out.append((min(r[0] for r in part), min(r[1] for r in part), max(r[2] for r in part), max(r[3] for r in part)))
    return list(dict.fromkeys(out))


def variants(region: np.ndarray) -> list[np.ndarray]:
    """The region as the recogniser sees it best: as it is, each colour channel alone, and inverted grey
    (all BGR, at least MIN_HEIGHT tall)."""
    import cv2

    if region.size == 0:
        return []
    if region.shape[0] < MIN_HEIGHT:
        scale = MIN_HEIGHT / region.shape[0]
        region = cv2.resize(region, (max(1, round(region.shape[1] * scale)), MIN_HEIGHT), interpolation=cv2.INTER_CUBIC)
    if region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2BGR)
    grey = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    out = [np.ascontiguousarray(region)]
    out += [cv2.cvtColor(np.ascontiguousarray(ch), cv2.COLOR_GRAY2BGR) for ch in cv2.split(region)]
    out.append(cv2.cvtColor(255 - grey, cv2.COLOR_GRAY2BGR))
    return out
