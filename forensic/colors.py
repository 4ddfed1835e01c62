"""Name the colours of a detected object: the 11 basic colour terms, with a share each.

Which pixels: the object's own, not its box.
- People: the top from the torso (between shoulders and hips) and the bottom from bands along the
  legs (hip-knee-ankle) when pose keypoints are given (`forensic.models.pose`, run on a track's best
  views); otherwise fixed body proportions of the box.
- Fixed cameras: pixels that match the scene's background (`forensic.index.scene`: the road, kerb
  and walls seen without moving objects) are left out, unless too few are left (an object that
  stands still is part of its own background).
- Vehicles: the body panels: the box's middle, without the pixels much darker than the body
  (windows, tyres and the shadow under it), unless the body itself is dark.

What name: each pixel, after the camera's white balance is taken out (`gains`), is chromatic or
achromatic by its CIELAB chroma (dim pixels need more chroma to count: their hue is mostly noise);
an achromatic pixel is black, grey or white by its lightness; a chromatic one gets the 8 chromatic
terms with the probabilities of the XKCD colour survey (`forensic.colornames`). A part's shares are
the mean of its pixels' probabilities; at most MAX_NAMES names are reported, the dominant first.
A monochrome picture (infrared night) gets no colours at all rather than wrong ones.

The 6 numbers in CALIBRATION were set on `peta-dev` (third-party labelled pedestrian crops, research
only: used to measure and calibrate, nothing of it is shipped) and checked leave-one-subset-out:
bench/colours.py and docs/benchmarks.md ("Colour naming") give the figures and the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensic.colornames import name_pixels
from forensic.images import sample
from forensic.query.vocabulary import PALETTE

MIN_REPORTED = 0.10  # colours below this share are not listed for display
MAX_NAMES = 3  # colours listed per part, the dominant first

# Pixel naming, in CIELAB (L 0..100, chroma as sqrt(a*a + b*b)).
CALIBRATION = {
    "chroma": 10.0,  # a pixel with more chroma than this is chromatic ...
    "chroma_dark": 8.0,  # ... plus up to this much more as lightness falls from 40 to 0
    "chroma_soft": 2.0,  # width of the chromatic/achromatic boundary
    "black_l": 34.0,  # achromatic: black below this lightness ...
    "white_l": 60.0,  # ... white above this one, grey between (soft, 4 L units wide)
    "hue_boost": 2.0,  # chroma is multiplied by this before a chromatic pixel's hue is named (`_saturated`) ...
    "hue_full": 60.0,  # ... up to this chroma: stronger colours keep theirs
    "mono_chroma": 3.0,  # a picture whose 99th-percentile chroma is below this is monochrome
}
FOREGROUND_DIFF = 28  # a pixel differs from the background by more than this (max over B, G, R): it is the object's
MIN_FOREGROUND = 0.2  # fewer foreground pixels than this share of the region: use them all
PATCH = 64  # longest side the box is sampled to for colour statistics

_CHROMATIC = np.array([t not in ("black", "white", "grey") for t in PALETTE])
_BLACK, _WHITE, _GREY = PALETTE.index("black"), PALETTE.index("white"), PALETTE.index("grey")


@dataclass(frozen=True)
class Colors:
    """Colour shares (0..1, summing to about 1) for the whole object and, for people, body parts."""

    whole: dict[str, float]
    upper: dict[str, float] | None = None
    lower: dict[str, float] | None = None
    head: dict[str, float] | None = None  # a person's head: hair, or the helmet of a rider

    def names(self, part: str = "whole", min_share: float = MIN_REPORTED) -> list[str]:
        shares = getattr(self, part) or {}
        return [c for c, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= min_share][:MAX_NAMES]

    def to_dict(self) -> dict:
        out = {"whole": self.whole}
        if self.upper is not None:
            out["upper"] = self.upper
            out["lower"] = self.lower
        if self.head is not None:
            out["head"] = self.head
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Colors":
        return cls(whole=d.get("whole", {}), upper=d.get("upper"), lower=d.get("lower"), head=d.get("head"))


NO_COLOURS_PERSON = Colors(whole={}, upper={}, lower={}, head={})
NO_COLOURS = Colors(whole={})


def _lab(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lightness (0..100) and chroma of BGR uint8 pixels (n, 3)."""
    import cv2

    lab = cv2.cvtColor(np.ascontiguousarray(bgr.reshape(-1, 1, 3)), cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    return lab[:, 0] * (100 / 255), np.hypot(lab[:, 1] - 128, lab[:, 2] - 128)


def term_probabilities(bgr: np.ndarray, calibration: dict | None = None) -> np.ndarray:
    """(n, 11) probabilities of the palette terms for BGR uint8 pixels (n, 3): one look-up in the
    model's table (`model_table`, 64 levels per channel)."""
    px = np.asarray(bgr, np.uint8).reshape(-1, 3) >> (8 - _BITS)
    return model_table(calibration)[px[:, 0], px[:, 1], px[:, 2]].astype(np.float32)


_BITS = 6
_TABLES: dict[tuple, np.ndarray] = {}


def model_table(calibration: dict | None = None) -> np.ndarray:
    """(64, 64, 64, 11) float16 term probabilities indexed by B, G, R >> 2 (cell centres), built once per calibration."""
    c = calibration or CALIBRATION
    key = tuple(sorted(c.items()))
    if key not in _TABLES:
        levels = (np.arange(1 << _BITS) << (8 - _BITS)) + (1 << (7 - _BITS))
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3).astype(np.uint8)  # b, g, r
        _TABLES[key] = _probabilities(grid, c).astype(np.float16).reshape(1 << _BITS, 1 << _BITS, 1 << _BITS, len(PALETTE))
    return _TABLES[key]


