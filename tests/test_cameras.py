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


def test_the_on_screen_clock_option(tmp_path):
    f = tmp_path / "cameras.toml"
    f.write_text('[[camera]]\nid = "a"\nosd = { region = [0.74, 0, 1, 0.06], format = "%d/%m/%Y %H:%M:%S" }\n'
                 '[[camera]]\nid = "b"\nosd = { region = [0, 0, 0.5, 0.08], format = "%d/%m/%Y %H:%M" }\ntime_source = "osd"\n'
                 '[[camera]]\nid = "c"\n[[camera]]\nid = "d"\nosd = "auto"\ntime_source = "osd"\n')
    a, b, c, d = load_cameras(f).cameras
    assert d.osd.auto and d.time_source == "osd"
    assert a.osd.region == (0.74, 0.0, 1.0, 0.06) and a.time_source == "auto" and a.osd.format.resolution == 1
    assert b.time_source == "osd" and b.osd.format.resolution == 60
    assert c.osd is None and c.time_source == "auto"
    tanphu = next(cam for cam in load_cameras(SAMPLE).cameras if cam.id == "tanphu")
    assert tanphu.osd is not None and tanphu.clock_offset == 0  # never both (the offset would move the clock too)


@pytest.mark.parametrize("text, message", [
    ('osd = "top right"', r"camera 'a': osd must be \"auto\" or a table"),
    ('osd = { region = [0, 0, 50, 8], format = "%d/%m/%Y %H:%M" }', r"camera 'a': osd region must have 0 <= x0"),
    ('osd = { region = [0, 0, 0.5, 0.08], format = "%d/%m/%Y" }', r"camera 'a': osd format '%d/%m/%Y' lacks %H, %M"),
    ('osd = { region = [0, 0, 0.5, 0.08] }', r"camera 'a': osd needs both region and format"),
    ('time_source = "osd"', r"camera 'a': time_source = \"osd\" needs osd"),
    ('time_source = "clock"', r"camera 'a': time_source must be one of auto, osd, file"),
])
def test_a_broken_clock_option_is_one_clear_error(tmp_path, text, message):
    f = tmp_path / "cameras.toml"
    f.write_text(f"[[camera]]\nid = 'a'\n{text}\n")
    with pytest.raises(ForensicError, match=message):
        load_cameras(f)
