"""Choosing the best hits: best first, earlier first among equal scores, one per track."""

import numpy as np

from forensic.search.hits import Hit, best_rows


def reference(scores, limit, group=None):
    """The plain way: a stable sort of everything, then the first of each group."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    out, seen = [], set()
    for i in order:
        key = None if group is None else group[i]
        if group is not None and key in seen:
            continue
        seen.add(key)
        out.append(i)
        if len(out) == limit:
            break
    return out


def test_best_rows_equal_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for n, limit, tracks in [(0, 5, 1), (10, 20, 3), (1000, 20, 40), (50_000, 20, 7), (50_000, 200, 50_000)]:
        scores = np.round(rng.uniform(0, 1, n), 2).astype(np.float32)  # many ties
        group = rng.integers(0, tracks, n)
        assert best_rows(scores, limit).tolist() == reference(scores.tolist(), limit)
        assert best_rows(scores, limit, group).tolist() == reference(scores.tolist(), limit, group.tolist())


def test_few_tracks_hold_all_the_best_scores():
    """The best 1000 detections belong to 2 tracks: the search looks further down for the others."""
    scores = np.concatenate([np.full(1000, 0.9), np.linspace(0.5, 0.1, 30)]).astype(np.float32)
    group = np.concatenate([np.arange(1000) % 2, 100 + np.arange(30)])
    rows = best_rows(scores, 5, group)
    assert rows.tolist() == [0, 1, 1000, 1001, 1002]


def test_a_weak_plate_read_is_not_shown_with_the_hit(tmp_path):
    """A plate read under PLATE_SHOWN confidence stays out of the hit (garbage reads of far motorbikes
    must not look like evidence); a confident read is shown with its confidence."""
    from forensic.search.hits import PLATE_SHOWN, Hit

    base = {"id": 1, "path": "/v.mp4", "camera": "c", "t": 1.0, "start_time": None, "x1": 0, "y1": 0, "x2": 10, "y2": 10,
            "cls": "motorcycle", "conf": 0.9, "frame": 25, "thumb": None, "colors": '{"whole": {"red": 1.0}}', "track": None,
            "track_colors": None, "first_t": None, "last_t": None, "track_n": None, "track_thumb": None,
            "plate_display": "30F-621.51", "plate_text": "30F/621.51", "plate_crop": None}
    weak = Hit.from_row(base | {"plate_conf": PLATE_SHOWN - 0.01}, 0.5, tmp_path)
    sure = Hit.from_row(base | {"plate_conf": 0.74}, 0.5, tmp_path)
    assert weak.plate is None and "plate" not in weak.to_json()
    assert sure.plate["text"] == "30F-621.51" and sure.to_json()["plate"]["confidence"] == 0.74


def test_a_start_in_a_daylight_saving_overlap_is_flagged_in_the_hit():
    """Issue 11: DST gaps and overlaps were resolved silently."""
    from forensic.evidence.frames import clock_text
    from forensic.search.hits import clock_of

    row = {"camera": "cam1", "path": "/srv/cam1/a.mp4", "start_time": "2026-11-01T01:30:00-04:00", "time_source": "filename",
           "recorded_start": "2026-11-01T01:30:00", "clock_timezone": "America/New_York", "clock_offset": 0.0, "t_base": "pts"}
    wall, clock = clock_of(row)
    assert clock["dst"] == "overlap" and "happened twice" in clock["dst_note"] and clock["recomputed"] is False
    assert wall.at(10.0).isoformat() == "2026-11-01T01:30:10-04:00"
    hit = Hit(id=1, video=row["path"], camera="cam1", t=10.0, time=wall.at(10.0).isoformat(), bbox=[0, 0, 1, 1], cls="car", score=1.0,
              colors=[], thumb=None, confidence=0.9, frame=250, clock=clock)
    assert "DST overlap" in clock_text(hit) and hit.to_json()["clock"]["dst"] == "overlap"
