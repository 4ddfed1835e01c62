"""forensic.api: a SearchRequest run by run_search, on a small hand-made index (no models, a second to
build): flags are filters shown once, --min-score cuts once before --limit, filters, sorting, the
record the audit log keeps, the command line on top of it, and the README's Python API example."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from forensic.api import SearchRequest, SearchResult, run_search
from forensic.detections import Detections
from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.settings import Settings
from forensic.video import VideoInfo
from realdata import REPO, run_cli, tiny_jpeg

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=TZ)
START = "2026-11-21T20:00:00+07:00"  # both videos start then

# (camera, class, whole-object colour shares, appearance vector): each object is one track of 3 frames
OBJECTS = [
    ("cam1", "car", {"red": 0.9, "black": 0.1}, [1, 0, 0, 0]),
    ("cam1", "motorcycle", {"red": 0.6, "black": 0.4}, [0, 1, 0, 0]),
    ("cam1", "car", {"white": 0.9, "grey": 0.1}, [0.9, 0.1, 0, 0]),
    ("cam2", "car", {"red": 0.3, "grey": 0.7}, [0.8, 0, 0.2, 0]),
    ("cam2", "motorcycle", {"red": 0.2, "black": 0.8}, [0, 0.7, 0.3, 0]),
    ("cam2", "car", {"red": 0.12, "grey": 0.88}, [0.7, 0, 0, 0.3]),
]


def build_small_index(root: Path, videos: Path) -> Path:
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", "appearance-test/v1", 4)
        for camera in ("cam1", "cam2"):
            video = videos / camera / "a.mp4"
            video.parent.mkdir(parents=True, exist_ok=True)
            video.write_bytes(b"0" * 64)
            mine = [o for o in OBJECTS if o[0] == camera]
            vid = store.begin_video(video, camera, VideoInfo(video, fps=25.0, frames=100, width=640, height=480), 2.0, "fp-" + camera,
                                    start_time=START, time_source="test")
            for f in range(3):
                boxes = np.array([[20 + 100 * k + 4 * f, 50, 100 + 100 * k + 4 * f, 150] for k in range(len(mine))], np.float32)
                dets = Detections(boxes, np.full(len(mine), 0.8, np.float32), np.array([o[1] for o in mine]))
                dets.tracker_id = np.arange(len(mine))
                vecs = np.array([o[3] for o in mine], np.float32)
                store.add_detections(vid, 12 * f, 0.5 * f, dets, [{"whole": o[2]} for o in mine], np.full(len(mine), 0.5, np.float32),
                                     [tiny_jpeg(k) for k in range(len(mine))], {"appearance": vecs / np.linalg.norm(vecs, axis=1, keepdims=True)})
                store.commit()
            store.finish_video(vid)
        store.sync_search_files()
    return root


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("api")
    return build_small_index(base / "idx", base / "videos")


@pytest.fixture
def settings(small_index) -> Settings:
    return Settings.from_env({}, index=small_index)


def search(settings, **request) -> SearchResult:
    return run_search(SearchRequest(**request), settings, now=NOW)


# --- flags are filters, shown once ---------------------------------------------------------------
def test_class_and_colour_flags_alone_are_understood_once(settings):
    result = search(settings, classes=("motorcycle",), colors=("red",))
    assert result.understood == {"class": ["motorcycle"], "colour": ["red"]}
    assert result.hits and {h.cls for h in result.hits} == {"motorcycle"}
    assert result.hits[0].camera == "cam1"  # the red one first


def test_a_colour_flag_the_text_also_names_counts_once(settings):
    result = search(settings, text="red car", colors=("red",))
    assert result.understood == {"class": ["car"], "colour": ["red"]}
    plain = search(settings, text="red car").hits  # the text ranks (red first), the flag filters: a prefix of it
    assert result.hits and [h.score for h in result.hits] == [h.score for h in plain][:len(result.hits)]
    assert len(plain) > len(result.hits)
    assert search(settings, text="car", colors=("Gray",)).understood == {"class": ["car"], "colour": ["grey"]}


def test_a_class_flag_replaces_the_text_classes(settings):
    result = search(settings, text="red car", classes=("motorcycle",))
    assert result.understood["class"] == ["motorcycle"] and {h.cls for h in result.hits} == {"motorcycle"}


def test_flags_stay_apart_from_the_text_in_the_request():
    request = SearchRequest(text="red car", classes="motorcycle", colors=["red"])
    assert request.text == "red car" and request.classes == ("motorcycle",) and request.colors == ("red",)
    with pytest.raises(FrozenInstanceError):
        request.limit = 3  # type: ignore[misc]


# --- --min-score once, before --limit -----------------------------------------------------------
def hits_of(result: SearchResult) -> list[tuple[int, float]]:
    return [(h.id, h.score) for h in result.hits]


@pytest.mark.parametrize("request_kwargs", [{"text": "red"}, {"text": "car"}, {"similar_to": "first car"}], ids=["colour", "class", "similar"])
def test_min_score_cuts_before_the_limit(settings, small_index, request_kwargs):
    if request_kwargs.get("similar_to") == "first car":
        with IndexStore(small_index) as store:
            request_kwargs = {"similar_to": int(store.db.execute("SELECT MIN(id) FROM detections WHERE cls='car'").fetchone()[0])}
    everything = search(settings, **request_kwargs, limit=100)
    scores = [s for _, s in hits_of(everything)]
    assert len(scores) >= 3 and scores == sorted(scores, reverse=True)
    threshold = (scores[1] + scores[2]) / 2  # two hits pass
    for limit in (1, 2, 5):
        cut = search(settings, **request_kwargs, limit=limit, min_score=threshold)
        assert hits_of(cut) == [(i, s) for i, s in hits_of(everything) if s >= threshold][:limit]
    assert search(settings, **request_kwargs, min_score=scores[0] + 1e-3).hits == []


# --- filters, sorting, results ------------------------------------------------------------------
def test_camera_and_time_filters(settings):
    assert {h.camera for h in search(settings, text="car", cameras=("cam2",)).hits} == {"cam2"}
    assert len(search(settings, text="car", since="2026-11-21T19:30", until="2026-11-21T20:30").hits) == 4
    assert search(settings, text="car", since="2026-11-21T20:30").hits == []
    assert search(settings, text="car", until=datetime(2026, 11, 21, 19, 0)).hits == []  # a naive datetime is in `timezone`
    result = search(settings, text="car", since="yesterday")  # relative to `now`
    assert len(result.hits) == 4 and result.understood["time"] == "2026-11-21T00:00+07:00 to ..."
    with pytest.raises(ForensicError, match="unknown camera 'nowhere'; known: cam1, cam2"):
        search(settings, text="car", cameras=("nowhere",))


def test_bad_and_reversed_time_windows_are_refused(settings):
    """Issue 11: garbage was reinterpreted (2026-11-21T25:99 became today 11:00) and --since after --until was accepted."""
    with pytest.raises(ForensicError, match=r"'2026-11-21T25:99' is not a valid date or time"):
        search(settings, text="car", since="2026-11-21T25:99")
    with pytest.raises(ForensicError, match=r"--since 2026-11-21T21:00 is not before --until 2026-11-21T20:00"):
        search(settings, text="car", since="2026-11-21T21:00", until="2026-11-21T20:00")
    for args in (["--since", "2026-11-21T25:99"], ["--since", "2026-11-21T21:00", "--until", "2026-11-21T20:00"], ["--until", "25:00"]):
        result = run_cli("search", "car", "--index", str(settings.index), *args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("forensic: error: "), result.output


def cameras_file(tmp_path, cam2_zone="Europe/London") -> Path:
    f = tmp_path / "cameras.toml"
    f.write_text(f'[[camera]]\nid = "cam1"\nmatch = ["*/cam1/*"]\n\n[[camera]]\nid = "cam2"\nmatch = ["*/cam2/*"]\n'
                 f'timezone = "{cam2_zone}"\n', encoding="utf-8")
    return f


def test_since_and_until_are_read_in_the_cameras_timezone(settings, tmp_path):
    """The recordings start at 20:00 in Vietnam, 13:00 in London. Typed times were always read as Vietnam time."""
    london = Settings.from_env({}, index=settings.index, cameras=cameras_file(tmp_path))
    assert len(search(london, text="car", cameras=("cam2",), since="2026-11-21T12:30", until="2026-11-21T13:30").hits) == 2
    assert search(london, text="car", cameras=("cam2",), since="2026-11-21T19:30", until="2026-11-21T20:30").hits == []
    # an explicit offset wins, whatever the cameras
    assert len(search(london, text="car", since="2026-11-21T12:30Z", until="2026-11-21T13:30Z").hits) == 4
    # cameras in different timezones: a bare time of day would mean two instants
    with pytest.raises(ForensicError, match=r"cameras are in different timezones \(Asia/Ho_Chi_Minh, Europe/London\)"):
        search(london, text="car", since="2026-11-21T12:30")
    with pytest.raises(ForensicError, match="ambiguous"):
        search(london, text="car tối qua")
    assert search(london, text="car tối qua", cameras=("cam1",)).understood["time"].startswith("2026-11-21T18:00+07:00")
    # all cameras in one timezone: that one
    same = Settings.from_env({}, index=settings.index, cameras=cameras_file(tmp_path, "Asia/Ho_Chi_Minh"))
    assert len(search(same, text="car", since="2026-11-21T19:30", until="2026-11-21T20:30").hits) == 4


def test_videos_indexed_before_the_recorded_start_was_kept_say_their_time_is_stale(settings, tmp_path):
    london = Settings.from_env({}, index=settings.index, cameras=cameras_file(tmp_path))
    hits = search(london, text="car", per_frame=True, limit=50).hits
    by_camera = {h.camera: h.clock for h in hits}
    assert by_camera["cam1"]["as_indexed"] is True and "stale" not in by_camera["cam1"]
    assert "re-index" in by_camera["cam2"]["stale"]
    assert {h.time[-6:] for h in hits} == {"+07:00"}  # the stored time, not silently moved
    assert "video_time" in by_camera["cam1"] and "indexed before" in by_camera["cam1"]["video_time"]


def test_sort_by_time_and_the_result(settings):
    result = search(settings, text="car", sort="time")
    assert [(h.time, h.video) for h in result.hits] == sorted((h.time, h.video) for h in result.hits)
    assert set(result.timings) >= {"prepare", "search", "total"} and "models" not in result.timings  # no CLIP here: no models built
    assert all(v >= 0 for v in result.timings.values())


def test_an_open_store_is_used_and_left_open(small_index):
    with IndexStore(small_index) as store:
        result = run_search(SearchRequest(text="red motorbike"), Settings(), store=store)
        assert result.hits and store.columns() is not None  # still usable


@pytest.mark.parametrize("kwargs, message", [
    ({}, "empty query"),
    ({"text": "  "}, "empty query"),
    ({"text": "red car", "image": "p.jpg"}, "not both"),
    ({"text": "red car", "limit": 0}, "--limit must be at least 1"),
    ({"text": "red car", "sort": "size"}, "unknown sort"),
    ({"text": "car", "classes": ("plane",)}, "unknown class 'plane'"),
    ({"text": "car", "colors": ("teal",)}, "unknown colour 'teal'"),
    ({"similar_to": 1, "text": "car"}, "hit id alone"),
    ({"image": Path("x.jpg"), "plates": ("51F12345",)}, "--plate goes with a text search"),
    ({"text": "car", "plates": ("-.",)}, "give letters or digits of the plate"),
])
def test_requests_that_cannot_run(kwargs, message):
    with pytest.raises(ForensicError, match=re.escape(message)):
        SearchRequest(**kwargs).validate()


def test_to_dict_is_what_the_audit_log_keeps(tmp_path):
    assert SearchRequest(text="red car").to_dict() == {"query": {"text": "red car"}, "filters": {"limit": 20}}
    request = SearchRequest(text="x", classes=("car",), colors=("red",), cameras=("cam1",), since="yesterday", min_score=0.4, limit=5,
                            sort="time", per_frame=True)
    assert request.to_dict()["filters"] == {"classes": ["car"], "colors": ["red"], "camera": ["cam1"], "since": "yesterday",
                                            "min_score": 0.4, "limit": 5, "sort": "time", "per_frame": True}
    photo = tmp_path / "p.jpg"
    photo.write_bytes(tiny_jpeg())
    query = SearchRequest(image=photo, any_class=True).to_dict()
    assert query["query"]["image"] == str(photo.resolve()) and len(query["query"]["image_sha256"]) == 64
    assert query["filters"] == {"limit": 20, "any_class": True}
    assert SearchRequest(similar_to=7).to_dict()["query"] == {"similar_to": 7}
    other = SearchRequest(text="x", until=datetime(2026, 11, 21, 20, 0, tzinfo=TZ), timezone="Asia/Bangkok").to_dict()
    assert json.loads(json.dumps(other))["filters"] == {"until": "2026-11-21T20:00:00+07:00", "limit": 20, "timezone": "Asia/Bangkok"}


# --- the command line runs the same request ------------------------------------------------------
def test_cli_flags_once_in_output_and_audit(small_index):
    result = run_cli("--index", str(small_index), "search", "--class", "motorcycle", "--color", "red", "--json", "--min-score", "0.3")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stderr.split("understood: ", 1)[1].splitlines()[0]) == {"class": ["motorcycle"], "colour": ["red"]}
    hits = json.loads(result.stdout)
    assert hits and all(h["class"] == "motorcycle" and h["score"] >= 0.3 for h in hits)
    table = run_cli("--index", str(small_index), "search", "--class", "motorcycle", "--color", "red", env={"COLUMNS": "200"})
    assert "understood: class: motorcycle; colour: red\n" in table.stdout
    entries = [json.loads(line) for line in (small_index / "audit.jsonl").read_text().splitlines()]
    first = entries[-2]
    assert first["command"] == "search" and first["query"] == {"text": None, "understood": {"class": ["motorcycle"], "colour": ["red"]}}
    assert first["filters"] == {"classes": ["motorcycle"], "colors": ["red"], "min_score": 0.3, "limit": 20}
    assert first["hit_ids"] == [h["id"] for h in hits]


def test_cli_export_top_runs_a_search_request(small_index, tmp_path, monkeypatch):
    """export --top builds a SearchRequest and exports its hits (ffmpeg itself stood in for: the cut is
    tests/evidence' business); a plain export records the search that found each hit."""
    import forensic.api
    import forensic.evidence.media

    seen = []

    def fake_export(items, out, before, after, exact, query, index_root, seal=None):
        seen.append((items, query))
        out.mkdir()
        (out / "manifest.json").write_text("{}")
        seal(out, {"items": []})  # the audit entry
        return {"items": [], "query": query}

    monkeypatch.setattr(forensic.evidence.media, "find_tool", lambda name: name)
    monkeypatch.setattr(forensic.api, "export_items", fake_export)
    result = run_cli("--index", str(small_index), "export", "--top", "2", "--out", str(tmp_path / "top"), "--class", "motorcycle",
                     "--color", "red", "--json")
    assert result.exit_code == 0, result.output
    items, query = seen[-1]
    assert [it.hit.cls for it in items] == ["motorcycle", "motorcycle"] and all(it.found_by is None for it in items)
    assert query == {"text": None, "understood": {"class": ["motorcycle"], "colour": ["red"]}}
    entry = json.loads((small_index / "audit.jsonl").read_text().splitlines()[-1])
    assert entry["command"] == "export" and entry["query"] == query and entry["hit_ids"] == [it.hit.id for it in items]
    assert entry["filters"] == {"classes": ["motorcycle"], "colors": ["red"], "limit": 2}

    found = json.loads(run_cli("--index", str(small_index), "search", "red car", "--limit", "1", "--json").stdout)[0]
    assert run_cli("--index", str(small_index), "export", str(found["id"]), "--out", str(tmp_path / "one")).exit_code == 0
    items, query = seen[-1]
    assert query is None and [it.hit.id for it in items] == [found["id"]]
    assert items[0].found_by["command"] == "search" and items[0].found_by["query"]["text"] == "red car"
    nothing = run_cli("--index", str(small_index), "export", "--top", "2", "--out", str(tmp_path / "none"), "red car", "--min-score", "2")
    assert nothing.exit_code == 2 and "the search found nothing to export" in nothing.stderr


# --- README --------------------------------------------------------------------------------------
def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    build_small_index(tmp_path / "forensic-index", tmp_path / "videos")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md (Python API)", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, SearchResult) and result.hits and all(h.cls == "car" and h.score >= 0.3 for h in result.hits)
    assert result.understood["class"] == ["car"] and result.understood["colour"] == ["red"] and "time" in result.understood
    assert "cam1" in capsys.readouterr().out
