"""Recording start times from DVR/NVR export names, else from the file's time."""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from forensic.timestamps import from_filename, recording_start

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
