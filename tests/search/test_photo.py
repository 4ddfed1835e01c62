"""Photo search on the real session index: the subject of a photo cropped from one moment is found
at other moments. A match within 1 s of the crop is a near copy of the photo and proves little, so
those are set aside before looking at the top of the list."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.search.photo import MAX_SHARE, place_on_canvas, read_photo, search_photo
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
    _, kept = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=200, per_frame=True)
    _, anything = search_photo(store, real_index.models, photos / "white_suv_everest.png", limit=200, per_frame=True,
                               any_class=True)
    assert {h.cls for h in kept} == {"car"} and len({h.cls for h in anything}) > 1


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
