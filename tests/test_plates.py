"""Licence plate text: normalised and written forms, Vietnamese formats, confusion-tolerant matching
with wildcards, plate phrases in a typed query, and the vote over a track's reads (no models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forensic.models.plates import PlateRead, split_lines, vote
from forensic.plates import PlatePattern, display_plate, find_plates, normalise_plate, plate_distance, plate_format
from forensic.query import fold_chars, parse_query


@pytest.mark.parametrize("typed, norm", [
    ("30F-621.51", "30F62151"), ("30f 621 51", "30F62151"), ("30F/621.51", "30F62151"), ("29-B1 123.45", "29B112345"),
    (" 59-v1  533.10 ", "59V153310"), ("đ29", "D29"), ("", ""), ("-./", ""),
])
def test_normalise(typed, norm):
    assert normalise_plate(typed) == norm


def test_normalise_keeps_wildcards_only_when_asked():
    assert normalise_plate("*621.5?") == "6215"
    assert normalise_plate("**621.5?", wildcards=True) == "*6215?"


@pytest.mark.parametrize("norm, shown", [
    ("30F62151", "30F-621.51"), ("51G12345", "51G-123.45"), ("29A1234", "29A-1234"), ("29B112345", "29-B1 123.45"),
    ("59V153310", "59-V1 533.10"), ("80NG12345", "80NG-123.45"), ("51LD12345", "51LD-123.45"), ("TM1234", "TM-12-34"),
    ("HELLO", "HELLO"),
])
def test_display(norm, shown):
    assert display_plate(norm) == shown


@pytest.mark.parametrize("read, fitted, good", [
    ("30F62151", "30F62151", True),  # as read
    ("59V153310", "59V153310", True),
    ("80NG12345", "80NG12345", True),  # special series
    ("3OF62I51", "30F62151", True),  # O and I read for digits: fitted
    ("N30F62151", "30F62151", True),  # a stray character at the edge
    ("HELLOWORLD", "HELLOWORLD", False),  # no Vietnamese plate
])
def test_format(read, fitted, good):
    text, score = plate_format(read)
    assert (score >= 0.75) == good
    if good:
        assert text == fitted
    assert plate_format("30F62151")[1] == 1.0 > plate_format("3OF62I51")[1]


def test_confusions_cost_less_than_other_mistakes():
    assert plate_distance("30F62151", "30F62151") == 0
    assert plate_distance("30F62151", "3OF62151") == pytest.approx(0.3)  # 0/O
    for a, b in ("1I", "1L", "8B", "5S", "2Z", "6G", "0D"):
        assert plate_distance(f"30F{a}2151", f"30F{b}2151") == pytest.approx(0.3)
    assert plate_distance("30F62151", "30F62157") == 1.0  # 1 -> 7 is no confusion
    assert plate_distance("30F62151", "3062151") == 1.0  # a character lost


def test_wildcards():
    assert plate_distance("*6215?", "30F62151") == 0
    assert plate_distance("30F*", "30F62151") == 0
    assert plate_distance("30?62151", "30F62151") == 0
    assert plate_distance("*6215?", "30F62161") == 1.0


@pytest.mark.parametrize("typed, plate, matches", [
    ("30F-621.51", "30F62151", True),
    ("30f62151", "30F62151", True),  # case, dashes and dots do not matter
    ("30F-621.57", "30F62151", True),  # one wrong character
    ("30F-627.57", "30F62151", True),  # two, on a full plate
    ("51G-123.45", "30F62151", False),
    ("*621.5?", "30F62151", True),
    ("*621.5?", "30F77741", False),
    ("29-B1", "29B112345", True),  # partial: anywhere in the plate
    ("621", "30F62151", True),
    ("777", "30F62151", False),
])
def test_pattern_matches(typed, plate, matches):
    assert (PlatePattern.parse(typed).similarity(plate) > 0) == matches


def test_similarity_orders_by_distance():
    p = PlatePattern.parse("30F-621.51")
    sims = [p.similarity(t) for t in ("30F62151", "3OF62151", "30F62157", "30F62757", "51G12345", None)]
    assert sims == sorted(sims, reverse=True) and sims[0] == 1.0 and sims[-1] == 0.0 and sims[-2] == 0.0


def test_suffix():
    p = PlatePattern.parse("51", suffix=True)
    assert p.similarity("30F62151") == 1.0 and p.similarity("30F51621") == 0.0 and p.describe() == "ends with 51"


@pytest.mark.parametrize("text, norms, suffix", [
    ("biển số 30F-621.51", ["30F62151"], False),
    ("taxi xanh biển 30F-621.51 ở Tân Phú", ["30F62151"], False),
    ("xe máy biển 29-B1", ["29B1"], False),
    ("BKS 51G-123.45", ["51G12345"], False),
    ("bien so 51g 123.45", ["51G12345"], False),
    ("xe đuôi 51 màu đỏ", ["*51"], True),
    ("car with number plate *621.5?", ["*6215?"], False),
    ("red car 30F-621.51", ["30F62151"], False),  # a bare plate
    ("29-B1 123.45", ["29B112345"], False),
    ("xanh biển", [], False),  # a colour, not a plate
    ("red car at 20:00", [], False),
])
def test_plates_in_text(text, norms, suffix):
    found = find_plates(fold_chars(text.lower()))
    assert [p.norm for p, _ in found] == norms
    if suffix:
        assert all(p.describe().startswith("ends with") for p, _ in found)


def test_plate_with_the_rest_of_a_query():
    q = parse_query("taxi xanh biển 30F-621.51")
    assert q.classes == ("car",) and q.colors == [("blue", "green")] and [p.norm for p in q.plates] == ["30F62151"]
    assert q.describe()["plate"] == ["30F-621.51"] and not q.ignored
    q = parse_query("biển số 30F-621.51")
    assert q.understood and not q.appearance and not q.classes
    q = parse_query("xe máy biển số đuôi 51")
    assert q.classes == ("motorcycle",) and q.describe()["plate"] == ["ends with 51"] and not q.ignored
    assert parse_query("xe màu xanh biển").colors == [("blue",)] and not parse_query("xe màu xanh biển").plates


def test_vote_weighs_reads_by_confidence():
    reads = [PlateRead("30F/621.51", "30F62151", 0.8), PlateRead("30E/621.51", "30E62151", 0.5),
             PlateRead("30F/621.51", "30F62151", 0.6), PlateRead("", "", 0.9)]
    best, conf = vote(reads)
    assert best.norm == "30F62151" and best.conf == 0.8 and conf == pytest.approx(0.8 * 1.4 / 1.9, abs=1e-3)
    assert vote([PlateRead("3", "3", 0.9)]) is None and vote([]) is None


def test_split_lines():
    one = np.full((30, 150, 3), 200, np.uint8)  # long one-line plate
    assert len(split_lines(one)) == 1
    square = np.full((60, 80, 3), 200, np.uint8)
    square[10:25, 10:70] = 0  # top line
    square[35:52, 10:70] = 0  # bottom line
    top, bottom = split_lines(square)
    assert 25 <= top.shape[0] <= 38 and 25 <= bottom.shape[0] <= 38 and top.shape[0] + bottom.shape[0] >= 60


def test_the_reader_runs_from_the_wheel_and_never_downloads(monkeypatch, tmp_path):
    """rapidocr is pointed at the model file inside its wheel: loading and reading never call its
    downloader, and write nothing (HOME and the temp folder are empty afterwards)."""
    pytest.importorskip("rapidocr")
    pytest.importorskip("onnxruntime")
    import rapidocr.utils.download_file as download

    from forensic.models.plates import PlateReader

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download")

    monkeypatch.setattr(download.DownloadFile, "run", classmethod(refuse))
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    reader = PlateReader(None)
    plate = np.full((40, 60, 3), 230, np.uint8)
    reads = reader.read_plates([plate, np.zeros((5, 5, 3), np.uint8)])
    assert reads[1] is None  # too small to read
    assert reads[0] is None or isinstance(reads[0].raw, str)
    assert not any(home.iterdir()) and not any(tmp.iterdir())


def test_an_index_from_before_plates_is_searched_and_gains_the_table(tmp_path):
    from builders import Row, build_index
    from forensic.api import SearchRequest, run_search
    from forensic.index.store import IndexStore
    from forensic.settings import Settings

    root = build_index(tmp_path, [Row(plate="30F/621.51"), Row(box=(110, 10, 190, 60))]).root  # two red cars, one plate read
    settings = Settings(index=root)
    hits = run_search(SearchRequest(text="red car", plates=("30F-621.57",)), settings).hits
    assert [h.plate["text"] if h.plate else None for h in hits] == ["30F-621.51", None]  # the matching plate first
    assert hits[0].plate["raw"] == "30F/621.51" and Path(hits[0].plate["crop"]).is_file()
    assert [h.id for h in run_search(SearchRequest(plates=("*621.5?",)), settings).hits] == [hits[0].id]  # a plate alone filters
    with IndexStore(root, writer=True) as store:  # an index made before plates: no table
        store.db.execute("DROP TABLE plates")
    reader = IndexStore(root)
    assert not reader.has_plates and reader.plates() == []
    reader.close()
    assert len(run_search(SearchRequest(text="red car", plates=("30F-621.51",)), settings).hits) == 2  # no plates, no harm
    with IndexStore(root, writer=True) as store:
        assert store.has_plates