def _saturated(px: np.ndarray, boost: float, full: float) -> np.ndarray:
    """The pixels with their CIELAB chroma multiplied by up to `boost` (not beyond a chroma of `full`): cameras (and compression) wash colours
    out, so a chromatic pixel's hue is named as its colour would look at full strength (a washed-out
    red panel is red, where the survey would call the pale colour itself mauve or taupe)."""
    import cv2

    if boost == 1.0:
        return px
    lab = cv2.cvtColor(np.ascontiguousarray(px.reshape(-1, 1, 3)), cv2.COLOR_BGR2LAB).astype(np.float32)
    ab = lab[..., 1:] - 128
    chroma = np.hypot(ab[..., 0], ab[..., 1])[..., None]
    factor = np.clip(full / np.maximum(chroma, 1e-3), 1.0, boost)  # up to chroma `full`: strong colours keep theirs
    lab[..., 1:] = np.clip(128 + factor * ab, 0, 255)
    return cv2.cvtColor(lab.astype(np.uint8), cv2.COLOR_LAB2BGR).reshape(-1, 3)


def _probabilities(px: np.ndarray, c: dict) -> np.ndarray:
    out = np.zeros((len(px), len(PALETTE)), np.float32)
    light, chroma = _lab(px)
    threshold = c["chroma"] + c["chroma_dark"] * np.clip((40.0 - light) / 40.0, 0.0, 1.0)
    chromatic = 1.0 / (1.0 + np.exp(-(chroma - threshold) / c["chroma_soft"]))
    black = 1.0 / (1.0 + np.exp((light - c["black_l"]) / 4.0))
    white = 1.0 / (1.0 + np.exp(-(light - c["white_l"]) / 4.0))
    achromatic = 1.0 - chromatic
    out[:, _BLACK] = achromatic * black
    out[:, _WHITE] = achromatic * white
    out[:, _GREY] = achromatic * np.clip(1.0 - black - white, 0.0, 1.0)
    hue = name_pixels(_saturated(px, c["hue_boost"], c["hue_full"]))[:, _CHROMATIC]
    hue /= np.maximum(hue.sum(1, keepdims=True), 1e-6)
    out[:, _CHROMATIC] = chromatic[:, None] * hue
    return out


def is_monochrome(image: np.ndarray, calibration: dict | None = None) -> bool:
    """Whether a picture has no colour to name (an infrared night camera, a black-and-white recorder)."""
    c = calibration or CALIBRATION
    px = sample(image, 64).reshape(-1, 3)
    if not len(px):
        return True
    return float(np.percentile(_lab(px)[1], 99)) < c["mono_chroma"]


