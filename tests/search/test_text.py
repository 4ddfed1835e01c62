"""Text search: colour matching rules, and real queries on the real session index."""

from __future__ import annotations

import pytest

from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.query import parse_query
from forensic.search.text import colour_match, search_text
from realdata import DELIVERY_RIDER, RED_JACKET_RIDER, WHITE_SUV


@pytest.mark.parametrize("query, colors, is_person, expected", [
    ("red motorbike", {"whole": {"red": 0.5, "black": 0.5}}, False, 1.0),
    ("red motorbike", {"whole": {"red": 0.25, "black": 0.75}}, False, 0.5),
    ("red motorbike", {"whole": {"red": 0.8}}, False, 1.0),  # capped
    ("red motorbike", {"whole": {"red": 0.04, "black": 0.96}}, False, 0.0),  # too little to be red at all
    ("red motorbike", {"whole": {"black": 1.0}}, False, 0.0),
    ("motorbike", {"whole": {"black": 1.0}}, False, None),  # no colour asked
    ("xe xanh", {"whole": {"green": 0.5}}, False, 1.0),  # 'xanh': blue or green
    ("xe xanh", {"whole": {"blue": 0.1, "green": 0.25}}, False, 0.5),
    ("người mặc áo trắng quần đen", {"whole": {}, "upper": {"white": 0.5}, "lower": {"black": 0.25}}, True, 0.75),
    ("người mặc áo trắng quần đen", {"whole": {}, "upper": {"white": 0.5}, "lower": {"blue": 0.9}}, True, 0.0),
    # not a person: clothing colours are looked up in the whole object
    ("người mặc áo trắng", {"whole": {"white": 0.5}}, False, 1.0),
])
def test_colour_match(query, colors, is_person, expected):
    assert colour_match(colors, parse_query(query), is_person) == expected


def test_a_rider_query_ranks_the_riding_person(tmp_path):
    """'motorbike rider in a red jacket': the person on the motorbike (not the one walking, not the
    motorbike, whose box mixes the rider's clothes with cargo); 'red motorbike': the motorbike."""
    import numpy as np

    from forensic.detections import Detections
    from forensic.video import VideoInfo
    from realdata import tiny_jpeg

    video = tmp_path / "cam" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"0" * 64)
    boxes = np.array([[100, 100, 160, 260], [90, 180, 170, 300], [500, 100, 560, 260]], np.float32)  # rider, motorbike, walker
    red_top = {"whole": {"red": 0.6, "black": 0.4}, "upper": {"red": 0.9}, "lower": {"black": 0.9}}
    colours = [red_top, {"whole": {"red": 0.7, "black": 0.3}}, red_top]
    with IndexStore(tmp_path / "idx", writer=True) as s:
        s.register_embedder("appearance", "test", 2)
        vid = s.begin_video(video, "cam", VideoInfo(video, fps=25.0, frames=100, width=640, height=480), 2.0, "fp")
        for f in range(4):
            shift = np.array([8 * f, 0, 8 * f, 0], np.float32)
            dets = Detections(boxes + shift, np.full(3, 0.8, np.float32), np.array(["person", "motorcycle", "person"]))
            dets.tracker_id = np.arange(3)
            s.add_detections(vid, 12 * f, 0.5 * f, dets, colours, np.full(3, 0.5, np.float32), [tiny_jpeg(k) for k in range(3)],
                             {"appearance": np.eye(2, dtype=np.float32)[[0, 1, 0]]})
            s.commit()
        s.finish_video(vid)
    with IndexStore(tmp_path / "idx") as s:
        rider = search(s, "motorbike rider in a red jacket", limit=10)
        assert [(h.cls, h.bbox[0]) for h in rider] == [("person", 100.0)]
        assert {h.cls for h in search(s, "người đi xe máy mặc áo đỏ", limit=10)} == {"person"}
        assert {(h.cls, h.bbox[0]) for h in search(s, "red motorbike", limit=10)} == {("motorcycle", 90.0)}
        assert {h.bbox[0] for h in search(s, "person in a red top", limit=10)} == {100.0, 500.0}


@pytest.fixture(scope="module")
def store(real_index):
    s = IndexStore(real_index.root)
    yield s
    s.close()


def search(store, text, **kw):
    return search_text(store, parse_query(text), None, **kw)


def test_empty_and_meaningless_queries(tmp_path):
    IndexStore(tmp_path / "idx", writer=True).close()
    with IndexStore(tmp_path / "idx") as s:
        with pytest.raises(ForensicError, match="empty query"):
            search(s, "  ")
        with pytest.raises(ForensicError, match="zebra"):  # nothing understood: says what was ignored
            search(s, "zebra")
        assert search(s, "red motorbike") == []  # an empty index finds nothing, quietly



@pytest.mark.slow
def test_red_motorbike_finds_both_red_riders(store):
    hits = search(store, "red motorbike", limit=5)
    assert len(hits) == 5
    assert {h.cls for h in hits} == {"motorcycle"}
    assert any(RED_JACKET_RIDER.hit(h) for h in hits), [(h.video, h.t, h.bbox) for h in hits]
    assert any(DELIVERY_RIDER.hit(h) for h in hits), [(h.video, h.t, h.bbox) for h in hits]
    assert all("red" in h.colors for h in hits[:3])
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


@pytest.mark.slow
@pytest.mark.parametrize("vietnamese", ["xe máy màu đỏ", "xe may do"])
def test_vietnamese_gives_the_same_hits(store, vietnamese):
    english = search(store, "red motorbike", limit=10)
    assert [(h.id, h.score) for h in search(store, vietnamese, limit=10)] == [(h.id, h.score) for h in english]


@pytest.mark.slow
def test_person_in_a_white_shirt(store):
    hits = search(store, "người mặc áo trắng", limit=5)
    assert {h.cls for h in hits} == {"person"}
    assert any(DELIVERY_RIDER.hit(h) for h in hits[:3])
    assert "white" in hits[0].clothing["upper"]
    assert [h.id for h in search(store, "man in white shirt", limit=5)] == [h.id for h in hits]


@pytest.mark.slow
def test_white_car_finds_the_suv(store):
    hits = search(store, "white car", limit=5)
    assert {h.cls for h in hits} == {"car"}
    assert any(WHITE_SUV.hit(h) for h in hits[:3])
    assert all("white" in h.colors for h in hits)


@pytest.mark.slow
def test_one_hit_per_appearance_unless_per_frame(store):
    per_track = search(store, "white car", limit=20)
    tracks = [h.track["id"] for h in per_track if h.track]
    assert len(tracks) == len(set(tracks))
    per_frame = search(store, "white car", limit=20, per_frame=True)
    assert len(per_frame) == 20
    suv_frames = [h for h in per_frame if WHITE_SUV.hit(h)]
    assert len(suv_frames) >= 2 and len({h.t for h in suv_frames}) == len(suv_frames)
    assert sum(WHITE_SUV.hit(h) for h in per_track) == 1


@pytest.mark.slow
def test_limit_and_class_filter(store):
    assert len(search(store, "person", limit=3)) == 3
    hits = search(store, "xe máy", limit=50)
    assert hits and {h.cls for h in hits} == {"motorcycle"}
    assert {h.cls for h in search(store, "đỏ", limit=50)} >= {"motorcycle", "person"}  # a colour alone: any class
