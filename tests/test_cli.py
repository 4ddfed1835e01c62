"""The command line: bad input gives one clear line and the documented exit code (0 ok, 1 some files
failed, 2 usage or configuration), never a traceback; results come out as stable JSON."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from builders import SCENE, write_video
from forensic.index.store import IndexStore
from forensic.models import base
from realdata import DELIVERY_RIDER, RED_JACKET_RIDER, TRUCCAT, WHITE_SUV, error_lines
from realdata import run_cli as run

FAST = ["--fps", "1", "--imgsz", "320", "--device", "cpu"]  # index options: a few frames, small input


def failed_lines(result) -> list[str]:
    """The summary's '  failed: ...' lines (log lines carry a timestamp first)."""
    return [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("failed:")]



def test_click_separates_stderr():
    import importlib.metadata

    major, minor = (int(x) for x in importlib.metadata.version("click").split(".")[:2])
    assert (major, minor) >= (8, 2), "these tests read result.stderr separately (click 8.2+)"


@pytest.fixture
def shared_models(models_dir):
    return {"FORENSIC_MODELS": str(models_dir)}


@pytest.fixture
def good_video(tmp_path) -> Path:
    """A synthetic video of builders.SCENE's 'cam1' (indexed with the stub_detector fixture)."""
    return write_video(tmp_path / "cam" / "good.mp4", SCENE["cam1"])


def done_videos(index: Path) -> dict[str, object]:
    with IndexStore(index) as store:
        return {Path(r["path"]).name: r["error"] for r in store.videos("done")}


def test_missing_path_fails_alone_and_the_rest_is_indexed(tmp_path, good_video, stub_detector):
    missing = tmp_path / "no such folder" / "cam 2.mp4"
    result = run("--index", str(tmp_path / "idx"), "index", *FAST, str(good_video), str(missing))
    assert result.exit_code == 1, result.output
    (line,) = failed_lines(result)
    assert str(missing) in line and "no such file" in line
    assert "1 indexed" in result.stderr and "1 failed" in result.stderr
    assert done_videos(tmp_path / "idx") == {"good.mp4": None}
    assert stub_detector.calls > 0  # indexed by the stub: no weights were needed


def truncated(tmp_path, footage) -> Path:
    data = (footage / TRUCCAT).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) * 2 // 5])
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind, words", [
    ("text", "not a readable video"),
    ("empty", "empty file (0 bytes)"),
    ("truncated", "truncated or corrupt"),
])
def test_a_bad_file_gets_one_clear_line(tmp_path, footage, shared_models, kind, words):
    if kind == "text":
        bad = tmp_path / "x.mp4"
        bad.write_text("this is not a video\n" * 50)
    elif kind == "empty":
        bad = tmp_path / "zero.mp4"
        bad.write_bytes(b"")
    else:
        bad = truncated(tmp_path, footage)
    result = run("--index", str(tmp_path / "idx"), "index", *FAST, str(bad), env=shared_models)
    assert result.exit_code == 1, result.output
    (line,) = failed_lines(result)
    assert str(bad) in line and words in line
    if kind == "truncated":  # what could be read is searchable, with the reason kept
        assert "truncated" in done_videos(tmp_path / "idx")["cut.mp4"]
    else:
        assert done_videos(tmp_path / "idx") == {}


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(tmp_path, query):
    result = run("--index", str(tmp_path / "idx"), "search", query)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "empty query" in result.stderr and result.stdout == ""


def test_no_query_at_all_and_both_kinds(tmp_path):
    assert run("--index", str(tmp_path / "idx"), "search").exit_code == 2
    both = run("--index", str(tmp_path / "idx"), "search", "red car", "--image", str(tmp_path / "p.jpg"))
    assert both.exit_code == 2 and len(error_lines(both)) == 1 and "not both" in both.stderr


@pytest.fixture
def empty_index(tmp_path) -> Path:
    IndexStore(tmp_path / "idx", writer=True).close()
    return tmp_path / "idx"