def white_balance(scene: np.ndarray, limit: float = 1.35) -> np.ndarray:
    """Per-channel gains (B, G, R) that make a scene's greyest pixels grey, limited to 1/limit..limit.

    Grey pixels, not the whole scene's mean (grey world): the least chromatic 40 % of a street scene's
    lit pixels are road, pavement and walls, whose colour is the light's; grass or a green wall in
    view would tint a grey-world balance (purple white vans on a campus lawn)."""
    px = sample(scene, 96).reshape(-1, 3)
    lit = px[(px.max(1) > 20) & (px.max(1) < 250)]  # leave out black and clipped pixels
    if len(lit) < 16:
        return np.ones(3, np.float32)
    _, chroma = _lab(lit)
    grey = lit[chroma <= np.percentile(chroma, 40)].astype(np.float64)
    mean = grey.mean(0)
    return np.clip(mean.mean() / np.maximum(mean, 1e-3), 1 / limit, limit).astype(np.float32)


def _shares(probabilities: np.ndarray) -> dict[str, float]:
    if not len(probabilities):
        return {}
    mean = probabilities.mean(0)
    return {PALETTE[i]: round(float(v), 3) for i, v in enumerate(mean) if v >= 0.02}


def _band(mask: np.ndarray, p, q, radius: float) -> None:
    import cv2

    cv2.line(mask, (int(round(p[0])), int(round(p[1]))), (int(round(q[0])), int(round(q[1]))), 1, max(1, int(round(2 * radius))))


KEYPOINT_CONF = 0.3
_SHOULDERS, _HIPS = (5, 6), (11, 12)
_LEGS = ((11, 13, 15), (12, 14, 16))  # hip, knee, ankle


def body_masks(shape: tuple[int, int], keypoints: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """(top, bottom, head) boolean masks of a person from COCO keypoints (17, 3: x, y, confidence) in
    the pixels of an image of `shape`; None for a part whose keypoints are not confident."""
    import cv2

    if keypoints is None or len(keypoints) < 17:
        return None, None, None
    kp = np.asarray(keypoints, np.float32)
    ok = kp[:, 2] >= KEYPOINT_CONF
    top = bottom = None
    if ok[list(_SHOULDERS + _HIPS)].all():
        quad = kp[[5, 6, 12, 11], :2]
        centre = quad.mean(0)
        quad = centre + 0.8 * (quad - centre)  # in from the arms and the background beside them
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [np.round(quad).astype(np.int32)], 1)
        top = m.astype(bool)
    hip_width = float(np.linalg.norm(kp[11, :2] - kp[12, :2])) if ok[list(_HIPS)].all() else 0.0
    radius = max(1.0, 0.22 * hip_width if hip_width else 0.04 * shape[0])
    m = np.zeros(shape, np.uint8)
    for hip, knee, ankle in _LEGS:
        if ok[hip] and ok[knee]:
            _band(m, kp[hip], kp[knee], radius)
        if ok[knee] and ok[ankle]:
            _band(m, kp[knee], kp[ankle], 0.8 * radius)
    if m.any():
        bottom = m.astype(bool)
    head = None
    face = kp[:5][ok[:5]]  # nose, eyes, ears
    if len(face) and ok[list(_SHOULDERS)].all():
        shoulders = float(np.linalg.norm(kp[5, :2] - kp[6, :2]))
        centre = face[:, :2].mean(0) - np.float32([0, 0.15 * shoulders])  # a helmet sits above the eyes
        m = np.zeros(shape, np.uint8)
        cv2.circle(m, (int(round(centre[0])), int(round(centre[1]))), max(1, int(round(0.3 * shoulders))), 1, -1)
        head = m.astype(bool) if m.any() else None
    return top, bottom, head


# Fixed proportions of a person's box (x0, x1, y0, y1) when keypoints are missing.
_TOP = (0.25, 0.75, 0.20, 0.45)
_BOTTOM = (0.30, 0.70, 0.58, 0.85)
_HEAD = (0.35, 0.65, 0.0, 0.12)
_BODY = (0.10, 0.90, 0.15, 0.85)  # a vehicle's body
_TWO_WHEELER = (0.10, 0.90, 0.40, 0.95)  # a motorbike's or bicycle's: below its rider's torso
# A vehicle's paint is its colour: chromatic pixels weigh this much more than black, grey and white
# ones (glass, tyres, shadow); a two-wheeler's box is mostly its rider, wheels and shadow, its paint a
# small part of it.
SALIENCE = {"motorcycle": 4.0, "bicycle": 4.0}
SALIENCE_DEFAULT = 2.5


