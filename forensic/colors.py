"""Name the colours of a detected object from a fixed palette, with a confidence per colour.

Pixels are classified in HSV into ten colour names. Background (asphalt, sky, shadows) is
removed by unmixing: the object's central region is treated as a mix of the object and of the
ring of pixels just outside its box, and the largest share of that ring's colours that the
region can hold is subtracted. People get separate upper- and lower-body colours.

Unmixing works on fine bins (lightness steps for black/grey/white, hue and lightness steps for
colours), not on colour names: a sunlit road near the grey/white boundary then removes only road-
lit pixels, not every white pixel of a white car. Between grey and white the split is soft: an
achromatic pixel counts as white in proportion to its lightness across a band (WHITE_BAND), since
a white body in its own shadow and a light-grey body in the sun have the same pixel values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensic.images import sample
from forensic.query.vocabulary import COLOR_ALIASES, PALETTE  # noqa: F401  (COLOR_ALIASES: for callers of this module)

MIN_REPORTED = 0.12  # colours below this share are not listed for display
WHITE_BAND = (115, 190)  # HSV value: achromatic pixels go from all grey to all white across this band

_BLACK, _WHITE, _GREY, _RED, _ORANGE, _YELLOW, _GREEN, _BLUE, _PURPLE, _BROWN = range(10)


@dataclass(frozen=True)
class Colors:
    """Colour shares (0..1, summing to about 1) for the whole object and, for people, body parts."""

    whole: dict[str, float]
    upper: dict[str, float] | None = None
    lower: dict[str, float] | None = None

    def names(self, part: str = "whole", min_share: float = MIN_REPORTED) -> list[str]:
        shares = getattr(self, part) or {}
        return [c for c, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= min_share]

    def to_dict(self) -> dict:
        out = {"whole": self.whole}
        if self.upper is not None:
            out["upper"] = self.upper
            out["lower"] = self.lower
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Colors":
        return cls(whole=d.get("whole", {}), upper=d.get("upper"), lower=d.get("lower"))


def classify_pixels(hsv: np.ndarray) -> np.ndarray:
    """Map HSV pixels (OpenCV ranges: H 0-179, S and V 0-255) to palette indices."""
    h = hsv[..., 0].astype(np.int16)
    s = hsv[..., 1].astype(np.int16)
    v = hsv[..., 2].astype(np.int16)
    out = np.full(h.shape, _GREY, dtype=np.uint8)
    achromatic = (s < 45) | ((s < 80) & (v < 110))
    out[achromatic & (v >= 175)] = _WHITE
    out[achromatic & (v < 70)] = _BLACK
    chroma = ~achromatic
    out[chroma & ((h < 8) | (h >= 170))] = _RED
    warm = chroma & (h >= 8) & (h < 32)
    brownish = warm & ((v < 130) | (s < 100))
    out[brownish] = _BROWN
    out[warm & ~brownish & (h < 19)] = _ORANGE
    out[warm & ~brownish & (h >= 19)] = _YELLOW
    out[chroma & (h >= 32) & (h < 86)] = _GREEN
    out[chroma & (h >= 86) & (h < 131)] = _BLUE
    out[chroma & (h >= 131) & (h < 170)] = _PURPLE
    out[chroma & (v < 55)] = _BLACK  # too dark for its hue to mean anything
    return out


def _hist(labels: np.ndarray, size: int = len(PALETTE)) -> np.ndarray:
    counts = np.bincount(labels.ravel(), minlength=size).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


# Fine bins: each palette colour has _SUB sub-bins. Grey and white share one family of lightness
# steps (8 values wide), so unmixing sees one lightness scale; black has its own lightness steps;
# a chromatic colour is split by hue (12 OpenCV units) and dark/light.
_SUB = 32
_FINE = len(PALETTE) * _SUB


def _fine_bins(hsv: np.ndarray, labels: np.ndarray) -> np.ndarray:
    h = hsv[..., 0].astype(np.int32)
    v = hsv[..., 2].astype(np.int32)
    achromatic = labels <= _GREY
    family = np.where(labels == _WHITE, _GREY, labels).astype(np.int32)
    sub = np.where(achromatic, v // 8, (h // 12) * 2 + (v >= 128))
    return family * _SUB + sub


def _fine_to_palette(lo: float, hi: float) -> np.ndarray:
    """(_FINE, len(PALETTE)) matrix: palette shares of each fine bin (grey/white split by lightness)."""
    m = np.zeros((_FINE, len(PALETTE)))
    for family in range(len(PALETTE)):
        rows = slice(family * _SUB, (family + 1) * _SUB)
        if family == _GREY:
            white = np.clip((np.arange(_SUB) * 8 + 4 - lo) / (hi - lo), 0.0, 1.0)
            m[rows, _WHITE] = white
            m[rows, _GREY] = 1.0 - white
        else:
            m[rows, family] = 1.0
    return m


_TO_PALETTE = _fine_to_palette(*WHITE_BAND)


def unmix(region: np.ndarray, background: np.ndarray, max_background: float = 0.5) -> np.ndarray:
    """Remove the largest share of `background` colours that `region` can contain (both histograms)."""
    if background.sum() == 0 or region.sum() == 0:
        return region
    present = background > 0.05
    alpha = min(max_background, 0.8 * float(np.min(region[present] / background[present])))
    obj = np.clip(region - alpha * background, 0, None)
    total = obj.sum()
    return obj / total if total > 0 else region


def _shares(hist: np.ndarray) -> dict[str, float]:
    return {PALETTE[i]: round(float(v), 3) for i, v in enumerate(hist) if v >= 0.02}


def describe_colors(image: np.ndarray, box, is_person: bool) -> Colors:
    """Colour shares of the object in `box` (x1, y1, x2, y2 in pixels) of a BGR `image`."""
    import cv2

    H, W = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    if bw < 2 or bh < 2:
        return Colors(whole={})
    # Work on a small copy of the box plus a ring around it.
    mx, my = 0.25 * bw, 0.25 * bh
    ex1, ey1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
    ex2, ey2 = int(min(W, x2 + mx)), int(min(H, y2 + my))
    patch = image[ey1:ey2, ex1:ex2]
    patch = sample(patch, 96)
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    labels = classify_pixels(hsv)
    fine = _fine_bins(hsv, labels)
    # Box coordinates inside the patch.
    sx = patch.shape[1] / max(1, ex2 - ex1)
    sy = patch.shape[0] / max(1, ey2 - ey1)
    bx1, by1, bx2, by2 = (x1 - ex1) * sx, (y1 - ey1) * sy, (x2 - ex1) * sx, (y2 - ey1) * sy
    ring = np.ones(labels.shape, bool)
    ring[int(by1):int(np.ceil(by2)), int(bx1):int(np.ceil(bx2))] = False
    background = _hist(fine[ring], _FINE) if ring.sum() >= 8 else np.zeros(_FINE)

    def part(fx1, fy1, fx2, fy2) -> np.ndarray:
        px1 = int(bx1 + fx1 * (bx2 - bx1))
        px2 = max(px1 + 1, int(bx1 + fx2 * (bx2 - bx1)))
        py1 = int(by1 + fy1 * (by2 - by1))
        py2 = max(py1 + 1, int(by1 + fy2 * (by2 - by1)))
        return unmix(_hist(fine[py1:py2, px1:px2], _FINE), background) @ _TO_PALETTE

    if is_person:
        upper = part(0.25, 0.18, 0.75, 0.50)
        lower = part(0.28, 0.52, 0.72, 0.88)
        return Colors(whole=_shares(0.6 * upper + 0.4 * lower), upper=_shares(upper), lower=_shares(lower))
    return Colors(whole=_shares(part(0.15, 0.12, 0.85, 0.82)))
