"""Place and time filters run before ranking: on a small index written through the store (fast), and
on a real index (slow)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from builders import Row, build_index
from forensic.cameras import load_cameras
from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.query import parse_query
from forensic.search.filters import Filters
from forensic.search.text import search_text

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


ROWS = [Row("car", "red", 1.0, "cam1", "a.mp4"), Row("car", "white", 2.0, "cam1", "a.mp4"),
        Row("motorcycle", "red", 1.0, "cam2", "a.mp4"), Row("car", "red", 1.0, "dvr7", "ch07_x.mp4"),
        Row("person", {"whole": {"blue": 0.5, "black": 0.5}, "upper": {"blue": 1.0}, "lower": {"black": 1.0}}, 3.0, "cam2", "b.mp4")]


@pytest.fixture
def rows_index(tmp_path):
    built = build_index(tmp_path, ROWS)
    cameras = tmp_path / "cameras.toml"  # camera 'gate' claims the recorder's channel 7, indexed as 'dvr7'
    cameras.write_text('[[camera]]\nid = "gate"\nname = "Gate"\nmatch = ["*/ch07_*"]\n\n'
                       '[[camera]]\nid = "cam1"\nname = "Cam one"\n')
    return built, load_cameras(cameras)


def test_allowed_ids_are_exactly_the_rows_passing_each_filter(rows_index):
    built, cams = rows_index
    ids = dict(enumerate(built.ids))
    with IndexStore(built.root) as store:
        allowed = lambda **kw: set(Filters(**kw).allowed_ids(store, cams).tolist())  # noqa: E731
        assert allowed(classes=("car",)) == {ids[0], ids[1], ids[3]}
        assert allowed(colors=("red",)) == {ids[0], ids[2], ids[3]}
        assert allowed(classes=("car",), colors=("red",)) == {ids[0], ids[3]}
        assert allowed(cameras=("cam2",)) == {ids[2], ids[4]}
        assert allowed(cameras=("gate",)) == {ids[3]}  # claimed by the cameras file's pattern
        assert allowed(cameras=("cam1", "gate"), colors=("blue",)) == set()
        assert Filters().allowed_ids(store, cams) is None
        with pytest.raises(ForensicError, match="unknown colour 'mauve'"):
            Filters(colors=("mauve",)).allowed_ids(store, cams)


def test_time_window_keeps_what_was_recorded_inside_it(rows_index):
    built, cams = rows_index
    start = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # build_index's videos start then
    with IndexStore(built.root) as store:
        window = Filters(since=start.replace(second=2), until=start.replace(second=3)).allowed_ids(store, cams).tolist()
        assert window == [built.ids[1]]  # the white car at 2.0 s; the person at 3.0 s is at the (open) end
        hits = search_text(store, parse_query("red car", cams, NOW), limit=5, cameras=cams,
                           filters=Filters(since=start.replace(hour=11)))
    assert hits == []


@pytest.mark.slow
def test_place_phrase_keeps_to_that_camera(search_index):
    store, cams = search_index["store"], search_index["cameras"]
    q = parse_query("xe máy màu đỏ gần ngã tư Trực Cát", cams, NOW)
    assert q.cameras == ("truccat",) and q.classes == ("motorcycle",) and q.colors == [("red",)]
    hits = search_text(store, q, limit=10, cameras=cams)
    assert hits and {h.camera for h in hits} == {"truccat"}
    assert all(h.cls == "motorcycle" for h in hits)
    assert "red" in hits[0].colors
    # one line per motorbike: no two hits share a track
    tracks = [h.track["id"] for h in hits if h.track]
    assert len(tracks) == len(set(tracks))
    # the same query without the place also finds the Tân Phú crossroad's red delivery motorbike
    everywhere = search_text(store, parse_query("xe máy màu đỏ", cams, NOW), limit=10, cameras=cams)
    assert {"truccat", "tanphu"} <= {h.camera for h in everywhere}


@pytest.mark.slow
def test_filtered_query_still_returns_its_top_n(search_index):
    store, cams = search_index["store"], search_index["cameras"]
    q = parse_query("motorbike near Trực Cát", cams, NOW)
    n_truccat = store.db.execute(
        "SELECT COUNT(DISTINCT d.track) FROM detections d JOIN videos v ON v.id=d.video_id WHERE v.camera='truccat' AND d.cls='motorcycle'"
    ).fetchone()[0]
    hits = search_text(store, q, limit=5, cameras=cams)
    assert n_truccat >= 5 and len(hits) == 5


@pytest.mark.slow
def test_time_window_from_dvr_file_names(search_index):
    store, cams = search_index["store"], search_index["cameras"]
    q = parse_query("người ngày 21/11 từ 20h đến 22h", cams, NOW)
    assert q.since == datetime(2026, 11, 21, 20, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    hits = search_text(store, q, limit=10, cameras=cams)
    assert hits and all(h.video.endswith("ch01_20261121203000.mp4") for h in hits)
    assert all(h.time.startswith("2026-11-21T20:30") for h in hits)
    morning = search_text(store, parse_query("người ngày 21/11 sáng", cams, NOW), limit=10, cameras=cams)
    assert all(h.video.endswith("ch01_20261121100000.mp4") for h in morning)


@pytest.mark.slow
def test_yesterday_evening_relative_to_now(search_index):
    store, cams = search_index["store"], search_index["cameras"]
    hits = search_text(store, parse_query("person last night", cams, NOW), limit=10, cameras=cams)
    assert hits and all("20261121203000" in h.video for h in hits)


@pytest.mark.slow
def test_unknown_place_is_an_error_listing_known_places(search_index):
    with pytest.raises(ForensicError, match="unknown place 'the market'.*Trực Cát"):
        parse_query("red car near the market", search_index["cameras"], NOW)


@pytest.mark.slow
def test_allowed_ids_are_exactly_the_filtered_rows(search_index):
    store, cams = search_index["store"], search_index["cameras"]
    allowed = Filters(classes=("car",), cameras=("tanphu",)).allowed_ids(store, cams)
    rows = store.rows(allowed)
    assert len(rows) == len(allowed) > 0
    assert {r["camera"] for r in rows.values()} == {"tanphu"} and {r["cls"] for r in rows.values()} == {"car"}
    assert Filters().allowed_ids(store, cams) is None


def test_camera_and_time_filters_found_video_by_video_pass_the_same_rows(tmp_path, monkeypatch):
    """A camera or time filter looks at the rows of the videos it can let through (issue 14: filtered text at
    10^7 detections): the same rows as looking at every row, for windows cutting videos and their edges."""
    import sys
    from datetime import timedelta
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
    from test_columns import START, build

    root = build(tmp_path, videos=6, seed=4)
    start = datetime.fromisoformat(START)
    windows = [(None, None), (start, None), (None, start + timedelta(seconds=1)), (start + timedelta(seconds=0.5), start + timedelta(seconds=1.5)),
               (start - timedelta(days=1), start + timedelta(days=1)), (start + timedelta(hours=1), None)]
    with IndexStore(root) as store:
        cols = store.columns()
        assert cols.video_bounds() is not None  # rows in video order: the by-video path is taken
        t = np.sort(np.unique(cols.t))
        windows += [(start + timedelta(seconds=float(t[1])), start + timedelta(seconds=float(t[-2])))]  # edges on rows' times
        checked = 0
        for since, until in windows:
            for kw in ({}, {"cameras": ("cam1",)}, {"cameras": ("cam0",), "classes": ("car",)}, {"colors": ("red",), "cameras": ("cam1",)}):
                f = Filters(since=since, until=until, **kw)
                if not f.active:
                    continue
                fast = f.mask(store)
                with monkeypatch.context() as m:
                    m.setattr(Filters, "_by_video", lambda *a, **k: None)  # every row looked at, as before
                    slow = f.mask(store)
                assert fast.tolist() == slow.tolist(), (since, until, kw)
                checked += int(slow.sum())
        assert checked > 0
