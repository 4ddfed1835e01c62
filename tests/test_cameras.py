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


# --- strict reading (issue 11 item 9): each mistake is one error naming its line ---------------------
GOOD = '[[camera]]\nid = "gate"\nname = "Cổng chợ"\nplaces = ["chợ Bến Thành"]\nmatch = ["*/gate/*"]\n\n'


@pytest.mark.parametrize("text, line, message", [
    (GOOD + '[[camera]]\nid = "yard"\ntiemzone = "Asia/Bangkok"\n', 9, r"unknown key 'tiemzone' \(did you mean 'timezone'\?\)"),
    (GOOD + '[[camera]]\nid = "yard"\nmatch = "*yard*"\n', 9, r"match must be a list of globs"),  # read as '*', 'y', ...: every file
    (GOOD + '[[camera]]\nid = "yard"\nplaces = "sân kho"\n', 9, r"places must be a list of texts"),
    (GOOD + '[[camera]]\nid = "yard"\nmatch = ["*yard*", 3]\n', 9, r"match must be a list of globs"),
    (GOOD + '[[camera]]\nid = 7\n', 8, r"id must be text"),
    (GOOD + '[[camera]]\nid = "yard"\nname = ["Sân"]\n', 9, r"name must be text"),
    (GOOD + '[[camera]]\nid = "yard"\ntime_pattern = 5\n', 9, r"time_pattern must be text"),
    (GOOD + '[[camera]]\nid = "yard"\n\nclock_offset = "soon"\n', 10, r"clock_offset must be a number"),
    (GOOD + '[[camera]]\nname = "Sân"\nid = "gate"\n', 9, r"id 'gate' is already the id of camera #1 \(line 2\)"),
    (GOOD + '[[camera]]\nid = "market"\nplaces = ["cho Ben Thanh"]\n', 9,
     r"the place 'cho Ben Thanh' is also a place of camera #1 \('gate', line 4\)"),
    (GOOD + '[[camera]]\nid = "market"\nname = "cổng chợ"\n', 9, r"the place 'cổng chợ' is also a place of camera #1 \('gate', line 3\)"),
    (GOOD + '[[camera]]\nid = "yard"\ntime_sorce = "osd"\n', 9, r"unknown key 'time_sorce' \(did you mean 'time_source'\?\)"),
    (GOOD + '[[camera]]\nid = "yard"\n\nosd = { region = [0, 0, 50, 8], format = "%d/%m/%Y %H:%M" }\n', 10,
     r"\(camera #2, osd\): camera 'yard': osd region must have 0 <= x0"),  # the clock's own checks (forensic.osd), placed
    (GOOD + '[[camera]]\nid = "yard"\ntime_source = "clock"\n', 9, r"\(camera #2, time_source\): .*must be one of auto, osd, file"),
    (GOOD + '[[camera]]\nid = "yard"\ntime_source = 1\n', 9, r"time_source must be text"),
    (GOOD + '[[camera]]\nid = "yard"\nname = "Sân"\ntime_source = "osd"\n', 10, r"time_source = \"osd\" needs osd"),
    ('[[cameras]]\nid = "gate"\n', 1, r"unknown key 'cameras'"),
    ('timezone = "Asia/Bangkok"\n' + GOOD, 1, r"unknown key 'timezone'"),
])
def test_strict_cameras_file(tmp_path, text, line, message):
    f = tmp_path / "cameras.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ForensicError, match=message) as e:
        load_cameras(f)
    assert f", line {line}" in str(e.value) and "\n" not in str(e.value)


def test_strict_reading_keeps_good_files(tmp_path):
    f = tmp_path / "cameras.toml"
    f.write_text(GOOD + '[[camera]]\nid = "yard"\nname = "Sân kho"\nplaces = ["Sân kho", "san kho"]\nclock_offset = -30\n', encoding="utf-8")
    cams = load_cameras(f)
    assert [c.id for c in cams.cameras] == ["gate", "yard"] and cams.cameras[1].clock_offset == -30.0
    assert len(load_cameras(SAMPLE).cameras) >= 7


def test_strict_cameras_file_from_the_command_line(tmp_path):
    from realdata import error_lines, one_red_car_index, run_cli

    index = one_red_car_index(tmp_path)
    f = tmp_path / "cameras.toml"
    f.write_text(GOOD + '[[camera]]\nid = "yard"\nmatch = "*yard*"\n', encoding="utf-8")
    result = run_cli("search", "red car", "--index", str(index), "--cameras", str(f))
    assert result.exit_code == 2
    assert error_lines(result) == [f"forensic: error: cameras file {f}, line 9 (camera #2, match): match must be a list of globs "
                                   f"of non-empty texts, like match = [\"*/truccat/*\", \"*ch01_*\"]; got '*yard*'"]


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


def test_forensic_cameras_lists_every_start_at_one_width():
    """A start read whole from a container ('...05:46:00+07:00', no fraction) was cut in the middle of its offset
    ('05:46:00+07:'); every recording's start is the camera's local time to the millisecond."""
    from forensic.render import camera_lines

    recordings = [{"path": "/f/a.mp4", "start": "2018-04-20T05:46:00+07:00", "time_source": "container"},
                  {"path": "/f/b.mp4", "start": "2021-08-06T13:52:27.300000+07:00", "time_source": "osd"}]
    lines = camera_lines("cams.toml", [{"id": "p", "name": "P", "places": [], "match": ["*"], "videos": ["/f/a.mp4", "/f/b.mp4"],
                                        "recordings": recordings}])
    assert lines[2:] == ["    /f/a.mp4  start 2018-04-20T05:46:00.000 (container)", "    /f/b.mp4  start 2021-08-06T13:52:27.300 (osd)"]