@pytest.mark.parametrize("photo", ["notes.jpg", "missing.png"])
def test_unreadable_photo(tmp_path, empty_index, photo):
    path = tmp_path / photo
    if photo == "notes.jpg":
        path.write_text("a text file, not a photo")
    result = run("--index", str(empty_index), "search", "--image", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = error_lines(result)
    assert str(path) in line and ("cannot read photo" in line or "does not exist" in line)


def test_unreadable_photo_is_reported_before_anything_else(tmp_path, empty_index):
    """A bad --image is one line on stderr: the photo is read before any model is loaded (whose notes would add lines)."""
    path = tmp_path / "notes.jpg"
    path.write_text("a text file, not a photo")
    result = run("--index", str(empty_index), "search", "--image", str(path))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr


def test_search_without_an_index(tmp_path):
    result = run("--index", str(tmp_path / "nowhere"), "search", "red motorbike")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no index at" in result.stderr and str(tmp_path / "nowhere") in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_meaningless_query_says_what_was_ignored(empty_index):
    result = run("--index", str(empty_index), "search", "zebra crossing")
    assert result.exit_code == 2 and "zebra crossing" in result.stderr and result.stderr.count("\n") == 1


def test_limit_must_be_positive(empty_index):
    assert run("--index", str(empty_index), "search", "red car", "--limit", "0").exit_code == 2


@pytest.mark.parametrize("command", [["index", "x.mp4"], ["search", "red motorbike"]])
def test_broken_setting_in_the_environment(tmp_path, empty_index, command):
    result = run("--index", str(empty_index), *command, env={"FORENSIC_FPS": "abc"})
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "FORENSIC_FPS='abc'" in line and result.stderr.count("\n") == 1


def test_bad_option_value_is_a_usage_error(tmp_path):
    result = run("--index", str(tmp_path / "idx"), "index", "--imgsz", "100", "x.mp4")
    assert result.exit_code == 2 and "--imgsz" in result.stderr


def test_offline_without_weights_names_the_file_and_download(tmp_path, good_video, monkeypatch):
    """No weights in --models and no --download: exit 2 with one line, nothing fetched."""
    monkeypatch.setattr(base, "USER_MODELS", tmp_path / "user-cache")  # the user's cache must not help either
    empty = tmp_path / "models"
    empty.mkdir()
    result = run("--models", str(empty), "--index", str(tmp_path / "idx"), "index", "--device", "cpu", str(good_video))
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert "yolo11n.pt" in line and "--download" in line and str(empty) in line
    assert list(empty.iterdir()) == [] and not (tmp_path / "user-cache").exists()


# --- results on the real session index -------------------------------------------------------------
JSON_KEYS = {"id", "video", "camera", "t", "time", "bbox", "class", "score", "colors", "thumb"}


def check_hit_json(h: dict) -> None:
    assert JSON_KEYS <= set(h)
    assert isinstance(h["id"], int)
    assert Path(h["video"]).is_absolute() and Path(h["video"]).exists()
    assert h["camera"] in {"acview", "truccat"}
    assert isinstance(h["t"], float) and h["t"] >= 0
    assert datetime.fromisoformat(h["time"]).tzinfo is not None
    assert len(h["bbox"]) == 4 and all(isinstance(v, float) for v in h["bbox"])
    assert h["bbox"][0] < h["bbox"][2] and h["bbox"][1] < h["bbox"][3]
    assert isinstance(h["class"], str) and isinstance(h["score"], float)
    assert isinstance(h["colors"], list) and all(isinstance(c, str) for c in h["colors"])
    assert Path(h["thumb"]).is_absolute() and Path(h["thumb"]).is_file()


class JsonHit:
    def __init__(self, h: dict):
        self.video, self.t, self.bbox, self.cls = h["video"], h["t"], h["bbox"], h["class"]


@pytest.mark.slow
def test_text_search_json(real_index):
    result = run("--index", str(real_index.root), "search", "xe máy màu đỏ", "--json", "--limit", "5")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    for h in hits:
        check_hit_json(h)
    assert any(RED_JACKET_RIDER.hit(JsonHit(h)) or DELIVERY_RIDER.hit(JsonHit(h)) for h in hits[:3])
    understood = json.loads(result.stderr.split("understood: ", 1)[1].splitlines()[0])
    assert understood == {"class": ["motorcycle"], "colour": ["red"]}


@pytest.mark.slow
def test_text_search_table(real_index):
    result = run("--index", str(real_index.root), "search", "white car", "--limit", "3", env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "understood: class: car; colour: white" in result.stdout
    rows = [line for line in result.stdout.splitlines() if ".mp4" in line]
    assert len(rows) == 3 and all(" car " in row and "white" in row and ".jpg" in row for row in rows)
    assert any(TRUCCAT in row for row in rows)  # the white SUV crossing the truccat crossroad among them


@pytest.mark.slow
def test_photo_search_json(real_index, photos, models_dir):
    result = run("--index", str(real_index.root), "--models", str(models_dir), "search", "--image",
                 str(photos / "white_suv_everest.png"), "--json", "--limit", "5", "--imgsz", "416", "--device", "cpu")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    for h in hits:
        check_hit_json(h)
    assert WHITE_SUV.hit(JsonHit(hits[0]))


@pytest.mark.slow
def test_keyframe_mode_indexes_keyframes_only(tmp_path, footage, shared_models):
    """--keyframes: every stored detection is on a keyframe, and the green taxi is still found."""
    pytest.importorskip("av", reason="keyframe-only reading needs PyAV")
    from test_video import keyframe_times

    from realdata import ACVIEW

    index = tmp_path / "idx"
    result = run("--index", str(index), "index", "--keyframes", "--fps", "2", "--imgsz", "320", "--device", "cpu",
                 str(footage / ACVIEW), env=shared_models)
    assert result.exit_code == 0, result.output
    keys = keyframe_times(footage / ACVIEW)
    with IndexStore(index) as store:
        times = {r[0] for r in store.db.execute("SELECT DISTINCT t FROM detections")}
    assert times and all(min(abs(t - k) for k in keys) < 1e-3 for t in times)
    hits = json.loads(run("--index", str(index), "search", "green taxi", "--json").stdout)
    assert hits and hits[0]["class"] == "car" and "green" in hits[0]["colors"]


# --- the nightly job: logs for collectors, files that vanish, readers beside the writer -------------------
def test_json_log_lines_and_quiet(tmp_path, good_video, stub_detector):
    missing = tmp_path / "gone.mp4"
    log_file = tmp_path / "index.log"
    result = run("--log-format", "json", "--log-file", str(log_file), "--index", str(tmp_path / "idx"), "index", *FAST,
                 str(good_video), str(missing))
    assert result.exit_code == 1
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    events = {(r["event"], Path(r["path"]).name) for r in records if "event" in r}
    assert {("done", "good.mp4"), ("failed", "gone.mp4")} <= events
    assert all({"time", "level", "message"} <= set(r) for r in records)
    quiet = run("-q", "--index", str(tmp_path / "idx2"), "index", *FAST, str(good_video), str(missing))
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert quiet.exit_code == 1 and not any("indexed /" in line for line in lines)  # no progress lines
    assert any("gone.mp4" in line for line in lines) and any("1 indexed" in line for line in lines)


def test_a_file_that_vanishes_mid_run_fails_alone(tmp_path, stub_detector, monkeypatch):
    """Listed, then deleted before its turn (a recorder rotating its exports): one line, the rest indexed."""
    from forensic.index import pipeline

    folder = tmp_path / "cam"
    write_video(folder / "a.mp4", SCENE["cam1"])
    write_video(folder / "b.mp4", SCENE["cam2"])
    real_probe = pipeline.probe

    def probe_and_rotate(path):  # seam: the recorder deletes b.mp4 while a.mp4 is being indexed
        if path.name == "a.mp4":
            (folder / "b.mp4").unlink()
        return real_probe(path)

    monkeypatch.setattr(pipeline, "probe", probe_and_rotate)
    result = run("--index", str(tmp_path / "idx"), "index", "--settle", "0", *FAST, str(folder))
    assert result.exit_code == 1, result.output
    (line,) = failed_lines(result)
    assert "b.mp4" in line and "No such file" in line
    assert done_videos(tmp_path / "idx") == {"a.mp4": None}


@pytest.mark.slow
def test_search_works_while_an_index_run_is_writing(tmp_path, footage, models_dir):
    import subprocess
    import sys
    import time

    index = tmp_path / "idx"
    first = tmp_path / "first"
    first.mkdir()
    (first / TRUCCAT).symlink_to(footage / TRUCCAT)
    env = {"FORENSIC_MODELS": str(models_dir)}
    assert run("--index", str(index), "index", *FAST, str(first), env=env).exit_code == 0
    writer = subprocess.Popen([sys.executable, "-m", "forensic", "--index", str(index), "index", "--fps", "4", "--imgsz", "320",
                               "--device", "cpu", str(footage / "uk_campus_pedestrians_vtest.avi")],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and writer.poll() is None:
            with IndexStore(index) as store:
                if store.videos("indexing"):
                    break
            time.sleep(0.1)
        assert writer.poll() is None, "the writer finished before the search could run beside it"
        result = run("--index", str(index), "search", "white car", "--json", "--limit", "3")
        assert result.exit_code == 0, result.output
        hits = json.loads(result.stdout)
        assert hits and all(Path(h["video"]).name == TRUCCAT for h in hits)  # the unfinished video is not searched yet
        blocked = run("--index", str(index), "index", *FAST, str(first), env=env)
        assert blocked.exit_code == 2 and "another 'forensic index' is writing" in blocked.stderr
    finally:
        out = writer.communicate(timeout=600)[1].decode()
    assert writer.returncode == 0, out
