"""The crossroad clip's wall-clock time from its on-screen clock, through indexing, search, `cameras` and `stats`
(the sample cameras file says where the Tân Phú recorder's clock is; its container time is 7 hours off)."""

import json

import pytest
from click.testing import CliRunner

from forensic.api import SearchRequest, run_search
from forensic.cli import cli
from forensic.maintenance import list_cameras
from forensic.render import camera_lines

pytestmark = pytest.mark.slow


def test_the_index_records_the_clock_as_the_time_source(search_index):
    store = search_index["store"]
    row = next(r for r in store.videos() if r["path"].endswith("vn_crossroad_acview_day.mp4"))
    assert row["time_source"] == "osd" and row["start_time"].startswith("2021-08-06T13:52:27")
    clock = json.loads(row["clock"])
    assert clock["used"] and clock["status"] == "reliable" and clock["file_source"] == "container"
    assert clock["disagreement"] == pytest.approx(-(7 * 3600 + 10), abs=1.5)
    other = next(r for r in store.videos() if r["path"].endswith("vn_truccat_crossroad_day.mp4"))
    assert other["time_source"] != "osd" and other["clock"] is None  # no clock configured for that camera


def test_hits_say_their_time_came_from_the_clock(search_index):
    hits = run_search(SearchRequest(text="taxi", cameras=("tanphu",), limit=3), search_index["settings"]).hits
    assert hits
    for hit in hits:
        data = hit.to_json()
        assert data["time_source"] == "osd" and data["time"].startswith("2021-08-06T13:52:")
    from forensic.evidence.frames import Place, caption_lines

    assert caption_lines(hits[0], Place("tanphu", "Ngã tư Tân Phú", ""))[0].endswith("(on-screen clock)")
    truccat = run_search(SearchRequest(text="car", cameras=("truccat",), limit=1), search_index["settings"]).hits[0]
    assert truccat.to_json().get("time_source") not in (None, "osd") and "on-screen" not in caption_lines(truccat, Place("t", "t", ""))[0]


def test_cameras_and_stats_report_the_clock(search_index):
    source, cams = list_cameras(search_index["settings"])
    tanphu = next(c for c in cams if c["id"] == "tanphu")
    assert tanphu["osd"]["format"] == "%d/%m/%Y %H:%M:%S" and tanphu["time_source"] == "auto"
    rec = next(r for r in tanphu["recordings"] if r["path"].endswith("vn_crossroad_acview_day.mp4"))
    assert rec["time_source"] == "osd" and rec["clock"]["disagreement"] == pytest.approx(-25210, abs=1.5)
    lines = "\n".join(camera_lines(source, cams))
    assert "on-screen clock 2021-08-06T13:52:27" in lines and "used; the container time 2021-08-06T20:52:37 is 25210 s ahead of it" in lines
    stats = search_index["store"].stats()
    assert stats["time_sources"]["osd"] == 1


def test_a_broken_clock_option_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "cams.toml"
    bad.write_text('[[camera]]\nid = "gate"\nosd = { region = [0, 0, 50, 8], format = "%d/%m/%Y %H:%M" }\n')
    result = CliRunner().invoke(cli, ["--index", str(tmp_path / "idx"), "--cameras", str(bad), "cameras"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0 and "camera 'gate': osd region must have 0 <= x0" in result.stderr
