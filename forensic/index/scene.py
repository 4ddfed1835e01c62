"""What a fixed camera sees without its moving objects, learned per video while it is indexed.

- background: the per-pixel median of the last DEPTH detected frames (at a reduced size), so the road,
  kerb and walls inside an object's box can be left out of its colours (`forensic.colors`). Until
  MIN_FRAMES frames were seen there is none, and colours use every pixel of the box.
- white balance: grey-world gains from that background (a street scene is mostly grey road,
  pavement and walls, so its mean shows the colour of the light and of the camera's balance).
- monochrome: an infrared night picture (or a black-and-white recorder) has no colours to name.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from forensic.colors import is_monochrome, white_balance
from forensic.images import shrink

SIDE = 192  # longest side of the stored frames, pixels
DEPTH = 15  # frames in the median: 7.5 s at the default 2 fps
MIN_FRAMES = 5  # frames seen before there is a background
EVERY = 4  # the median, white balance and monochrome are recomputed every EVERY frames


class SceneModel:
    """The background is the per-pixel median of the last DEPTH detected frames at a reduced size:
    an object passing through is in a minority of them, so it is not in their median."""

    def __init__(self, depth: int = DEPTH, side: int = SIDE):
        self.frames: deque[np.ndarray] = deque(maxlen=depth)
        self.side = side
        self._median: np.ndarray | None = None
        self._full: np.ndarray | None = None  # the median at the frame's own size, made when first asked
        self._since = 0
        self.gains = np.ones(3, np.float32)
        self.monochrome = False

    def update(self, image: np.ndarray) -> None:
        small = shrink(image, self.side)
        if self.frames and self.frames[-1].shape != small.shape:  # the recording changed size: start again
            self.frames.clear()
            self._median = self._full = None
            self._since = 0
        self.frames.append(small)
        self._since += 1
        if len(self.frames) == 1:
            self.monochrome = is_monochrome(small)
            self.gains = white_balance(small)
        if len(self.frames) >= MIN_FRAMES and (self._median is None or self._since >= EVERY):
            self._median = np.median(np.stack(self.frames), axis=0).astype(np.uint8)
            self._full = None
            self._since = 0
            self.monochrome = is_monochrome(self._median)
            self.gains = white_balance(self._median)

    def background(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The background at the size of a frame of `shape`, or None while too few frames were seen."""
        import cv2

        if self._median is None:
            return None
        h, w = shape[:2]
        if self._full is None or self._full.shape[:2] != (h, w):
            self._full = cv2.resize(self._median, (w, h), interpolation=cv2.INTER_LINEAR)
        return self._full
