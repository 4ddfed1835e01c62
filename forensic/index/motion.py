"""Skip the detector on sampled frames where nothing moved since the last frame it saw.

Street cameras at night, and yards and lanes by day, show the same picture for minutes: detecting
it again every half second finds the same parked objects. A frame is compared with the last
*detected* frame (not the previous sample), so slow movers add up until they count; and a frame is
detected at least every `max_skip` seconds whatever happens, so nothing standing still for long is
lost from the timeline.
"""

from __future__ import annotations

import numpy as np

from forensic.images import shrink

WIDTH = 320  # analysis size (longest side): enough for a person 30 px wide in a 1080p source to cover a few pixels
LEVEL = 20  # grey-level change that counts as a changed pixel (after blur: above sensor noise)


class MotionGate:
    def __init__(self, min_changed: float = 0.0005, max_skip: float = 4.0):
        """`min_changed`: share of the picture that must change (0 = detect every frame);
        `max_skip`: seconds of video after which a frame is detected anyway."""
        self.min_changed = min_changed
        self.max_skip = max_skip
        self._last: np.ndarray | None = None
        self._last_t = -1e9
        self.skipped = 0

    def needs_detection(self, t: float, image: np.ndarray) -> bool:
        if self.min_changed <= 0:
            return True
        small = self._small(image)
        due = t - self._last_t >= self.max_skip
        if due or self._last is None or small.shape != self._last.shape or self._share(small, self._last) >= self.min_changed:
            self._last, self._last_t = small, t
            return True
        self.skipped += 1
        return False

    @staticmethod
    def _small(image: np.ndarray) -> np.ndarray:
        import cv2

        small = shrink(image, WIDTH)  # before the grey conversion: it then converts 1/30 of the pixels
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(gray, (5, 5), 0)

    @staticmethod
    def _share(a: np.ndarray, b: np.ndarray) -> float:
        import cv2

        changed = (cv2.absdiff(a, b) > LEVEL).astype(np.uint8)
        changed = cv2.erode(changed, np.ones((2, 2), np.uint8))  # single noisy pixels do not count
        return float(changed.mean())
