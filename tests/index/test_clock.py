"""A recording's start by its on-screen clock (forensic.index.clock): a few frames sought and read with the real
text recogniser, on videos made here with a clock drawn into them (advancing, frozen) and on the dev crossroad
clip, whose recorder shows "06/08/2021  13:52:27" and writes its local time as UTC into the container."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from forensic.cameras import Camera
from forensic.index.clock import recording_clock, sample_times
from forensic.osd import osd_spec
from forensic.timestamps import recording_start, wall_clock
from forensic.video import probe

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SPEC = osd_spec({"region": [0.5, 0.0, 1.0, 0.1], "format": "%d/%m/%Y %H:%M:%S"})
SHOWN = datetime(2026, 11, 21, 8, 30, 15, tzinfo=VN)  # the clock drawn at the first frame
CROSSROAD = Path(__file__).resolve().parents[2].parent / "shared" / "footage" / "vn_crossroad_acview_day.mp4"
NIGHT = CROSSROAD.with_name("night_ir_yard_person.mp4")


def test_when_the_clock_is_read():
    short = sample_times(10.4)
    assert len(short) == 3 and 0 < short[0] < 1 and 9 < short[-1] < 10.4
    long = sample_times(1800.0)
    assert len(long) == 5 and long[-1] - long[0] > 60 and long == sorted(long)
    assert sample_times(0.0) == [0.0]


def clock_video(path: Path, seconds: float, frozen: bool = False, fps: float = 10.0) -> Path:
    """A 640x360 video of grey noise with the clock drawn top right, advancing each second (or frozen)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 360))
    rng = np.random.default_rng(0)
    for k in range(int(seconds * fps)):
        frame = rng.integers(60, 120, (360, 640, 3), dtype=np.uint8)
        shown = SHOWN + timedelta(seconds=0 if frozen else int(k / fps))
        cv2.putText(frame, shown.strftime("%d/%m/%Y %H:%M:%S"), (335, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def reader():
    pytest.importorskip("rapidocr")
    pytest.importorskip("onnxruntime")
    from forensic.models.clock import ClockReader

    return ClockReader()


def start_of(video: Path, camera: Camera, reader, file_start: datetime, file_source: str = "container"):
    return recording_clock(video, probe(video), camera, reader, file_start, file_source)


def test_an_advancing_clock_gives_the_start(tmp_path, reader):
    video = clock_video(tmp_path / "a.mp4", 12.0)
    camera = Camera("gate", "gate", osd=SPEC)
    file_start = SHOWN + timedelta(hours=7)  # a container time in the wrong zone
    start, source, clock = start_of(video, camera, reader, file_start)
    assert source == "osd" and clock["status"] == "reliable" and clock["used"] and clock["agreeing"] == 3
    assert abs((start - SHOWN).total_seconds()) <= 1.0
    assert clock["disagreement"] == pytest.approx(-7 * 3600, abs=1.0) and clock["file_source"] == "container"
    # within 120 s of the file's time the file's time stays (the clock is still recorded), unless asked for
    start, source, clock = start_of(video, camera, reader, SHOWN + timedelta(seconds=30))
    assert source == "container" and start == SHOWN + timedelta(seconds=30) and clock["used"] is False
    assert clock["disagreement"] == pytest.approx(-30, abs=1.0)
    start, source, _ = start_of(video, Camera("gate", "gate", osd=SPEC, time_source="osd"), reader, SHOWN + timedelta(seconds=30))
    assert source == "osd" and abs((start - SHOWN).total_seconds()) <= 1.0
    # the camera's clock offset corrects the recorder's clock, the on-screen one included
    start, source, clock = start_of(video, Camera("gate", "gate", osd=SPEC, clock_offset=-60.0), reader, file_start)
    assert source == "osd" and abs((start - SHOWN + timedelta(seconds=60)).total_seconds()) <= 1.0
    # what the clock showed is kept as the recorded start: its local time, before the offset (applied when read)
    shown = datetime.fromisoformat(clock["recorded_start"])
    assert shown.tzinfo is None and abs((shown - SHOWN.replace(tzinfo=None)).total_seconds()) <= 1.0
    assert wall_clock(clock["recorded_start"], "osd", camera.timezone, -60.0).start == start


def test_auto_finds_the_clock(tmp_path, reader):
    video = clock_video(tmp_path / "a.mp4", 12.0)
    start, source, clock = start_of(video, Camera("gate", "gate", osd=osd_spec("auto")), reader, SHOWN + timedelta(hours=7))
    assert source == "osd" and abs((start - SHOWN).total_seconds()) <= 1.0
    x0, y0, x1, y1 = clock["region"]
    assert clock["osd"] == "auto" and clock["format"] == "%d/%m/%Y %H:%M:%S" and x0 >= 0.45 and y1 <= 0.15  # top right
    from forensic.models.clock import line_runs

    date, time_, far = (10, 5, 90, 25), (100, 6, 160, 24), (600, 5, 700, 25)
    assert line_runs([date, time_, far]) == [date, (10, 5, 160, 25), time_, far]  # a date and a time side by side are one line


def test_the_index_keeps_the_clocks_local_time_and_the_cameras_file_of_now_applies(tmp_path, reader):
    """Issues 11 and 12 together: a start read from the on-screen clock is kept as the local time the clock
    showed (recorded_start, source osd, the offset of the indexing run beside it); the camera's timezone and
    clock offset of the cameras file now make the wall-clock time when it is read, as for a file name's time,
    and a cameras file that no longer lets the clock give the start says the time is stale."""
    from dataclasses import replace

    from builders import StubDetector, stub_models, stub_settings
    from forensic.cameras import load_cameras
    from forensic.index.pipeline import index_videos
    from forensic.index.store import IndexStore
    from forensic.search.hits import clock_of

    (tmp_path / "gate").mkdir()
    video = clock_video(tmp_path / "gate" / "a.mp4", 6.0)  # no time in its name or container: the clock gives it
    cams = tmp_path / "cameras.toml"
    entry = '[[camera]]\nid = "gate"\nmatch = ["*/gate/*"]\nosd = { region = [0.5, 0.0, 1.0, 0.1], format = "%d/%m/%Y %H:%M:%S" }\n'
    cams.write_text(entry + "clock_offset = -60\n")
    settings = stub_settings(tmp_path / "idx", cameras=cams)
    with IndexStore(settings.index, writer=True) as store:
        list(index_videos([video], store, replace(stub_models(StubDetector([])), clock=reader), settings))
        (row,) = [dict(r) for r in store.videos()]
    shown = datetime.fromisoformat(row["recorded_start"])
    assert row["time_source"] == "osd" and shown.tzinfo is None and abs((shown - SHOWN.replace(tzinfo=None)).total_seconds()) <= 1.0
    assert (row["timezone"], row["clock_offset"]) == ("Asia/Ho_Chi_Minh", -60.0)
    assert datetime.fromisoformat(row["start_time"]) == wall_clock(row["recorded_start"], "osd", "Asia/Ho_Chi_Minh", -60).start
    row["clock_timezone"] = row["timezone"]  # as IndexStore.rows names it

    def now(text: str):
        cams.write_text(entry + text)
        return clock_of(row, load_cameras(cams))

    wall, clock = now("clock_offset = -60\n")
    assert clock["source"] == "osd" and not clock["recomputed"] and "stale" not in clock
    assert wall.start == datetime.fromisoformat(row["start_time"])
    wall, clock = now('clock_offset = 0\ntimezone = "UTC"\n')  # the cameras file corrected: the clock's local time, read anew
    assert clock["recomputed"] and clock["indexed_with"] == {"timezone": "Asia/Ho_Chi_Minh", "clock_offset": -60.0}
    assert wall.start.utcoffset() == timedelta(0) and wall.start.replace(tzinfo=None) == shown
    wall, clock = now('clock_offset = -60\ntime_source = "file"\n')
    assert "on-screen clock" in clock["stale"] and "re-index" in clock["stale"]
    cams.write_text('[[camera]]\nid = "gate"\nmatch = ["*/gate/*"]\nclock_offset = -60\n')  # its osd removed
    assert "stale" in clock_of(row, load_cameras(cams))[1]


def test_a_frozen_clock_is_not_used(tmp_path, reader):
    video = clock_video(tmp_path / "frozen.mp4", 12.0, frozen=True)
    file_start = SHOWN + timedelta(hours=7)
    start, source, clock = start_of(video, Camera("gate", "gate", osd=SPEC, time_source="osd"), reader, file_start)
    assert source == "container" and start == file_start
    assert clock["status"] == "unreliable" and clock["start"] is None and clock["used"] is False
    assert [r["text"].replace(" ", "") for r in clock["readings"]].count("21/11/202608:30:15") >= 2  # read, but it does not move


def test_no_clock_configured_or_no_reader(tmp_path):
    video = clock_video(tmp_path / "a.mp4", 2.0)
    assert start_of(video, Camera("gate", "gate"), None, SHOWN) == (SHOWN, "container", None)
    start, source, clock = start_of(video, Camera("gate", "gate", osd=SPEC), None, SHOWN)
    assert (start, source) == (SHOWN, "container") and clock["status"] == "unavailable" and "forensic[plates]" in clock["reason"]


def test_the_reader_never_downloads_nor_writes(tmp_path, monkeypatch, reader):
    import rapidocr.utils.download_file as download

    from forensic.models.clock import ClockReader

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download")

    monkeypatch.setattr(download.DownloadFile, "run", classmethod(refuse))
    video = clock_video(tmp_path / "a.mp4", 2.0)
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    fresh = ClockReader()
    start_of(video, Camera("gate", "gate", osd=SPEC), fresh, SHOWN)
    start_of(video, Camera("gate", "gate", osd=osd_spec("auto")), fresh, SHOWN)  # the text detector too
    assert fresh.seconds > 0 and fresh._det is not None and not any(home.iterdir()) and not any(tmp.iterdir())


@pytest.mark.skipif(not CROSSROAD.is_file(), reason="needs ../shared/footage/vn_crossroad_acview_day.mp4")
def test_the_crossroad_clip_is_timed_by_its_on_screen_clock(reader):
    """Done-when of issue 12: the crossroad clip's wall-clock time comes from its on-screen clock, 13:52 on
    06/08/2021, where its container says 20:52 (its recorder writes local time where MP4 wants UTC)."""
    camera = Camera("tanphu", "Ngã tư Tân Phú", osd=osd_spec({"region": [0.74, 0, 1, 0.06], "format": "%d/%m/%Y %H:%M:%S"}))
    info = probe(CROSSROAD)
    file_start, file_source = recording_start(CROSSROAD, info.duration, camera.timezone)
    assert file_source == "container" and file_start.hour == 20
    start, source, clock = recording_clock(CROSSROAD, info, camera, reader, file_start, file_source)
    assert source == "osd" and clock["status"] == "reliable" and clock["agreeing"] == 3
    assert datetime(2021, 8, 6, 13, 52, 27, tzinfo=VN) <= start < datetime(2021, 8, 6, 13, 52, 28, tzinfo=VN)
    assert clock["disagreement"] == pytest.approx(-(7 * 3600 + 10), abs=1.5)  # the container: 7 h + 10 s later
    # found without being told where (osd = "auto")
    start, source, clock = recording_clock(CROSSROAD, info, Camera("tanphu", "t", osd=osd_spec("auto")), reader, file_start, file_source)
    assert source == "osd" and clock["format"] == "%d/%m/%Y %H:%M:%S" and clock["region"][0] > 0.5 and clock["region"][3] < 0.1
    assert datetime(2021, 8, 6, 13, 52, 27, tzinfo=VN) <= start < datetime(2021, 8, 6, 13, 52, 28, tzinfo=VN)
    # a format without seconds: the same start, to the minute
    minutes = Camera("tanphu", "t", osd=osd_spec({"region": [0.74, 0, 1, 0.06], "format": "%d/%m/%Y %H:%M"}))
    start, source, clock = recording_clock(CROSSROAD, info, minutes, reader, file_start, file_source)
    assert source == "osd" and start.strftime("%d/%m/%Y %H:%M") == "06/08/2021 13:52" and clock["uncertainty"] <= 30


@pytest.mark.slow
@pytest.mark.skipif(not NIGHT.is_file(), reason="needs ../shared/footage/night_ir_yard_person.mp4")
def test_auto_finds_a_month_first_clock_with_a_weekday(reader):
    """The infrared yard camera writes "08-28-2024 Mié 21:18:05" top left (month first, a Spanish weekday): found
    and read over 3 minutes (5 frames, the first and last more than a minute apart); its file has no time but
    its modification time, so the clock gives the start."""
    info = probe(NIGHT)
    camera = Camera("yard", "yard", osd=osd_spec("auto"))
    file_start, file_source = recording_start(NIGHT, info.duration, camera.timezone)
    start, source, clock = recording_clock(NIGHT, info, camera, reader, file_start, "mtime")
    assert source == "osd" and clock["format"] == "%m/%d/%Y %H:%M:%S" and clock["region"][0] < 0.1 and clock["region"][3] < 0.15
    assert clock["agreeing"] == 5 and clock["span"] > 170
    assert datetime(2024, 8, 28, 21, 18, 3, tzinfo=VN) <= start <= datetime(2024, 8, 28, 21, 18, 6, tzinfo=VN)
    # the same, told where and how (the weekday is literal text of the format)
    told = Camera("yard", "yard", osd=osd_spec({"region": [0, 0.03, 0.35, 0.1], "format": "%m-%d-%Y Mié %H:%M:%S"}))
    start2, source, clock = recording_clock(NIGHT, info, told, reader, file_start, "mtime")
    assert source == "osd" and abs((start2 - start).total_seconds()) <= 1.0


def test_a_camera_given_an_on_screen_clock_after_indexing_says_its_start_is_stale(tmp_path):
    """A recording indexed when its camera had no `osd` (or time_source = "file") has its start from the file;
    a cameras file that now lets the camera's on-screen clock give the start makes that start stale
    (re-indexing would check it against the clock), for a hit's row and a video's row alike; a clock read and
    weighed at indexing, or still barred by time_source = "file", leaves it as it is."""
    from builders import Row, build_index
    from forensic.cameras import load_cameras
    from forensic.index.store import IndexStore
    from forensic.search.hits import clock_of

    def indexed(folder: Path, clock: dict | None) -> list:
        idx = build_index(folder, [Row(camera="gate", video="a.mp4", t=1.0)], start="2026-11-21T08:30:15+07:00",
                          recorded=("2026-11-21T08:30:15", "Asia/Ho_Chi_Minh", 0.0), clock=clock)
        with IndexStore(idx.root) as store:
            (hit_row,) = store.rows(idx.ids).values()
            (video_row,) = [dict(r) for r in store.videos()]
        video_row["clock_timezone"] = video_row["timezone"]  # as IndexStore.rows names it
        return [hit_row, video_row]

    unread = indexed(tmp_path / "unread", None)  # no osd for the camera at indexing
    read = {mode: indexed(tmp_path / mode, {"status": "reliable", "time_source": mode, "used": False, "disagreement": 30.0})
            for mode in ("auto", "file")}  # the clock read, its start not used (within 120 s of the file's; or barred)
    cams = tmp_path / "cameras.toml"
    osd = 'osd = { region = [0.5, 0.0, 1.0, 0.1], format = "%d/%m/%Y %H:%M:%S" }\n'

    def stale(text: str, rows: list) -> list:
        cams.write_text('[[camera]]\nid = "gate"\n' + text)
        config = load_cameras(cams)
        return [clock_of(row, config)[1].get("stale") for row in rows]

    assert stale("", unread) == [None, None]
    assert all(s and "on-screen clock" in s and "re-index" in s for s in stale(osd, unread))
    assert stale(osd + 'time_source = "file"\n', unread) == [None, None]
    assert stale(osd, read["auto"]) == [None, None]  # the clock was weighed when indexing: the start stands
    assert all(s and "re-index" in s for s in stale(osd, read["file"]))  # it was barred then, it may give the start now
