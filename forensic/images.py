"""Image helpers shared by the indexing stages."""

from __future__ import annotations

import numpy as np


def shrink(image: np.ndarray, longest: int) -> np.ndarray:
    """Resize so the longest side is at most `longest` pixels.

    Area averaging costs in proportion to the source pixels, and a crop of a 1080p frame can be
    hundreds of pixels wide: it is first subsampled by a whole step down to about twice the target,
    then area-averaged, which looks the same and costs a fraction.
    """
    import cv2

    h, w = image.shape[:2]
    if max(h, w) <= longest:
        return image
    step = max(h, w) // (2 * longest)
    if step >= 2:
        image = image[::step, ::step]
        h, w = image.shape[:2]
    scale = longest / max(h, w)
    return cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def sample(image: np.ndarray, longest: int) -> np.ndarray:
    """Every k-th pixel in both directions, so the longest side is at most `longest`.

    For colour statistics (histograms), not for looking at: a fraction of the cost of resizing,
    and it never blends two neighbouring colours into a third that is in neither.
    """
    step = -(-max(image.shape[:2]) // longest)
    return image[::step, ::step] if step > 1 else image
