"""Plate queries (typed or --plate) on a small index written through the store, whose tracks carry the
plates a reader would have stored (fast); and on real footage (slow: marked by conftest): the session
index (conftest real_index: the two crossroad clips at 2 fps) read the green taxi's plate at index
time, and plate queries find it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from forensic.api import SearchRequest, run_search
from forensic.index.store import IndexStore
from forensic.plates import PlatePattern
from forensic.settings import Settings
from builders import Row, build_index
from realdata import ACVIEW, GREEN_TAXI, GREEN_TAXI_PLATE, run_cli

# --- on plates stored by hand --------------------------------------------------------------------
# A green taxi read as 30F-621.51 (on one of its two views), a white car with another plate, a white
# car whose plate was never read, and a red motorbike with a motorbike plate.
PLATE_ROWS = [Row("car", "green", 1.0, track=1), Row("car", "green", 1.5, track=1, plate="30F-621.51"),
              Row("car", "white", 2.0, track=2, plate="51G-123.45"), Row("car", "white", 2.5, track=3),
              Row("motorcycle", "red", 3.0, "cam2", track=4, plate="29-B1 123.45")]


@pytest.fixture(scope="module")
def plates_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("plates"), PLATE_ROWS)


@pytest.mark.parametrize("args", [
    ("biển số 30F-621.51",), ("--plate", "*621.5?"), ("--plate", "30F62151"), ("taxi xanh biển 30F-621.51",),
    ("BKS 30F-621.51 xe ô tô",), ("biển số 30F-621.57",), ("--plate", "30F-627.51"), ("plate 36F-621.51",),
])
def test_plate_queries_find_the_taxi_first_even_one_character_off(plates_index, args):
    hits = json_hits(plates_index.root, *args, "--limit", "5")
    assert hits and hits[0]["id"] in plates_index.ids[:2], [(h["class"], h.get("plate")) for h in hits]
    plate = hits[0]["plate"]
    assert plate["text"] == "30F-621.51" and set(plate) >= {"text", "confidence", "crop"} and Path(plate["crop"]).is_file()


def test_a_stored_plate_alone_filters_and_with_appearance_it_does_not(plates_index):
    settings = Settings.from_env({}, index=plates_index.root)
    only = run_search(SearchRequest(plates=("30F-621.51",), limit=50), settings)
    assert [h.plate["text"] for h in only.hits] == ["30F-621.51"]  # only tracks whose plate matches
    motorbike = run_search(SearchRequest(plates=("29B112345",), limit=50), settings)
    assert [h.cls for h in motorbike.hits] == ["motorcycle"]
    mixed = run_search(SearchRequest(text="white car", plates=("99Z-999.99",), limit=10), settings)
    plain = run_search(SearchRequest(text="white car", limit=10), settings)
    assert [h.id for h in mixed.hits] == [h.id for h in plain.hits] and len(plain.hits) >= 2  # the unread plate's car too
    assert mixed.understood["plate"] == ["99Z-999.99"]


def test_stored_plates_in_the_table(plates_index):
    result = run_cli("--index", str(plates_index.root), "search", "--plate", "*621.5?", "--limit", "2", env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "30F-621.51" in result.stdout and "a.mp4" in result.stdout


# --- on real footage -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plated(real_index):
    if real_index.models.plates is None:
        pytest.skip("the plate reader is not installed (pip install -e '.[plates]')")
    return real_index


def json_hits(index: Path, *args: str) -> list[dict]:
    result = run_cli("--index", str(index), "search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class JsonHit:
    def __init__(self, d):
        self.video, self.t, self.bbox, self.cls = d["video"], d["t"], d["bbox"], d["class"]


def is_taxi(hit: dict) -> bool:
    return GREEN_TAXI.hit(JsonHit(hit))


def test_the_taxi_plate_is_read_and_stored(plated):
    with IndexStore(plated.root) as store:
        rows = store.db.execute(
            "SELECT p.*, d.video_id, d.t, d.x1, d.y1, d.x2, d.y2, d.cls, v.path FROM plates p JOIN detections d ON d.id=p.det_id "
            "JOIN videos v ON v.id=d.video_id").fetchall()
        assert rows and all(r["track"] for r in rows)  # every plate belongs to a track
        assert len({r["track"] for r in rows}) == len(rows)  # one plate per track
        taxi = [r for r in rows if GREEN_TAXI.matches(r["path"], r["t"], [r["x1"], r["y1"], r["x2"], r["y2"]], r["cls"])]
    assert len(taxi) == 1, [(r["text"], r["t"]) for r in rows]
    plate = taxi[0]
    assert PlatePattern.parse(GREEN_TAXI_PLATE).distance(plate["norm"]) <= 1.0, plate["text"]  # at most one character off
    assert 0 < plate["conf"] <= 1 and plate["reads"] >= 1
    crop = plated.root / plate["crop"]
    assert crop.is_file() and stat.S_IMODE(os.stat(crop).st_mode) == 0o600
    assert crop.parent.parent.name == "plates"


@pytest.mark.parametrize("args", [
    ("biển số 30F-621.51",),
    ("--plate", "*621.5?"),
    ("--plate", "30F62151"),
    ("taxi xanh biển 30F-621.51",),
    ("BKS 30F-621.51 xe ô tô",),
])
def test_plate_queries_put_the_green_taxi_first(plated, args):
    hits = json_hits(plated.root, *args, "--limit", "5")
    assert hits and is_taxi(hits[0]), [(h["class"], h["t"], h.get("plate")) for h in hits]
    plate = hits[0]["plate"]
    assert set(plate) >= {"text", "confidence", "crop"} and Path(plate["crop"]).is_file()


@pytest.mark.parametrize("args", [("biển số 30F-621.57",), ("--plate", "30F-627.51"), ("plate 36F-621.51",)])
def test_one_wrong_character_still_finds_the_taxi(plated, args):
    hits = json_hits(plated.root, *args, "--limit", "3")
    assert any(is_taxi(h) for h in hits[:3]), [(h["class"], h.get("plate")) for h in hits]


def test_a_plate_alone_filters_and_a_plate_with_appearance_does_not(plated):
    only = run_search(SearchRequest(plates=("30F-621.51",), limit=50), plated.settings)
    assert only.hits and all(h.plate for h in only.hits)  # only tracks whose plate matches
    # An unread or different plate does not block an appearance match: the white SUV has no such plate.
    mixed = run_search(SearchRequest(text="white car", plates=("99Z-999.99",), limit=10), plated.settings)
    plain = run_search(SearchRequest(text="white car", limit=10), plated.settings)
    assert [h.id for h in mixed.hits] == [h.id for h in plain.hits]
    assert len(mixed.hits) == 10 and not any(h.plate and h.plate["text"] == "99Z-999.99" for h in mixed.hits)
    assert mixed.understood["plate"] == ["99Z-999.99"]


def test_plates_in_the_table(plated):
    result = run_cli("--index", str(plated.root), "search", "--plate", "*621.5?", "--limit", "2", env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "plate" in result.stdout and ACVIEW in result.stdout


def test_the_plate_goes_into_exports_and_captions(plated, tmp_path):
    import shutil

    from forensic.api import export_hits
    from forensic.evidence.frames import Place, caption_lines

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    hit = run_search(SearchRequest(plates=("30F-621.51",), limit=1), plated.settings).hits[0]
    assert hit.plate and f"plate {hit.plate['text']}" in caption_lines(hit, Place(hit.camera, hit.camera, ""))[1]
    manifest = export_hits([hit], tmp_path / "case", plated.settings, before=1, after=1)
    item = manifest["items"][0]
    assert item["hit"]["plate"]["crop"] == f"hit-{hit.id}-plate.jpg" and (tmp_path / "case" / f"hit-{hit.id}-plate.jpg").is_file()
    assert any(f["file"] == f"hit-{hit.id}-plate.jpg" for f in item["files"])
