"""Recording start times: a camera's own file-name pattern, DVR/NVR export names, the container's
creation time (clips made with ffmpeg in the test), else the file's time."""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from forensic.timestamps import (PatternError, choose_start, compile_pattern, from_container, from_filename, from_pattern,
                                 recording_start)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 21, 8, 30, 15, tzinfo=VN)


@pytest.mark.parametrize("name", [
    "ch01_20261121083015.mp4",                                        # Hikvision channel export
    "192.168.1.64_01_20261121083015_20261121084512.mp4",              # Hikvision: start and end
    "2026-11-21.08.30.15-2026-11-21.08.45.00[M][0@0][0].dav",         # Dahua
    "NVR_ch1_main_20261121083015_20261121084500.dav",                  # Dahua NVR
    "cam_20261121_083015.mp4",                                        # generic YYYYMMDD_HHMMSS
    "2026-11-21_08-30-15.mkv",                                        # generic YYYY-MM-DD_HH-MM-SS
    "Ngã tư Tân Phú 2026-11-21 08.30.15.mp4",
])
def test_names_give_the_start(name):
    assert from_filename(name) == START


@pytest.mark.parametrize("name", ["video.mp4", "20261399083015.mp4", "cam_1234567890123456.mp4", "2026-11-21.mp4"])
def test_names_without_a_valid_time(name):
    assert from_filename(name) is None


def test_timezone_and_offset(tmp_path):
    f = tmp_path / "20261121_083015.mp4"
    f.write_bytes(b"x")
    start, source = recording_start(f, 60.0, tz="UTC", offset=-30)
    assert source == "filename" and start == datetime(2026, 11, 21, 8, 29, 45, tzinfo=ZoneInfo("UTC"))


def test_file_time_is_the_end_of_the_recording(tmp_path):
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"x")
    end = datetime(2026, 11, 21, 9, 0, 0, tzinfo=VN)
    os.utime(f, (end.timestamp(), end.timestamp()))
    start, source = recording_start(f, 90.0)
    assert source == "mtime" and start == datetime(2026, 11, 21, 8, 58, 30, tzinfo=VN)


# --- a camera's own file-name pattern (cameras file `time_pattern`) ---------------------------
@pytest.mark.parametrize("pattern, name, expected", [
    ("CAM01_%Y%m%d_%H%M%S", "/srv/cong/CAM01_20261121_083015.mp4", START),
    ("%d%m%y_%H%M%S", "cong_ubnd_211126_083015.avi", START),  # day first, two-digit year
    ("kênh 1 %d.%m.%Y %H.%M.%S", "kênh 1 21.11.2026 08.30.15.mp4", START),
    ("%d-%m-%Y/%Hh%M", "/exports/21-11-2026/08h30.mp4", START.replace(second=0)),  # date from the folder
    ("*_%Y%m%d%H%M%S_*", "192.168.1.64_01_20261121083015_20261121084512.mp4", START),  # the first of two
    ("%Y%m%d%H%M%S", "x_120261121083015.mp4", None),  # digits never start inside a longer number
    ("CAM01_%Y%m%d_%H%M%S", "CAM01_20261399_083015.mp4", None),  # no such date
    ("CAM01_%Y%m%d_%H%M%S", "video.mp4", None),
])
def test_camera_patterns(pattern, name, expected):
    assert from_pattern(name, pattern) == expected


@pytest.mark.parametrize("pattern, message", [
    ("%H%M%S", "lacks %m, %d, %Y"),
    ("%Y%m%d_%H%M%f", "%f is not supported"),
    ("%Y%m%d%H%M%", "lone '%'"),
    ("%Y%m%d%H%M_%M", "%M twice"),
])
def test_bad_patterns(pattern, message):
    with pytest.raises(PatternError, match=message):
        compile_pattern(pattern)


def test_the_camera_pattern_comes_before_the_built_in_ones(tmp_path):
    """A recorder that writes day-first stamps: the built-in patterns would misread or miss them."""
    f = tmp_path / "CAM01_21112026_083015_20990101_000000.mp4"
    f.write_bytes(b"x")
    wrong, source = recording_start(f, 60.0)  # the built-in patterns find the wrong stamp
    assert source == "filename" and wrong.year == 2099
    start, source = recording_start(f, 60.0, pattern="CAM01_%d%m%Y_%H%M%S")
    assert source == "pattern" and start == START
    other = tmp_path / "20261121_083015.mp4"  # the pattern does not match: built-in patterns still apply
    other.write_bytes(b"x")
    assert recording_start(other, 60.0, pattern="CAM01_%d%m%Y_%H%M%S") == (START, "filename")


# --- the container's creation time (ffprobe) --------------------------------------------------
def make_clip(path, creation_time: str | None) -> None:
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("needs ffmpeg and ffprobe")
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=64x48:d=1", "-pix_fmt", "yuv420p"]
    if creation_time:
        cmd += ["-metadata", f"creation_time={creation_time}"]
    subprocess.run(cmd + [str(path)], check=True, timeout=60)


