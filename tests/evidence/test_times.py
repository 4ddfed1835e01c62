"""Times of hits on a variable-frame-rate recording, indexed with the real detector (issue 11): the
video time of a hit is its frame's presentation timestamp (never frame number / average fps), the
wall-clock time is made from the recorded start and the cameras file of now, and search JSON, `show`
captions, the HTML report and export manifests all say where the time came from."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from realdata import vfr_clip
from forensic.api import SearchRequest, export_hits, run_search, show_hit
from forensic.evidence.frames import caption_lines, clock_text, place_of
from forensic.evidence.media import probe_times
from forensic.index.pipeline import index_videos
from forensic.index.store import IndexStore
from forensic.video import probe

pytestmark = pytest.mark.slow

NAME = "CAM1_20261121_083015.mp4"  # the recorder's start, in its local time
START = datetime(2026, 11, 21, 8, 30, 15)


def write_cameras(path: Path, timezone: str = "Asia/Ho_Chi_Minh", offset: float = 0) -> Path:
    path.write_text(f'[[camera]]\nid = "cam1"\nname = "Cổng chợ"\nmatch = ["*/cam1/*"]\ntimezone = "{timezone}"\n'
                    f'clock_offset = {offset}\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def vfr(tmp_path_factory, footage, real_settings, real_models):
    """The VFR clip (0-3 s at 25 fps, 3-6 s at 5 fps) as camera cam1's recording, indexed at 2 fps."""
    folder = tmp_path_factory.mktemp("vfr")
    (folder / "cam1").mkdir()
    clip = vfr_clip(footage, folder / "cam1" / NAME)
    cameras = write_cameras(folder / "cameras.toml")
    settings = replace(real_settings, index=folder / "idx", cameras=cameras)
    with IndexStore(settings.index, writer=True) as store:
        events = list(index_videos([clip], store, real_models, settings))
    assert [e.kind for e in events][-1] == "done", events
    return settings, clip


def rows(settings):
    with IndexStore(settings.index) as store:
        return store.db.execute("SELECT d.id, d.frame, d.t, v.t_base, v.recorded_start, v.time_source FROM detections d "
                                "JOIN videos v ON v.id=d.video_id ORDER BY d.t").fetchall()


def late_hit(settings) -> int:
    """A detection early in the 5 fps half, where frame / average fps is 0.6 to 1.4 s off."""
    return next(r["id"] for r in rows(settings) if 3.4 < r["t"] < 4.7)


def test_hit_times_are_the_frames_presentation_timestamps(vfr):
    settings, clip = vfr
    found = rows(settings)
    pts = probe_times(clip).pts
    assert found and {r["t_base"] for r in found} == {"pts"}
    assert {(r["recorded_start"], r["time_source"]) for r in found} == {(START.isoformat(), "filename")}
    assert np.allclose([r["t"] for r in found], pts[[r["frame"] for r in found]], atol=1e-3)
    late = [r for r in found if 3.4 < r["t"] < 4.7]
    assert late, "the detector found nothing in the 5 fps half"
    fps = probe(clip).fps  # the average rate, 15.8
    assert all(r["frame"] / fps - r["t"] > 0.5 for r in late)  # what frame / average fps said before: up to 1.4 s later


def test_json_hit_time_and_where_it_came_from(vfr):
    settings, _ = vfr
    result = run_search(SearchRequest(classes=("car", "motorcycle", "person"), limit=50, per_frame=True), settings)
    assert result.hits
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    for h in result.hits:
        j = h.to_json()
        assert abs(datetime.fromisoformat(j["time"]).timestamp() - (START.replace(tzinfo=vn).timestamp() + h.t)) < 1e-3
        assert j["clock"] | {"recorded_start": None} == {"source": "filename", "timezone": "Asia/Ho_Chi_Minh", "clock_offset": 0.0,
                                                          "recorded_start": None, "recomputed": False,
                                                          "video_time": "presentation timestamps"}


def test_export_manifest_agrees_with_itself(vfr, tmp_path):
    settings, clip = vfr
    hit_id = late_hit(settings)
    manifest = export_hits([hit_id], tmp_path / "case", settings, before=1, after=1)
    item = manifest["items"][0]
    at = item["hit_time"]["video_seconds"]
    assert at == pytest.approx(item["hit"]["t"], abs=1e-3) == pytest.approx(item["hit_time"]["indexed_video_seconds"], abs=1e-3)
    assert "note" not in item["hit_time"]
    start = START.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
    assert datetime.fromisoformat(item["hit_time"]["wall_clock"]).timestamp() == pytest.approx(start + at, abs=1e-3)
    assert item["hit_time"]["wall_clock"] == item["hit"]["time"]
    for part in ("requested", "clip"):
        assert datetime.fromisoformat(item[part]["start_wall_clock"]).timestamp() == pytest.approx(start + item[part]["start"], abs=1e-3)
    assert item["hit_time"]["clock"]["source"] == "filename"
    assert "the file name" in item["hit_time"]["clock_text"] and "Asia/Ho_Chi_Minh" in item["hit_time"]["clock_text"]
    on_disk = json.loads((tmp_path / "case" / "manifest.json").read_text())
    assert on_disk["items"][0]["hit_time"] == item["hit_time"]