def _rect(shape, frac) -> np.ndarray:
    h, w = shape
    m = np.zeros(shape, bool)
    x0, x1, y0, y1 = frac
    m[int(y0 * h):max(int(y0 * h) + 1, int(y1 * h)), int(x0 * w):max(int(x0 * w) + 1, int(x1 * w))] = True
    return m


def _pick(pixels: np.ndarray, foreground: np.ndarray | None) -> np.ndarray:
    if foreground is not None and foreground.sum() >= MIN_FOREGROUND * len(pixels):
        return pixels[foreground]
    return pixels


def _body_panels(pixels: np.ndarray) -> np.ndarray:
    """A vehicle's pixels without windows, tyres and shadow: those much darker than the body, unless the body is dark."""
    if len(pixels) < 16:
        return pixels
    light, _ = _lab(pixels)
    median = float(np.median(light))
    if median < 40:
        return pixels
    keep = light >= median - 25
    return pixels[keep] if keep.sum() >= 8 else pixels


def describe_colors(image: np.ndarray, box, is_person: bool | str, keypoints: np.ndarray | None = None,
                    background: np.ndarray | None = None, gains: np.ndarray | None = None,
                    monochrome: bool = False) -> Colors:
    """Colour shares of the object in `box` (x1, y1, x2, y2 in pixels) of a BGR `image`.

    `is_person`: True for a person, or the object's class name ("person", "car", "motorcycle", ...).
    `keypoints`: the person's COCO keypoints (17, 3) in `image` pixels; `background`: the scene
    without moving objects, same size as `image` (or None); `gains`: the camera's white balance
    (B, G, R multipliers, `white_balance`); `monochrome`: the picture has no colour (infrared)."""
    cls = is_person if isinstance(is_person, str) else ("person" if is_person else "vehicle")
    is_person = cls == "person"
    if monochrome:
        return NO_COLOURS_PERSON if is_person else NO_COLOURS
    H, W = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    if not np.isfinite([x1, y1, x2, y2]).all():
        return NO_COLOURS_PERSON if is_person else NO_COLOURS
    x1, y1, x2, y2 = max(0, int(x1)), max(0, int(y1)), min(W, int(np.ceil(x2))), min(H, int(np.ceil(y2)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return NO_COLOURS_PERSON if is_person else NO_COLOURS
    step = max(1, -(-max(x2 - x1, y2 - y1) // PATCH))
    patch = image[y1:y2:step, x1:x2:step]
    shape = patch.shape[:2]
    foreground = None
    if background is not None and background.shape[:2] == image.shape[:2]:
        diff = np.abs(patch.astype(np.int16) - background[y1:y2:step, x1:x2:step].astype(np.int16)).max(-1)
        foreground = diff > FOREGROUND_DIFF
    if gains is not None:
        patch = np.clip(patch * np.asarray(gains, np.float32), 0, 255).astype(np.uint8)

    def part(mask: np.ndarray) -> dict[str, float]:
        pixels = patch[mask]
        return _shares(term_probabilities(_pick(pixels, None if foreground is None else foreground[mask])))

    if is_person:
        top = bottom = head = None
        if keypoints is not None:
            kp = np.asarray(keypoints, np.float32).copy()
            kp[:, 0] = (kp[:, 0] - x1) / step
            kp[:, 1] = (kp[:, 1] - y1) / step
            top, bottom, head = body_masks(shape, kp)
        top = top if top is not None and top.sum() >= 6 else _rect(shape, _TOP)
        bottom = bottom if bottom is not None and bottom.sum() >= 6 else _rect(shape, _BOTTOM)
        head = head if head is not None and head.sum() >= 4 else _rect(shape, _HEAD)
        upper, lower = part(top), part(bottom)
        whole = {}
        for shares, weight in ((upper, 0.6), (lower, 0.4)):
            for name, v in shares.items():
                whole[name] = round(whole.get(name, 0.0) + weight * v, 3)
        return Colors(whole={k: v for k, v in whole.items() if v >= 0.02}, upper=upper, lower=lower, head=part(head))
    body = _rect(shape, _TWO_WHEELER if cls in ("motorcycle", "bicycle") else _BODY)
    pixels = _pick(patch[body], None if foreground is None else foreground[body])
    p = term_probabilities(_body_panels(pixels))
    p[:, _CHROMATIC] *= SALIENCE.get(cls, SALIENCE_DEFAULT)
    p /= np.maximum(p.sum(1, keepdims=True), 1e-6)
    return Colors(whole=_shares(p))