def test_container_creation_time(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, "2026-11-21T01:30:15.000000Z")  # UTC, as MP4 stores it
    assert from_container(clip) == START  # 08:30:15 in Vietnam
    assert from_container(clip, tz="UTC") == datetime(2026, 11, 21, 1, 30, 15, tzinfo=ZoneInfo("UTC"))
    os.utime(clip, (START.timestamp() + 3600, START.timestamp() + 3600))
    start, source = recording_start(clip, 1.0, offset=5)
    assert source == "container" and start == START.replace(second=20)  # the camera's offset applies too


def test_container_without_creation_time_falls_back_to_file_time(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, None)
    assert from_container(clip) is None
    end = datetime(2026, 11, 21, 9, 0, 0, tzinfo=VN)
    os.utime(clip, (end.timestamp(), end.timestamp()))
    assert recording_start(clip, 1.0) == (end - timedelta(seconds=1), "mtime")


def test_without_ffprobe_the_file_time_is_used_quietly(tmp_path, monkeypatch, caplog):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, "2026-11-21T01:30:15Z")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffprobe on the PATH
    end = datetime(2026, 11, 21, 9, 0, 0, tzinfo=VN)
    os.utime(clip, (end.timestamp(), end.timestamp()))
    assert from_container(clip) is None
    assert recording_start(clip, 1.0) == (datetime(2026, 11, 21, 8, 59, 59, tzinfo=VN), "mtime")
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_an_unreadable_file_has_no_container_time(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    assert from_container(junk) is None


# --- wall-clock time made when read, from the recorded start (issue 11) --------------------------------
def test_recorded_start_keeps_the_names_local_time_without_a_zone(tmp_path):
    from forensic.timestamps import recorded_start

    f = tmp_path / "20261121_083015.mp4"
    f.write_bytes(b"x")
    assert recorded_start(f, 60.0, tz="UTC") == ("2026-11-21T08:30:15", "filename")
    g = tmp_path / "clip.mp4"
    g.write_bytes(b"x")
    os.utime(g, (START.timestamp() + 90, START.timestamp() + 90))
    text, source = recorded_start(g, 90.0)
    assert source == "mtime" and datetime.fromisoformat(text) == START  # an instant, with its offset


def test_wall_clock_applies_the_cameras_timezone_and_offset_when_read():
    from forensic.timestamps import wall_clock

    vn = wall_clock("2026-11-21T08:30:15", "filename")
    assert vn.start == START and vn.dst is None and vn.at(90) == START + timedelta(seconds=90)
    fixed = wall_clock("2026-11-21T08:30:15", "filename", "UTC", -30)
    assert fixed.start == datetime(2026, 11, 21, 8, 29, 45, tzinfo=ZoneInfo("UTC"))
    moved = wall_clock("2026-11-21T01:30:15+00:00", "container", "Asia/Ho_Chi_Minh", 60)  # an instant: only shown in the zone
    assert moved.start == START + timedelta(seconds=60) and moved.start.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("local, dst, utc", [
    ("2026-03-08T02:30:00", "gap", datetime(2026, 3, 8, 7, 30)),      # 02:00-03:00 never happened in New York that night
    ("2026-11-01T01:30:00", "overlap", datetime(2026, 11, 1, 5, 30)),  # 01:00-02:00 happened twice: read as the first (EDT)
    ("2026-11-01T03:30:00", None, datetime(2026, 11, 1, 8, 30)),
])
def test_daylight_saving_gaps_and_overlaps_are_flagged(local, dst, utc):
    from datetime import timezone

    from forensic.timestamps import wall_clock

    clock = wall_clock(local, "filename", "America/New_York")
    assert clock.dst == dst and clock.start.astimezone(timezone.utc).replace(tzinfo=None) == utc
    assert (clock.dst_note is None) == (dst is None)
    if dst == "overlap":  # an hour of recording across the change: real seconds, not wall-clock arithmetic
        assert clock.at(3600).astimezone(timezone.utc).replace(tzinfo=None) == utc + timedelta(hours=1)
        assert clock.at(3600).strftime("%H:%M %z") == "01:30 -0500"


# --- the on-screen clock as a source (timestamps.choose_start) --------------------------------
CLOCK = datetime(2021, 8, 6, 13, 52, 27, tzinfo=VN)


@pytest.mark.parametrize("mode, file_time, file_source, used", [
    ("auto", CLOCK + timedelta(seconds=10), "container", False),  # agrees within 120 s: the recorder's own file time
    ("auto", CLOCK + timedelta(hours=7, seconds=10), "container", True),  # local time written as UTC: 7 h off
    ("auto", CLOCK - timedelta(seconds=121), "filename", True),
    ("auto", CLOCK + timedelta(seconds=10), "mtime", True),  # the file's time is only a guess
    ("osd", CLOCK + timedelta(seconds=10), "container", True),
    ("file", CLOCK + timedelta(hours=7), "container", False),
])
def test_when_the_clock_gives_the_start(mode, file_time, file_source, used):
    start, source, disagreement = choose_start(file_time, file_source, CLOCK, mode)
    assert (source == "osd") == used and start == (CLOCK if used else file_time)
    assert disagreement == (CLOCK - file_time).total_seconds()


def test_without_a_reliable_clock_the_file_time_stays():
    assert choose_start(START, "filename", None, "osd") == (START, "filename", None)
    with pytest.raises(ValueError, match="time_source must be one of auto, osd, file"):
        choose_start(START, "filename", CLOCK, "clock")
