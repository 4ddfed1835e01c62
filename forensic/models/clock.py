"""Reading the recorder's on-screen clock in a few frames: the camera's region is cropped and read as one
line by the text recogniser the plate reader uses (forensic.models.ocr), over the characters the clock can
show only (digits and the format's separators).

Burnt-in clocks are thin coloured text over whatever the camera sees, so each region is read as several
pictures (as it is, each colour channel alone, the inverted grey): one of them usually stands out from its
background. Every reading that parses as a date-time in the camera's format is a candidate; which one is
right is decided across frames (forensic.osd.check_advance)."""

from __future__ import annotations

import logging
import time

import numpy as np

from forensic.models.ocr import load_recogniser, ocr_installed, recognise
from forensic.osd import ClockReading, OsdSpec

log = logging.getLogger(__name__)

MIN_HEIGHT = 24  # px: a smaller region is enlarged before reading (the recogniser reads 48 px tall lines)


class ClockReader:
    """The text recogniser, loaded on first use (about a second); `seconds` sums the reading time."""

    name = "clock"

    def __init__(self):
        self._rec = None
        self.seconds = 0.0

    @staticmethod
    def installed() -> bool:
        return ocr_installed()

    @property
    def rec(self):
        if self._rec is None:
            self._rec = load_recogniser()
        return self._rec

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
