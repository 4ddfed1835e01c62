"""appearance-v2: body-part colour vectors that survive a change of camera, computed the same way for
an indexed detection and for a photo's subject."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.detections import Detections
from forensic.models.appearance import (HIST_DIM, PARTS, STRIPES, AppearanceEmbedder, AppearanceEmbedderV1, body_heights,
                                        descriptor, part_histograms)
from realdata import BLACK_COAT_WOMAN, CAMPUS, RED_NAVY_MAN, RED_TOP_WOMAN, frame_at


class StubDetector:
    name = "stub"
    feature_dim = 8


def figure(height: int = 160, top: tuple = (40, 40, 200), bottom: tuple = (160, 60, 30)) -> np.ndarray:
    """A standing figure on a grey wall: skin head, coloured top (BGR) down to the hips, trousers."""
    image = np.full((height + 40, 100, 3), 120, np.uint8)
    y0 = 20
    image[y0:y0 + int(0.14 * height), 42:58] = (120, 160, 210)
    image[y0 + int(0.14 * height):y0 + height // 2, 32:68] = top
    image[y0 + height // 2:y0 + height, 36:64] = bottom
    return image


def camera(image: np.ndarray, gain=(1.15, 1.0, 0.8), gamma: float = 0.8, offset: float = 12) -> np.ndarray:
    """Another camera's response: per-channel gain (a colour cast), a gamma and lifted blacks."""
    f = 255.0 * (image.astype(np.float32) / 255.0) ** gamma * np.asarray(gain, np.float32) + offset
    return np.clip(f, 0, 255).astype(np.uint8)


def test_descriptor_is_a_unit_vector_of_fixed_size():
    image = figure()
    v = descriptor(image, (30, 20, 70, 180))
    assert v.shape == (HIST_DIM,) and v.dtype == np.float32 and HIST_DIM == STRIPES * sum(n for _, n in PARTS)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5) and (v >= 0).all()
    assert not descriptor(image, (50, 50, 50, 90)).any()  # an empty box: zeros, no error
    assert not descriptor(image, (500, 500, 600, 600)).any()  # outside the image


def test_a_box_gives_the_same_vector_in_its_frame_and_pasted_on_a_canvas():
    """The indexer describes a box of a frame, photo search the same pixels pasted on a grey canvas."""
    frame = figure()
    canvas = np.full((400, 600, 3), 114, np.uint8)
    canvas[100:100 + frame.shape[0], 250:250 + frame.shape[1]] = frame
    np.testing.assert_allclose(descriptor(frame, (30, 20, 70, 180)), descriptor(canvas, (280, 120, 320, 280)), atol=1e-6)


def test_relative_colour_and_brightness_cancel_a_camera_response():
    image = figure()
    box = (30, 20, 70, 180)
    same = part_histograms(image, box)
    other = part_histograms(camera(image), box)
    cosine = np.sum(same * other, axis=1)  # per part: relative colour, absolute colour, brightness
    assert cosine[0] > 0.99 and cosine[2] > 0.99
    assert cosine[1] < cosine[0]  # the colours as seen do change


def test_parts_are_told_apart():
    box = (30, 20, 70, 180)
    red_over_blue = descriptor(figure(), box)
    blue_over_red = descriptor(figure(top=(160, 60, 30), bottom=(40, 40, 200)), box)
    assert float(red_over_blue @ descriptor(camera(figure()), box)) > float(red_over_blue @ blue_over_red) + 0.2


def keypoints_for(y_of: dict[str, float], conf: float = 0.9) -> np.ndarray:
    kp = np.zeros((17, 3), np.float32)
    for name, pair in (("shoulders", (5, 6)), ("hips", (11, 12)), ("knees", (13, 14)), ("ankles", (15, 16))):
        if name in y_of:
            kp[list(pair), 1] = y_of[name]
            kp[list(pair), 2] = conf
    return kp


def test_body_heights_by_proportions_or_keypoints():
    box = (0, 100, 50, 300)
    rows = body_heights(box)
    np.testing.assert_allclose(rows, (np.arange(len(rows)) + 0.5) / len(rows))
    np.testing.assert_allclose(body_heights(box, keypoints_for({"hips": 150}, conf=0.1)), rows)  # unsure keypoints: proportions
    # cut off at the thighs: shoulders a quarter down the box, hips at 80 %
    u = body_heights(box, keypoints_for({"shoulders": 150, "hips": 260}), rows=200)
    assert u[49] == pytest.approx(0.17, abs=0.01) and u[159] == pytest.approx(0.5, abs=0.01)
    assert np.all(np.diff(u) > 0) and u[-1] == pytest.approx(0.5 + 40 / 110 * 0.33, abs=0.01)  # the hip-shoulder scale carries on


