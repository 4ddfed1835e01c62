"""Cameras file: loading, errors, file ownership and forgiving place matching."""

from pathlib import Path

import pytest

from forensic.cameras import load_cameras
from forensic.errors import ForensicError

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "cameras.toml"


@pytest.fixture
def cams():
    return load_cameras(SAMPLE)


@pytest.mark.parametrize("words, camera", [
    ("ngã tư Trực Cát", "truccat"), ("Trực Cát", "truccat"), ("truc cat", "truccat"), ("TRUC CAT crossroads", "truccat"),
    ("Trưc Cat", "truccat"),  # a missing tone mark
    ("ngã tư Tân Phú", "tanphu"), ("tan phu", "tanphu"), ("Tan Phu crossroads", "tanphu"),
    ("hung vuong boulevard", "dailo"), ("bãi đỗ xe", "parking"),
])
def test_place_names_and_aliases(cams, words, camera):
    assert cams.find_place(words).id == camera


def test_unknown_place(cams):
    assert cams.find_place("chợ Bến Thành") is None
    assert "Ngã tư Trực Cát" in cams.known_places()


def test_files_map_to_cameras_else_their_folder(cams):
    assert cams.for_path(Path("/srv/exports/vn_truccat_crossroad_day.mp4")).id == "truccat"
    assert cams.for_path(Path("/srv/exports/truccat/ch01_20261121083015.mp4")).id == "truccat"
    other = cams.for_path(Path("/srv/exports/cong_uy_ban/ch01.mp4"))
    assert other.id == "cong_uy_ban" and other.timezone == "Asia/Ho_Chi_Minh"
    assert cams.for_path(Path("/x/uk_campus_pedestrians_vtest.avi")).timezone == "Europe/London"


@pytest.mark.parametrize("text, message", [
    ("[[camera]]\nname = 'x'\n", "needs an id"),
    ("[[camera]]\nid = 'a'\ntimezone = 'Mars/Olympus'\n", "unknown timezone"),
    ("[[camera]\nid = 'a'", "not valid TOML"),
    ("[[camera]]\nid = 'a'\nclock_offset = 'soon'\n", "camera 'a'"),
])
def test_broken_files(tmp_path, text, message):
    f = tmp_path / "cameras.toml"
    f.write_text(text)
    with pytest.raises(ForensicError, match=message):
        load_cameras(f)


def test_missing_file_and_default_location(tmp_path):
    with pytest.raises(ForensicError, match="does not exist"):
        load_cameras(tmp_path / "nope.toml")
    assert load_cameras(None, tmp_path).cameras == []
    (tmp_path / "cameras.toml").write_text("[[camera]]\nid = 'gate'\nplaces = ['cổng']\n")
    assert load_cameras(None, tmp_path).cameras[0].id == "gate"


def test_time_pattern(tmp_path):
    f = tmp_path / "cameras.toml"
    f.write_text("[[camera]]\nid = 'gate'\nmatch = ['*/gate/*']\ntime_pattern = 'CONG_%d%m%Y_%H%M%S'\n\n[[camera]]\nid = 'b'\n")
    cams = load_cameras(f)
    gate = cams.for_path(Path("/srv/gate/CONG_21112026_083015.mp4"))
    assert gate.time_pattern == "CONG_%d%m%Y_%H%M%S" and cams.cameras[1].time_pattern is None


@pytest.mark.parametrize("value, message", [
    ("'%H%M%S'", "camera 'a': time pattern '%H%M%S' lacks"),
    ("'%Y%m%d %H:%M:%f'", "%f is not supported"),
    ("20261121", "time_pattern must be text"),
])
def test_bad_time_pattern(tmp_path, value, message):
    f = tmp_path / "cameras.toml"
    f.write_text(f"[[camera]]\nid = 'a'\ntime_pattern = {value}\n")
    with pytest.raises(ForensicError, match=message):
        load_cameras(f)


def test_sample_time_pattern_reads_its_example_name(cams):
    from forensic.timestamps import from_pattern

    gate = next(c for c in cams.cameras if c.time_pattern)
    assert from_pattern("/srv/cctv/cong_ubnd/CONG-UBND_21-11-2026_08-30-15.mp4", gate.time_pattern).isoformat() == "2026-11-21T08:30:15+07:00"
