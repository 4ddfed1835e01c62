"""Colour naming on synthetic images: palette per pixel, background removal, body parts."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.colors import PALETTE, Colors, classify_pixels, describe_colors, unmix

ASPHALT = (110, 110, 110)  # BGR, mid grey
DARK_ROAD = (40, 40, 40)


def hsv_of(bgr) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.array([[bgr]], np.uint8), cv2.COLOR_BGR2HSV)


@pytest.mark.parametrize("bgr, name", [
    ((0, 0, 220), "red"),
    ((20, 20, 150), "red"),  # dark red stays red
    ((0, 120, 255), "orange"),
    ((0, 230, 240), "yellow"),
    ((40, 180, 30), "green"),
    ((200, 80, 20), "blue"),
    ((120, 60, 30), "blue"),  # navy
    ((200, 40, 160), "purple"),
    ((30, 60, 110), "brown"),
    ((245, 245, 245), "white"),
    ((200, 205, 210), "white"),
    ((128, 128, 128), "grey"),
    ((25, 25, 25), "black"),
    ((45, 8, 8), "black"),  # too dark for its hue to count
])
def test_classify_pixels(bgr, name):
    assert PALETTE[int(classify_pixels(hsv_of(bgr))[0, 0])] == name


def canvas(shape, bgr) -> np.ndarray:
    return np.full((*shape, 3), bgr, np.uint8)


def top(colors: Colors, part: str = "whole") -> str:
    return colors.names(part)[0]


def test_red_box_on_grey_asphalt_is_red():
    img = canvas((300, 300), ASPHALT)
    img[110:190, 110:190] = (0, 0, 200)
    c = describe_colors(img, (105, 105, 195, 195), is_person=False)
    assert top(c) == "red" and c.whole["red"] > 0.8
    assert abs(sum(c.whole.values()) - 1.0) < 0.03


def test_white_car_on_dark_road_is_white():
    img = canvas((300, 400), DARK_ROAD)
    img[110:190, 100:300] = (235, 235, 235)  # body
    img[170:190, 120:150] = img[170:190, 250:280] = (10, 10, 10)  # wheels
    c = describe_colors(img, (95, 105, 305, 195), is_person=False)
    assert top(c) == "white" and c.whole["white"] > 0.8
    assert "black" not in c.names()  # the dark road around the car is removed as background


def test_background_ring_is_removed_from_a_loose_box():
    """A small red object inside a loose box on grey: grey is most of the box centre, yet the
    ring just outside the box shows grey is background, so the object is named red."""
    import cv2

    img = canvas((300, 300), ASPHALT)
    img[128:172, 128:172] = (0, 0, 200)
    box = (100, 100, 200, 200)
    # Without background removal grey would win: check the raw share in the centre region used.
    labels = classify_pixels(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
    centre = labels[112:182, 115:185]
    assert (centre == PALETTE.index("red")).mean() < 0.45 < (centre == PALETTE.index("grey")).mean()
    c = describe_colors(img, box, is_person=False)
    assert top(c) == "red", c


@pytest.mark.parametrize("obj, background, name", [
    ((200, 80, 20), (0, 230, 240), "blue"),  # blue object on yellow
    ((245, 245, 245), (40, 180, 30), "white"),  # white object on grass
    ((20, 20, 20), (200, 205, 210), "black"),  # black object on light concrete
])
def test_background_removal_for_other_colours(obj, background, name):
    img = canvas((300, 300), background)
    img[127:173, 127:173] = obj
    assert top(describe_colors(img, (100, 100, 200, 200), is_person=False)) == name


def test_an_object_of_the_background_colour_keeps_its_colour():
    """A grey car on grey asphalt: unmixing never removes more than half, so grey remains."""
    img = canvas((300, 300), ASPHALT)
    c = describe_colors(img, (100, 100, 200, 200), is_person=False)
    assert c.names() == ["grey"]


def test_person_upper_and_lower_colours():
    img = canvas((400, 300), ASPHALT)
    img[80:100, 135:165] = (150, 170, 200)  # face
    img[100:180, 120:180] = (240, 240, 240)  # white shirt
    img[180:300, 125:175] = (20, 20, 20)  # black trousers
    c = describe_colors(img, (110, 80, 190, 300), is_person=True)
    assert top(c, "upper") == "white" and c.upper["white"] > 0.7
    assert top(c, "lower") == "black" and c.lower["black"] > 0.7
    assert set(c.names()) == {"white", "black"}
    again = Colors.from_dict(c.to_dict())
    assert again == c


def test_box_at_the_frame_edge_and_degenerate_box():
    img = canvas((100, 100), DARK_ROAD)
    img[0:60, 0:60] = (0, 0, 220)
    assert top(describe_colors(img, (0, 0, 60, 60), is_person=False)) == "red"  # no ring on two sides
    assert describe_colors(img, (10, 10, 11, 50), is_person=False).whole == {}


def test_unmix_subtracts_at_most_half_and_only_what_is_there():
    region = np.zeros(len(PALETTE))
    background = np.zeros(len(PALETTE))
    region[PALETTE.index("red")], region[PALETTE.index("grey")] = 0.3, 0.7
    background[PALETTE.index("grey")] = 1.0
    out = unmix(region, background)
    assert out[PALETTE.index("red")] == pytest.approx(0.3 / 0.5)
    assert out[PALETTE.index("grey")] == pytest.approx(0.2 / 0.5)
    # Background colours absent from the region: nothing can be removed.
    background2 = np.zeros(len(PALETTE))
    background2[PALETTE.index("green")] = 1.0
    np.testing.assert_allclose(unmix(region, background2), region)
    np.testing.assert_allclose(unmix(region, np.zeros(len(PALETTE))), region)


def car_scene(road, body, seed: int = 0) -> np.ndarray:
    """A car seen from behind on a road: body, dark rear window and tyres, a little sensor noise."""
    rng = np.random.default_rng(seed)
    img = np.full((300, 400, 3), road, np.float32)
    img[110:190, 100:300] = body
    img[118:135, 140:260] = (30, 30, 30)  # rear window
    img[175:190, 120:150] = img[175:190, 250:280] = (15, 15, 15)  # tyres
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


CAR_BOX = (95, 105, 305, 195)


def test_a_white_car_on_a_light_road_keeps_its_white():
    """The road (V about 182) is light enough to count partly as white; removing it as background
    must remove road-lit pixels only, not the car's own white (V about 205)."""
    c = describe_colors(car_scene((182, 182, 182), (205, 205, 205)), CAR_BOX, is_person=False)
    assert top(c) == "white" and c.whole["white"] >= 0.65, c  # about 3/4 of the central region is body
    assert c.whole["black"] <= 0.3, c  # window and tyres: about 1/4


def test_a_white_body_in_its_own_shadow_on_a_sunlit_road():
    """Sun behind the car: its white rear (V about 160) is darker than the sunlit road (V 175), as the
    white Tucson of the dev footage. Across the grey/white band it counts more white than grey, while a
    dark grey body on the same road stays grey."""
    shaded = describe_colors(car_scene((175, 175, 175), (160, 160, 162)), CAR_BOX, is_person=False)
    assert shaded.whole.get("white", 0) > shaded.whole.get("grey", 0) and shaded.whole["white"] > 0.3, shaded
    grey = describe_colors(car_scene((175, 175, 175), (100, 100, 100)), CAR_BOX, is_person=False)
    assert grey.whole.get("white", 0) < 0.05 and grey.whole["grey"] > 0.5, grey
