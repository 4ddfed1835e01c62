"""Image helpers: shrink (to look at) and sample (for statistics)."""

import numpy as np
import pytest

from forensic.images import sample, shrink


@pytest.mark.parametrize("h, w, longest", [(1080, 1920, 96), (500, 120, 64), (300, 301, 224), (50, 40, 96)])
def test_shrink_keeps_the_aspect_and_the_colour(h, w, longest):
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (0, 0, 255)  # left half red, right half black
    out = shrink(image, longest)
    assert max(out.shape[:2]) == min(longest, max(h, w))
    assert abs(out.shape[1] / out.shape[0] - w / h) < 0.05
    red = (out[..., 2] > 128).mean()
    assert abs(red - 0.5) < 0.05


def test_sample_takes_every_kth_pixel_without_blending():
    image = np.zeros((200, 100, 3), np.uint8)
    image[:, ::2] = (0, 255, 0)  # green and black columns: a resize would invent dark green
    out = sample(image, 64)
    assert max(out.shape[:2]) <= 64 and out.shape[:2] == (50, 25)
    assert set(map(tuple, out.reshape(-1, 3))) <= {(0, 255, 0), (0, 0, 0)}
    small = np.zeros((10, 10, 3), np.uint8)
    assert sample(small, 64) is small and shrink(small, 64) is small
