"""The indexing run end to end without weights: synthetic videos of painted objects (tests/builders.py)
go through the real pipeline (reader, motion gate, tracker, colours, thumbnails, store, search files)
with the stub detector at the detector's seam, and come back from text, photo and similar searches.
The real detector on real footage is the slow layer's business (test_pipeline.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from builders import RED, SCENE, Painted, StubDetector, paint, stub_models
from forensic.api import SearchRequest, run_search
from forensic.index.store import IndexStore
from forensic.models.detector import ObjectDetector


def tracks(root):
    with IndexStore(root) as store:
        return {(r["camera"], r["cls"]): r for r in store.db.execute(
            "SELECT tr.*, v.camera FROM tracks tr JOIN videos v ON v.id=tr.video_id")}


def test_the_stub_stands_at_the_detector_seam():
    detector = StubDetector(SCENE["cam1"])
    assert isinstance(detector, ObjectDetector)
    (found,) = detector.detect([paint(SCENE["cam1"], 1.4)])
    assert sorted(found.class_name.tolist()) == ["car", "person"]
    car = found.xyxy[found.class_name == "car"][0]
    assert car.tolist() == SCENE["cam1"][1].box_at(1.4)  # the painted box, exactly
    assert found.features.shape == (2, detector.feature_dim)
    assert np.allclose(np.linalg.norm(found.features, axis=1), 1)
    assert len(detector.detect([paint(SCENE["cam1"], 1.4)], conf=0.95)[0]) == 0  # below its threshold


def test_each_painted_object_is_one_track_with_its_class_and_colours(stub_index):
    assert stub_index.summary.indexed and stub_index.summary.detections > 40
    found = tracks(stub_index.root)
    assert set(found) == {("cam1", "car"), ("cam1", "person"), ("cam2", "truck"), ("cam2", "motorcycle")}
    colours = {key: json.loads(r["colors"]) for key, r in found.items()}
    assert max(colours["cam1", "car"]["whole"], key=colours["cam1", "car"]["whole"].get) == "red"
    person = colours["cam1", "person"]
    assert max(person["upper"], key=person["upper"].get) == "blue" and max(person["lower"], key=person["lower"].get) == "black"
    assert max(colours["cam2", "truck"]["whole"], key=colours["cam2", "truck"]["whole"].get) == "white"
    assert max(colours["cam2", "motorcycle"]["whole"], key=colours["cam2", "motorcycle"]["whole"].get) == "green"
    motorbike = found["cam2", "motorcycle"]
    assert motorbike["first_t"] == pytest.approx(0.4, abs=0.21) and motorbike["last_t"] == pytest.approx(2.4, abs=0.21)


@pytest.mark.parametrize("text, camera, cls", [
    ("red car", "cam1", "car"), ("người áo xanh dương quần đen", "cam1", "person"),
    ("white truck", "cam2", "truck"), ("xe máy màu xanh lá", "cam2", "motorcycle"),
])
def test_text_search_finds_each_object_first(stub_index, text, camera, cls):
    hits = run_search(SearchRequest(text=text, limit=5), stub_index.settings).hits
    assert hits and (hits[0].camera, hits[0].cls) == (camera, cls)
    assert Path(hits[0].thumb).is_file()  # its thumbnail was written


def test_camera_and_time_filters(stub_index):
    anywhere = run_search(SearchRequest(classes=("truck", "car"), limit=5), stub_index.settings).hits
    assert {(h.camera, h.cls) for h in anywhere} == {("cam1", "car"), ("cam2", "truck")}
    cam2 = run_search(SearchRequest(classes=("truck", "car"), cameras=("cam2",), limit=5), stub_index.settings).hits
    assert cam2 and {(h.camera, h.cls) for h in cam2} == {("cam2", "truck")}
    with IndexStore(stub_index.root) as store:
        start = datetime.fromisoformat(store.videos()[0]["start_time"])
    later = run_search(SearchRequest(text="red car", since=start.replace(year=start.year + 1), limit=5), stub_index.settings)
    assert later.hits == []


def test_photo_search_finds_the_car_from_a_crop(stub_index, tmp_path):
    import cv2

    x1, y1, x2, y2 = SCENE["cam1"][1].box_at(2.0)
    photo = paint(SCENE["cam1"], 2.0)[y1 - 10:y2 + 10, x1 - 10:x2 + 10]
    cv2.imwrite(str(tmp_path / "car.png"), photo)
    result = run_search(SearchRequest(image=tmp_path / "car.png", limit=3), stub_index.settings, models=stub_index.models)
    assert result.understood["subject"] == "car"
    assert result.hits and (result.hits[0].camera, result.hits[0].cls) == ("cam1", "car")


def test_similar_search_starts_from_a_hit(stub_index):
    truck = run_search(SearchRequest(text="white truck", limit=1), stub_index.settings).hits[0]
    hits = run_search(SearchRequest(similar_to=truck.id, limit=3), stub_index.settings).hits
    assert hits and (hits[0].camera, hits[0].cls) == ("cam2", "truck")  # the same white truck, by its whole appearance
    assert "similar to" in run_search(SearchRequest(similar_to=truck.id), stub_index.settings).understood


def test_an_object_the_stub_does_not_know_is_not_found(tmp_path):
    """The stub reports only its scripted objects: a painted thing it was not told of stays unseen."""
    from builders import stub_settings, write_video
    from forensic.index.pipeline import index_videos

    stranger = Painted("car", (0, 200, 200), {0.0: (10, 10, 60, 40), 1.0: (10, 10, 60, 40)})
    video = write_video(tmp_path / "cam" / "a.mp4", [Painted("car", RED, {0.0: (100, 100, 160, 150), 1.0: (100, 100, 160, 150)}), stranger], 1.0)
    settings = stub_settings(tmp_path / "idx")
    with IndexStore(settings.index, writer=True) as store:
        list(index_videos([video], store, stub_models(StubDetector([Painted("car", RED, {0.0: (0, 0, 1, 1)})])), settings))
    found = tracks(settings.index)
    assert list(found) == [("cam", "car")] and found["cam", "car"]["n"] == 5
