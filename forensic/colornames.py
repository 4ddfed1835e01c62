"""Pixel colour names from the XKCD colour survey: 11 basic colour terms with a probability each.

Source: Randall Munroe's XKCD colour survey (2010; about 5 million names typed by 222,500 people for
random RGB colours), whose 949 most agreed names and their mean sRGB are published in the public
domain (CC0) and ship with matplotlib (`matplotlib._color_data.XKCD_COLORS`). Each survey name is
mapped to one of the 11 basic colour terms of Berlin and Kay (black, white, grey, red, orange,
yellow, green, blue, purple, pink, brown): by its last basic word ("bluish green" is green, "dark
navy blue" is blue), or by the table `_HEADS` for names that contain none ("maroon" is red, "beige"
is brown); names that straddle two terms ("teal", "grey/green") are left out. A pixel's probabilities
are a Gaussian-weighted vote of its nearest survey colours in CIELAB, precomputed once into a
32x32x32 RGB lookup table (built on first use, a fraction of a second).

The survey named colours on monitors. Footage needs the camera's light taken out first: see
`forensic.colors` (white balance, lightness scale, chroma threshold for dim pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TERMS = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
_BASIC = {"black": "black", "white": "white", "grey": "grey", "gray": "grey", "red": "red", "orange": "orange",
          "yellow": "yellow", "green": "green", "blue": "blue", "purple": "purple", "pink": "pink", "brown": "brown"}
# Survey names without a basic word, by the basic term an English speaker would file them under.
_HEADS = {
    "red": "maroon burgundy wine crimson scarlet cherry brick claret ruby bordeaux blood carmine cranberry vermillion "
           "tomato lipstick rouge strawberry merlot",
    "brown": "beige tan khaki taupe camel sand sandy coffee chocolate mocha sienna umber sepia chestnut cocoa "
             "mahogany leather earth mud dirt clay fawn buff toupe ecru bronze copper caramel cinnamon russet auburn "
             "milk chocolate",
    "purple": "lavender lilac violet plum mauve indigo eggplant aubergine grape amethyst orchid heliotrope wisteria "
              "liliac lavendar iris",
    "pink": "magenta fuchsia rose salmon blush bubblegum carnation cerise raspberry watermelon",
    "yellow": "gold golden mustard lemon butter canary maize dandelion sunflower banana custard straw goldenrod",
    "green": "olive lime sage moss mint emerald jade forest pine grass leaf fern avocado pistachio celery pea "
             "shamrock kiwi spearmint wintergreen evergreen seaweed algae swamp camo asparagus chartreuse",
    "white": "cream ivory eggshell creme parchment",
    "grey": "charcoal gunmetal slate steel silver cement stone putty",
    "orange": "tangerine pumpkin peach apricot mango squash melon butterscotch ochre ocher ocre amber marigold",
    "blue": "navy cobalt azure cerulean denim sapphire ultramarine periwinkle cornflower sky ocean azul royal "
            "darkblue lightblue midnight marine blueberry",
}
_HEAD_OF = {w: term for term, words in _HEADS.items() for w in words.split()}
LUT_BITS = 5  # 32 levels per RGB channel


def _xkcd() -> dict[str, str]:
    """matplotlib's copy of the survey's colours, read without importing matplotlib itself (slow)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (installed with ultralytics) is needed for the XKCD colour survey table")
    path = next(iter(spec.submodule_search_locations)) + "/_color_data.py"
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_forensic_xkcd", path))
    module.__spec__.loader.exec_module(module)
    return module.XKCD_COLORS


def survey_colours() -> tuple[np.ndarray, np.ndarray]:
    """(sRGB uint8 (n, 3), term index (n,)) of the survey colours that name one basic term."""
    rgb, term = [], []
    for key, hexcode in _xkcd().items():
        name = key.split(":", 1)[1]
        if "/" in name:
            continue
        words = name.replace("-", " ").split()
        basic = [_BASIC[w] for w in words if w in _BASIC]
        head = basic[-1] if basic else _HEAD_OF.get(words[-1]) if words else None
        if head is None:
            continue
        rgb.append([int(hexcode[i:i + 2], 16) for i in (1, 3, 5)])
        term.append(TERMS.index(head))
    # The survey's pure anchors: its "black" is #000000 and its "white" #ffffff; a screen's darkest
    # and lightest greys in between are named by the survey's grey family above.
    return np.array(rgb, np.uint8), np.array(term, np.int64)


def _lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    bgr = np.ascontiguousarray(rgb[..., ::-1].reshape(-1, 1, 3).astype(np.uint8))
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    return lab * np.float32([100 / 255, 1, 1]) - np.float32([0, 128, 128])


def build_lut(sigma: float = 9.0, k: int = 12) -> np.ndarray:
    """(32, 32, 32, 11) float32 probabilities of each term for each RGB cell (cell centres)."""
    rgb, term = survey_colours()
    ref = _lab(rgb)
    step = 256 >> LUT_BITS
    levels = np.arange(step // 2, 256, step, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)  # r, g, b
    lab = _lab(grid)
    out = np.zeros((len(grid), len(TERMS)), np.float32)
    for start in range(0, len(grid), 4096):
        q = lab[start:start + 4096]
        d2 = np.maximum((q * q).sum(1)[:, None] + (ref * ref).sum(1)[None] - 2.0 * q @ ref.T, 0.0)
        near = np.argpartition(d2, k, axis=1)[:, :k]
        w = np.exp(-np.take_along_axis(d2, near, 1) / (2 * sigma ** 2)) + 1e-6
        cells = (np.arange(len(q))[:, None] * len(TERMS) + term[near]).ravel()
        out[start:start + len(q)] += np.bincount(cells, w.ravel(), len(q) * len(TERMS)).reshape(len(q), len(TERMS))
    out /= out.sum(1, keepdims=True)
    return out.reshape(32, 32, 32, len(TERMS))


TABLE = Path(__file__).parent / "data" / "xkcd_terms.npz"  # build_lut() as shipped: `python -m forensic.colornames`
_LUT: np.ndarray | None = None


def lut() -> np.ndarray:
    """The table: read from TABLE (a few milliseconds), or built (about a second) when it is missing."""
    global _LUT
    if _LUT is None:
        try:
            with np.load(TABLE) as f:
                _LUT = f["p"].astype(np.float32) / 255.0
        except (OSError, KeyError, ValueError):
            _LUT = build_lut()
    return _LUT


def write_table(path: Path = TABLE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, p=np.round(build_lut() * 255).astype(np.uint8))


if __name__ == "__main__":
    write_table()
    print(f"wrote {TABLE}")


def name_pixels(bgr: np.ndarray) -> np.ndarray:
    """(..., 11) term probabilities of BGR uint8 pixels."""
    px = np.asarray(bgr, np.uint8) >> (8 - LUT_BITS)
    return lut()[px[..., 2], px[..., 1], px[..., 0]]
