"""Colour naming on synthetic images: the pixel model, background and white balance, body parts."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.colors import (PALETTE, Colors, body_masks, describe_colors, is_monochrome, term_probabilities,
                             white_balance)

ASPHALT = (110, 110, 110)  # BGR, mid grey
DARK_ROAD = (40, 40, 40)


@pytest.mark.parametrize("bgr, name", [
    ((0, 0, 220), "red"),
    ((20, 20, 150), "red"),  # dark red stays red
    ((0, 120, 255), "orange"),
    ((0, 230, 240), "yellow"),
    ((60, 160, 190), "yellow"),  # yellow paint in shade (brown before chroma was boosted up to 60)
    ((120, 160, 180), "brown"),  # khaki: as pale a yellow hue stays brown
    ((40, 180, 30), "green"),
    ((200, 80, 20), "blue"),
    ((120, 60, 30), "blue"),  # navy
    ((160, 40, 110), "purple"),
    ((180, 120, 255), "pink"),
    ((30, 60, 110), "brown"),
    ((245, 245, 245), "white"),
    ((200, 205, 210), "white"),
    ((128, 128, 128), "grey"),
    ((25, 25, 25), "black"),
    ((22, 18, 14), "black"),  # too dark for its hue to count
])
def test_pixel_names(bgr, name):
    p = term_probabilities(np.array([bgr], np.uint8))[0]
    assert PALETTE[int(np.argmax(p))] == name, dict(zip(PALETTE, p.round(2)))
    assert abs(float(p.sum()) - 1.0) < 0.02


def test_dim_pixels_need_more_chroma_to_count_as_coloured():
    """A dark, slightly bluish pixel (CCTV black trousers) is black; the same hue brighter is blue."""
    dark, bright = term_probabilities(np.array([(48, 38, 34), (150, 110, 90)], np.uint8))
    assert PALETTE[int(np.argmax(dark))] == "black"
    assert PALETTE[int(np.argmax(bright))] == "blue"


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


def test_the_scene_background_is_left_out_of_a_loose_box():
    """A small red object inside a loose box on grey: grey is most of the box, but the scene's
    background (the same picture without the object) shows grey is road, so red is named."""
    background = canvas((300, 300), ASPHALT)
    img = background.copy()
    img[125:175, 125:175] = (0, 0, 200)
    box = (100, 100, 200, 200)
    assert top(describe_colors(img, box, is_person=False)) == "grey"  # without the background
    c = describe_colors(img, box, is_person=False, background=background)
    assert c.names()[0] == "red" and c.whole["red"] > 0.8 and "grey" not in c.whole, c


def test_an_object_that_stands_still_keeps_its_colour():
    """Parked in the background itself: too few pixels differ from it, so all of the box counts."""
    img = canvas((300, 300), ASPHALT)
    img[100:200, 100:200] = (200, 80, 20)
    c = describe_colors(img, (100, 100, 200, 200), is_person=False, background=img.copy())
    assert top(c) == "blue"


def test_white_balance_takes_out_the_light():
    """A grey street under orange sodium light: the scene's grey-world gains make a grey object grey,
    where without them it is named orange or brown."""
    cast = np.float32([0.72, 0.9, 1.2])  # B, G, R
    street = np.clip(canvas((200, 300), (120, 120, 120)) * cast, 0, 255).astype(np.uint8)
    gains = white_balance(street)
    assert gains[0] > 1.2 and gains[2] < 0.9
    obj = street.copy()
    obj[50:150, 100:200] = np.clip(np.float32([150, 150, 150]) * cast, 0, 255)
    box = (100, 50, 200, 150)
    assert top(describe_colors(obj, box, is_person=False)) in ("orange", "brown", "yellow")
    assert top(describe_colors(obj, box, is_person=False, gains=gains)) == "grey"


def test_infrared_pictures_get_no_colours():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (120, 160), np.uint8)
    ir = np.repeat(grey[..., None], 3, axis=2)
    assert is_monochrome(ir)
    assert not is_monochrome(canvas((50, 50), (0, 0, 200)))
    c = describe_colors(ir, (20, 20, 100, 110), is_person=True, monochrome=True)
    assert c.names("upper") == [] and c.names() == []


def test_person_upper_and_lower_colours_from_box_proportions():
    img = canvas((400, 300), ASPHALT)
    img[80:100, 135:165] = (150, 170, 200)  # face
    img[100:180, 120:180] = (240, 240, 240)  # white shirt
    img[180:300, 125:175] = (20, 20, 20)  # black trousers
    c = describe_colors(img, (110, 80, 190, 300), is_person=True)
    assert top(c, "upper") == "white" and c.upper["white"] > 0.7
    assert top(c, "lower") == "black" and c.lower["black"] > 0.7
    assert set(c.names()) == {"white", "black"}
    assert Colors.from_dict(c.to_dict()) == c


def person_with_keypoints():
    """A person whose torso is not where box proportions expect it (a long coat, arms out): a red torso,
    green legs, a blue helmet; a grey scene between the legs."""
    img = canvas((400, 300), ASPHALT)
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.9
    kp[0:5, :2] = [(150, 60), (145, 55), (155, 55), (140, 58), (160, 58)]  # nose, eyes, ears
    kp[5:7, :2] = [(125, 90), (175, 90)]  # shoulders
    kp[7:11, :2] = [(115, 130), (185, 130), (110, 170), (190, 170)]  # elbows, wrists
    kp[11:13, :2] = [(135, 200), (165, 200)]  # hips
    kp[13:15, :2] = [(130, 280), (170, 280)]  # knees
    kp[15:17, :2] = [(128, 360), (172, 360)]  # ankles
    img[30:75, 130:170] = (200, 80, 20)  # blue helmet
    img[88:205, 120:180] = (0, 0, 210)  # red top
    for x in (130, 170):
        img[200:365, x - 8:x + 8] = (40, 170, 40)  # green legs
    return img, kp


def test_keypoints_put_top_and_bottom_on_the_body():
    img, kp = person_with_keypoints()
    box = (100, 30, 200, 370)
    c = describe_colors(img, box, is_person=True, keypoints=kp)
    assert top(c, "upper") == "red" and c.upper["red"] > 0.8, c
    assert top(c, "lower") == "green" and c.lower["green"] > 0.7, c  # bands along the legs, not the road between
    assert top(c, "head") == "blue", c
    boxed = describe_colors(img, box, is_person=True)  # proportions: the road between the legs counts
    assert boxed.lower.get("green", 0) < c.lower["green"]


def test_body_masks_need_confident_keypoints():
    _, kp = person_with_keypoints()
    kp[11:13, 2] = 0.1  # hips not seen
    top_mask, bottom_mask, _ = body_masks((400, 300), kp)
    assert top_mask is None and bottom_mask is not None
    assert body_masks((400, 300), None) == (None, None, None)


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


def test_a_white_car_is_named_by_its_body_not_its_windows_and_tyres():
    road = car_scene((100, 100, 100), (100, 100, 100))
    road[110:190, 100:300] = (100, 100, 100)
    c = describe_colors(car_scene((100, 100, 100), (235, 235, 235)), CAR_BOX, is_person=False, background=road)
    assert c.names() == ["white"], c


def test_a_black_car_stays_black():
    c = describe_colors(car_scene((150, 150, 150), (25, 25, 28)), CAR_BOX, is_person=False)
    assert top(c) == "black", c


def test_at_most_three_names_dominant_first():
    img = canvas((100, 400), ASPHALT)
    for k, bgr in enumerate([(200, 80, 20), (40, 180, 30), (0, 230, 240), (180, 120, 255)]):
        img[:, 100 * k:100 * (k + 1)] = bgr
    img[:, 120:280] = (0, 0, 200)  # red the largest
    c = describe_colors(img, (0, 0, 400, 100), is_person=False)
    assert len(c.names(min_share=0.0)) <= 3 and c.names()[0] == "red"


def test_degenerate_box():
    img = canvas((100, 100), DARK_ROAD)
    assert describe_colors(img, (10, 10, 11, 50), is_person=False).whole == {}


def test_the_shipped_colour_name_table_is_the_survey_table():
    """forensic/data/xkcd_terms.npz is build_lut() as shipped (rebuild: python -m forensic.colornames)."""
    from forensic.colornames import TABLE, build_lut

    with np.load(TABLE) as f:
        shipped = f["p"].astype(np.float32) / 255.0
    assert np.abs(shipped - build_lut()).max() <= 1 / 255 + 1e-6