def late_view(settings) -> int:
    """late_hit among the detections that keep a vector (their track's views): those `similar` finds per frame."""
    import sqlite3

    with sqlite3.connect(f"file:{settings.index / 'index.sqlite'}?mode=ro", uri=True) as db:
        views = {r[0] for r in db.execute("SELECT det_id FROM views")}
    return next(r["id"] for r in rows(settings) if 3.4 < r["t"] < 4.7 and r["id"] in views)


def test_a_corrected_cameras_file_corrects_the_times_and_says_so(vfr, tmp_path):
    settings, _ = vfr
    hit_id = late_view(settings)
    fixed = replace(settings, cameras=write_cameras(tmp_path / "fixed.toml", "UTC", -90))
    before, hit = (next(h for h in run_search(SearchRequest(similar_to=hit_id, limit=50, per_frame=True), s).hits if h.id == hit_id)
                   for s in (settings, fixed))
    assert before.clock["recomputed"] is False and before.time.endswith("+07:00")
    # the recorder wrote 08:30:15 on a clock 90 s fast, in UTC: the hit is 08:28:45 UTC + its PTS
    want = datetime(2026, 11, 21, 8, 28, 45, tzinfo=ZoneInfo("UTC")) + timedelta(seconds=hit.t)
    assert abs(datetime.fromisoformat(hit.time).timestamp() - want.timestamp()) < 1e-3 and hit.time.endswith("+00:00")
    assert hit.clock["recomputed"] is True and hit.clock["indexed_with"] == {"timezone": "Asia/Ho_Chi_Minh", "clock_offset": 0.0}
    assert (hit.clock["timezone"], hit.clock["clock_offset"]) == ("UTC", -90.0)
    lines = caption_lines(hit, place_of(None, hit.camera, hit.video))
    assert "recomputed from the cameras file now" in lines[-1] and "UTC" in lines[-1] and "-90 s" in lines[-1]
    # the time filter finds what the hits show: a window in UTC around the corrected time
    t = datetime.fromisoformat(hit.time)
    window = run_search(SearchRequest(classes=(hit.cls,), since=t - timedelta(seconds=0.1), until=t + timedelta(seconds=0.1),
                                      per_frame=True, limit=50), fixed)
    assert hit_id in [h.id for h in window.hits]
    stale_window = run_search(SearchRequest(classes=(hit.cls,), since=t - timedelta(seconds=0.1), until=t + timedelta(seconds=0.1),
                                            per_frame=True, limit=50), settings)
    assert hit_id not in [h.id for h in stale_window.hits]


def test_show_caption_names_the_time_source(vfr, tmp_path):
    settings, _ = vfr
    hit_id = late_hit(settings)
    out = show_hit(hit_id, tmp_path / "hit.png", settings)
    assert out.is_file()
    from forensic.evidence.frames import load_hit
    from forensic.cameras import load_cameras

    with IndexStore(settings.index) as store:
        hit = load_hit(store, hit_id, load_cameras(settings.cameras))
    text = clock_text(hit)
    assert text == "time from the file name; Asia/Ho_Chi_Minh; clock offset +0 s"


def test_html_report_names_the_time_source_and_a_recomputed_time(vfr, tmp_path):
    from forensic.evidence.report import write_search_report

    settings, _ = vfr
    fixed = replace(settings, cameras=write_cameras(tmp_path / "fixed.toml", "UTC", -90))
    result = run_search(SearchRequest(classes=("car", "motorcycle", "person"), limit=3), fixed)
    write_search_report(tmp_path / "report.html", result, {}, fixed)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "time from the file name; UTC; clock offset -90 s; recomputed from the cameras file now" in page


def test_an_index_made_with_frame_over_fps_times_is_flagged_in_the_manifest(vfr, tmp_path):
    """An index made before PTS times holds frame / average fps: the manifest gives the frame's PTS and says
    the index's time differs (it used to write both without a word)."""
    import shutil

    settings, _ = vfr
    old = tmp_path / "old-idx"
    shutil.copytree(settings.index, old, ignore=shutil.ignore_patterns("write.lock", "audit.*"))
    hit_id = late_hit(settings)
    with IndexStore(old, writer=True) as store:
        store.db.execute("UPDATE detections SET t = frame / (SELECT fps FROM videos WHERE videos.id = detections.video_id)")
        store.db.execute("UPDATE videos SET t_base = NULL")
    manifest = export_hits([hit_id], tmp_path / "case", replace(settings, index=old), before=1, after=1)
    item = manifest["items"][0]
    assert item["hit_time"]["indexed_video_seconds"] - item["hit_time"]["video_seconds"] > 0.5
    assert "re-index" in item["hit_time"]["note"] and "indexed before" in item["hit"]["clock"]["video_time"]
    start = START.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
    assert datetime.fromisoformat(item["hit_time"]["wall_clock"]).timestamp() == pytest.approx(start + item["hit_time"]["video_seconds"], abs=1e-3)
