"""Photo search on the real session index: the subject of a photo cropped from one moment is found
at other moments. A match within 1 s of the crop is a near copy of the photo and proves little, so
those are set aside before looking at the top of the list."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.search.photo import MAX_SHARE, find_subject, place_on_canvas, read_photo, search_photo, typical_frame_size
from realdata import DELIVERY_RIDER, RED_JACKET_RIDER, WHITE_SUV


def test_place_on_canvas_keeps_the_photo_scale_and_centres_it():
    photo = np.zeros((100, 60, 3), np.uint8)
    photo[:] = (0, 0, 255)
    canvas, scale, ox, oy = place_on_canvas(photo, (1280, 720))
    assert canvas.shape == (720, 1280, 3) and scale == 1.0 and (ox, oy) == (610, 310)
    assert (canvas[oy:oy + 100, ox:ox + 60] == (0, 0, 255)).all() and (canvas[0, 0] == 114).all()
    big = np.zeros((1000, 500, 3), np.uint8)
    canvas, scale, ox, oy = place_on_canvas(big, (1280, 720))
    assert scale == pytest.approx(MAX_SHARE * 720 / 1000) and 1000 * scale <= 720


def test_unreadable_photos(tmp_path):
    with pytest.raises(ForensicError, match="does not exist"):
        read_photo(tmp_path / "nope.jpg")
    text = tmp_path / "suspect.jpg"
    text.write_text("not an image")
    with pytest.raises(ForensicError, match="cannot read photo"):
        read_photo(text)


@pytest.fixture(scope="module")
def store(real_index):
    s = IndexStore(real_index.root)
    yield s
    s.close()


def away_from_the_crop(hits, clip: str, crop_t: float):
    """Hits that are not near copies of the photo (same clip, within 1 s of the moment it was cropped)."""
    from pathlib import Path

    return [h for h in hits if not (Path(h.video).name == clip and abs(h.t - crop_t) <= 1.0)]


CASES = {  # photo: (object, clip time it was cropped at)
    "white_suv_everest.png": (WHITE_SUV, 1.0),
    "rider_red_jacket_blue_helmet.png": (RED_JACKET_RIDER, 1.0),
    "delivery_rider_white_shirt_red_box.png": (DELIVERY_RIDER, 1.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("photo", list(CASES))
def test_photo_finds_its_subject_at_another_moment(store, real_index, photos, photo):
    target, crop_t = CASES[photo]
    _, hits = search_photo(store, real_index.models, photos / photo, limit=100, per_frame=True)
    found = away_from_the_crop(hits, target.clip, crop_t)[:5]
    assert any(target.hit(h) for h in found), [(h.video, h.t, h.cls, h.bbox) for h in found]
    assert all(abs(h.t - crop_t) > 1.0 for h in found if target.hit(h))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_white_suv_photo(store, real_index, photos):
    subject, hits = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=5)
    assert subject.cls == "car"
    x1, y1, x2, y2 = subject.box  # the SUV fills the photo
    assert x1 < 20 and y1 < 20 and x2 > 190 and y2 > 80
    assert WHITE_SUV.hit(hits[0])  # one hit per appearance: the SUV's comes first
    assert {h.cls for h in hits} == {"car"}  # kept to the subject's class
    tracks = [h.track["id"] for h in hits if h.track]
    assert len(tracks) == len(set(tracks))


@pytest.mark.slow
def test_any_class(store, real_index, photos):
    subject, kept = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=200, per_frame=True)
    _, anything = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=200, per_frame=True,
                               any_class=True)
    assert subject.classes == ("bus", "car", "truck")  # the detector calls one vehicle each by turns
    assert {h.cls for h in kept} <= set(subject.classes) and "person" in {h.cls for h in anything}


@pytest.mark.slow
@pytest.mark.parametrize("photo, classes", [
    ("rider_red_jacket_blue_helmet.png", {("person", "motorcycle"), ("motorcycle", "person"), ()}),
    ("delivery_rider_white_shirt_red_box.png", {("person", "motorcycle"), ("motorcycle", "person")}),
    ("woman_blonde_black_coat.png", {("person",)}),
    ("man_red_navy_jacket.png", {("person",), ()}),  # () when found below the indexing confidence
])
def test_subjects_of_the_photos(real_index, photos, photo, classes):
    """Riders and pedestrians: the subject fills most of the photo, whatever the scale it was cut at,
    and a rider is searched as the person or the motorbike (the index may hold either)."""
    image = read_photo(photos / photo)
    canvas, scale, ox, oy = place_on_canvas(image, (1280, 720))
    region = (ox, oy, ox + int(image.shape[1] * scale), oy + int(image.shape[0] * scale))
    det, found = find_subject(real_index.models, canvas, region)
    assert det.class_name[0] in ("person", "motorcycle", "object") and found in classes, (det.class_name, found)
    x1, y1, x2, y2 = det.xyxy[0]
    assert (x2 - x1) * (y2 - y1) >= 0.3 * (region[2] - region[0]) * (region[3] - region[1])
    assert det.features.shape == (1, real_index.models.detector.feature_dim)
    assert real_index.models.detector.conf == real_index.settings.conf  # the lower subject threshold was put back


@pytest.mark.slow
def test_a_photo_with_nothing_in_it_is_its_own_subject(real_index):
    canvas = np.full((720, 1280, 3), 114, np.uint8)
    canvas[300:400, 600:660] = (40, 200, 40)  # a green rectangle
    det, classes = find_subject(real_index.models, canvas, (600, 300, 660, 400))
    assert det.class_name.tolist() == ["object"] and classes == () and det.xyxy[0].tolist() == [600, 300, 660, 400]


def test_typical_frame_size_breaks_ties_the_same_way_every_time(tmp_path):
    """Two sizes with one video each: the one with more hours of video wins, whatever the row order."""
    for order in ((1, 2), (2, 1)):
        root = tmp_path / f"idx{order[0]}"
        with IndexStore(root, writer=True) as s:
            for k in order:
                w, h, seconds = ((1920, 1080, 60.0), (1280, 720, 600.0))[k - 1]
                s.db.execute("INSERT INTO videos(path, camera, width, height, duration, status) VALUES (?,?,?,?,?, 'done')",
                             (f"/v{k}.mp4", "c", w, h, seconds))
        with IndexStore(root) as s:
            assert typical_frame_size(s) == (1280, 720)
    with IndexStore(tmp_path / "empty", writer=True) as s:
        assert typical_frame_size(s) == (1280, 720)  # nothing indexed yet


@pytest.mark.slow
def test_result_fields(store, real_index, photos):
    from pathlib import Path

    _, hits = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=3)
    for h in hits:
        j = h.to_json()
        assert Path(j["video"]).is_absolute() and Path(j["video"]).exists()
        assert j["camera"] == "truccat" or j["camera"] == "acview"
        assert isinstance(j["t"], float) and len(j["bbox"]) == 4 and all(isinstance(v, float) for v in j["bbox"])
        assert Path(j["thumb"]).is_file() and -1.0 <= j["score"] <= 1.0
