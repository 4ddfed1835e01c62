"""What a fixed camera sees without its moving objects, learned per video while it is indexed.

- background: a running median of the detected frames (at a reduced size), so the road, kerb and walls
  inside an object's box can be left out of its colours (`forensic.colors`). Until MIN_FRAMES frames
  were seen there is none, and colours use every pixel of the box.
- white balance: grey-world gains from that background (a street scene is mostly grey road,
  pavement and walls, so its mean shows the colour of the light and of the camera's balance).
- monochrome: an infrared night picture (or a black-and-white recorder) has no colours to name.
"""

from __future__ import annotations

import numpy as np

from forensic.colors import is_monochrome, white_balance
from forensic.images import shrink

SIDE = 320  # longest side of the background, pixels
MIN_FRAMES = 5  # frames seen before there is a background
STEP = 12  # a background pixel moves at most this much towards each new frame (an approximate running median)
EVERY = 8  # white balance and monochrome are re-judged every EVERY frames


class SceneModel:
    """The background is an approximate running median (McFarlane and Schofield's, with a step): each
    pixel moves towards the new frame by at most STEP levels, so a passing object barely moves it while
    the scene's slow changes are followed within a few frames; it costs a few additions per pixel."""

    def __init__(self, side: int = SIDE):
        self.side = side
        self._bg: np.ndarray | None = None  # int16, at the reduced size
        self._full: np.ndarray | None = None  # the background at the frame's own size, made when first asked
        self.frames = 0
        self.gains = np.ones(3, np.float32)
        self.monochrome = False

    def update(self, image: np.ndarray) -> None:
        small = shrink(image, self.side).astype(np.int16)
        if self._bg is None or self._bg.shape != small.shape:
            self._bg, self.frames = small.copy(), 0
        else:
            self._bg += np.clip(small - self._bg, -STEP, STEP)
        self._full = None
        self.frames += 1
        if self.frames == 1 or self.frames % EVERY == 0:
            scene = self._bg.astype(np.uint8)
            self.monochrome = is_monochrome(scene)
            self.gains = white_balance(scene)

    def background(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The background at the size of a frame of `shape`, or None while too few frames were seen."""
        import cv2

        if self._bg is None or self.frames < MIN_FRAMES:
            return None
        h, w = shape[:2]
        if self._full is None or self._full.shape[:2] != (h, w):
            self._full = cv2.resize(self._bg.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        return self._full
