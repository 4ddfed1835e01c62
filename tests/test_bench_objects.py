"""The fresh objects of bench/objects.toml load, and the queries generated from their labels are understood
as the labels say (so a parser change that breaks them shows here, not as a silent drop in the bench)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import relevance  # noqa: E402

from forensic.query.vocabulary import COLOR_ALIASES  # noqa: E402
from forensic.query import parse_query  # noqa: E402

CLIPS = {"vn_crossroad_acview_day.mp4", "vn_boulevard_motorbikes_day.mp4", "vn_truccat_crossroad_day.mp4",
         "uk_campus_pedestrians_vtest.avi", "night_ir_yard_person.mp4", "office_man_white_shirt.mp4",
         "parking_lot_topdown_cars.mp4"}


def test_fresh_objects_load():
    fresh = relevance.load_fresh()
    ids = [t.n for t in fresh]
    assert len(fresh) >= 45 and len(set(ids)) == len(ids) and min(ids) > 12
    assert {t.n for t in relevance.GROUND_TRUTH} == set(range(1, 13))  # the tuned set stays as it was
    for t in fresh:
        assert t.group == "fresh" and t.clip in CLIPS and t.classes and t.tracks, t.n
        for tr in t.tracks:
            assert tr.t0 < tr.t1 and tr.keys, t.n
            for _, x0, x1, y0, y1 in tr.keys:
                assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, t.n


def test_queries_follow_one_rule():
    assert relevance.fresh_queries("car", {"colour": ("white", "grey")}) == ("white car", "ô tô màu trắng")
    assert relevance.fresh_queries("person", {"upper": ("red",), "lower": ("black",)}) == (
        "person in a red top and black trousers", "người mặc áo đỏ quần đen")
    assert relevance.fresh_queries("rider", {"upper": ("blue",)}) == (
        "motorbike rider in a blue top", "người đi xe máy mặc áo xanh dương")
    assert relevance.fresh_queries("rider", {"upper": ("black",), "bike": ("orange",)}) == (
        "motorbike rider in a black top on an orange motorbike", "người mặc áo đen đi xe máy màu cam")


@pytest.mark.parametrize("target", relevance.FRESH, ids=lambda t: f"#{t.n}")
def test_generated_queries_are_understood(target):
    wanted = {part: COLOR_ALIASES.get(target.labels[part][0], target.labels[part][0])
              for part in relevance.asked(target.kind) if target.labels.get(part)}
    for text in (target.en, target.vi):
        q = parse_query(text)
        assert not q.ignored, text
        assert relevance.KINDS[target.kind][2] <= set(q.classes), text
        assert q.upper == ([(wanted["upper"],)] if "upper" in wanted else []), text
        assert q.lower == ([(wanted["lower"],)] if "lower" in wanted else []), text
        whole = wanted.get("colour") or wanted.get("bike")
        assert q.colors == ([(whole,)] if whole else []), text


def test_fits_needs_kind_and_every_named_colour():
    by = {t.n: t for t in relevance.TARGETS}
    white_cars = [t for t in relevance.FRESH if t.kind == "car" and t.labels["colour"][0] == "white"]
    assert white_cars and all(relevance.fits(white_cars[0], by[n]) for n in (4, 7))  # the tuned white SUVs
    assert not relevance.fits(white_cars[0], by[2])  # green taxi
    assert not relevance.fits(white_cars[0], white_cars[0])