def test_keypoints_put_the_stripes_back_on_a_cut_off_person():
    """Seen down to mid-thigh, a person's box is mostly torso: by proportions the leg stripes get the
    top's colour; pose keypoints put the head, torso and thigh stripes where they belong."""
    whole = figure()
    cut = (30, 20, 70, 120)
    n = PARTS[1][1]  # absolute colour, per stripe

    def stripes(*args) -> np.ndarray:
        return part_histograms(*args)[1, :STRIPES * n].reshape(STRIPES, n)

    reference = stripes(whole, (30, 20, 70, 180))
    by_proportions = stripes(whole, cut)
    by_pose = stripes(whole, cut, keypoints_for({"shoulders": 20 + 0.17 * 160, "hips": 20 + 80}))
    seen = slice(0, 5)  # head, torso, thighs: what the cut box shows
    agree = lambda a: np.sum(a[seen] * reference[seen], axis=1) / np.maximum(  # noqa: E731
        np.linalg.norm(a[seen], axis=1) * np.linalg.norm(reference[seen], axis=1), 1e-9)
    assert agree(by_pose).min() > 0.9, agree(by_pose)
    assert agree(by_proportions)[4] < 0.5  # by proportions the thigh stripe is the top's colour


def test_embedder_joins_detector_features_and_histograms():
    emb = AppearanceEmbedder(StubDetector())
    assert emb.name == "appearance-v2/stub" and emb.dim == 8 + HIST_DIM and 448 + HIST_DIM <= 1024
    assert AppearanceEmbedderV1(StubDetector()).name == "appearance-v1/stub"
    image = figure()
    feats = np.eye(8, dtype=np.float32)[:2]
    dets = Detections(np.array([[30, 20, 70, 180], [0, 0, 20, 30]], np.float32), np.ones(2, np.float32), np.array(["person", "car"]), feats)
    vecs = emb.embed(image, dets)
    assert vecs.shape == (2, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert emb.embed(image, dets[np.zeros(0, int)]).shape == (0, emb.dim)
    unknown = np.full((2, 17, 3), np.nan, np.float32)  # no pose for these: proportions
    np.testing.assert_allclose(emb.embed(image, dets, keypoints=unknown), vecs, atol=1e-6)
    np.testing.assert_allclose(emb.embed(image, dets, keypoints=[None, None]), vecs, atol=1e-6)


# --- real footage: the same walker at another moment, through another camera's response --------------
CASES = [(RED_NAVY_MAN, 54.0, 58.0), (RED_TOP_WOMAN, 45.0, 70.0), (BLACK_COAT_WOMAN, 55.0, 61.0)]
RESPONSES = {"as filmed": None, "warm and dim": dict(gain=(0.6, 0.72, 0.92), gamma=1.0, offset=10),
             "cool and bright": dict(gain=(1.15, 1.0, 0.85), gamma=0.7, offset=0)}


def photo_subject(models, photo: np.ndarray, frame_size):
    """A photo pasted and its subject found as `forensic search --photo` does: (canvas, detection)."""
    from forensic.search.photo import find_subject, place_on_canvas

    canvas, scale, ox, oy = place_on_canvas(photo, frame_size)
    det, _ = find_subject(models, canvas, (ox, oy, ox + int(photo.shape[1] * scale), oy + int(photo.shape[0] * scale)))
    assert det.class_name[0] == "person"
    return canvas, det


@pytest.mark.slow
def test_a_photo_finds_the_same_walker_first_among_the_people_of_another_moment(real_models, footage):
    """Each walker cut from one moment, as filmed and through two other camera responses, must come
    first among the 4-7 people detected at another moment (other place, size and pose); two walkers
    are dark-coated and one walks beside the other. appearance-v1 misses several of these (the check
    can fail: asserted below), appearance-v2 none."""
    embedders = (real_models.appearance, AppearanceEmbedderV1(real_models.detector))
    ranks = {}
    for walker, t_photo, t_later in CASES:
        frame, later = frame_at(footage / CAMPUS, t_photo), frame_at(footage / CAMPUS, t_later)
        (people,) = real_models.detector.detect([later])
        people = people[people.class_name == "person"]
        (walker_at,) = [k for k in range(len(people)) if walker.matches(CAMPUS, t_later, people.xyxy[k], "person")]
        x1, y1, x2, y2 = (int(v) for v in walker.box_at(t_photo))
        mx, my = (x2 - x1) // 10, (y2 - y1) // 20
        cut = frame[max(0, y1 - my):y2 + my, max(0, x1 - mx):x2 + mx]
        for response_name, response in RESPONSES.items():
            canvas, subject = photo_subject(real_models, cut if response is None else camera(cut, **response), (frame.shape[1], frame.shape[0]))
            for emb in embedders:
                sims = emb.embed(later, people) @ emb.embed(canvas, subject)[0]  # the index's vectors of that frame . the photo's
                ranks[(t_photo, response_name, emb.version)] = (int(np.sum(sims > sims[walker_at])) + 1, len(people))
    v2 = {k: r for k, r in ranks.items() if k[2] == "appearance-v2"}
    assert all(r[0] == 1 and r[1] >= 4 for r in v2.values()), v2
    assert sum(r[0] > 1 for k, r in ranks.items() if k[2] == "appearance-v1") >= 2, ranks
