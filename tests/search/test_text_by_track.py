"""Text queries ranked from a few tracks' detections (issue 14 item 2: text search at 10^7 detections): the
hits are exactly those of ranking every candidate detection (`attribute_scores`, then `top_hits`), for
queries with and without colours, riders, filters, --per-frame and --min-score, whatever the first batch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))

from forensic.index.store import IndexStore  # noqa: E402
from forensic.query import parse_query  # noqa: E402
from forensic.search import text  # noqa: E402
from forensic.search.filters import Filters  # noqa: E402
from forensic.search.hits import top_hits  # noqa: E402
from test_columns import build  # noqa: E402

QUERIES = ["red motorbike", "white car", "xe máy màu đỏ", "man in white shirt", "người mặc áo trắng quần đen", "black car",
           "motorbike rider in a red jacket", "người đi xe máy", "person", "xe tải", "grey car", "red", "black and white",
           "car", "motorbike", "bicycle", "blue truck", "woman in a red top"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build(tmp_path_factory.mktemp("bytrack"), videos=24, seed=3)


def test_the_track_columns_hold_each_tracks_rows_and_bounds(index):
    with IndexStore(index) as store:
        cols = store.columns()
        for t in range(len(cols.track_id)):
            rows = cols.rows_of_tracks([t])
            assert rows.tolist() == np.flatnonzero(cols.track_row == t).tolist()
            assert cols.track_conf[t] == max(np.maximum(cols.conf, cols.conf2)[rows])
            assert cols.track_quality[t] == max(cols.quality[rows])
        assert cols.trackless_rows().tolist() == np.flatnonzero(cols.track_row < 0).tolist()


def test_no_detection_of_a_track_scores_above_its_bound(index):
    with IndexStore(index) as store:
        cols = store.columns()
        for q in map(parse_query, QUERIES):
            rows = text.candidate_rows(store, q, Filters())
            scores, complete = text._base_scores(cols, rows, q)
            scores = text.tiered(scores, complete).astype(np.float32)
            tracks, bound = text.track_bounds(cols, q)
            limit = np.full(len(cols.track_id), -1.0, np.float32)  # a track not bounded may hold no hit: upper tier only
            limit[tracks] = bound
            steady = cols.track_row[rows] >= 0
            steady[steady] = cols.track_n[cols.track_row[rows[steady]]] > 1
            held = scores[steady] if not q.wanted() else scores[steady & complete]
            at = cols.track_row[rows[steady]] if not q.wanted() else cols.track_row[rows[steady & complete]]
            assert np.all(held <= limit[at]), q.text


@pytest.mark.parametrize("batch", [1, 3, 512])
def test_ranking_by_track_gives_the_hits_of_ranking_every_detection(index, batch, monkeypatch):
    monkeypatch.setattr(text, "TRACK_BATCH", batch)  # a first batch of 1 or 3 tracks: the bounds decide the rest
    by_track_used = 0
    with IndexStore(index) as store:
        camera = store.columns().cameras[0]
        for q in map(parse_query, QUERIES):
            for limit, per_frame, min_score, cams in ((10, False, 0.0, ()), (5, True, 0.0, ()), (20, False, 0.55, ()),
                                                      (3, False, 0.0, (camera,)), (40, False, 0.0, ())):
                explicit = Filters(cameras=cams)
                found = text._hits_by_track(store, store.columns(), q, text.filters_for(q, explicit), limit, per_frame, min_score, None)
                ids, scores = text.attribute_scores(store, q, text.filters_for(q, explicit))
                want = top_hits(store, ids, scores, limit, per_frame, min_score)
                got = text.search_text(store, q, limit=limit, per_frame=per_frame, min_score=min_score, filters=explicit)
                assert [(h.id, h.score) for h in got] == [(h.id, h.score) for h in want], (q.text, limit, per_frame, min_score, cams)
                if found is not None:
                    by_track_used += 1
                    assert [(h.id, h.score) for h in found] == [(h.id, h.score) for h in want]
    assert by_track_used > len(QUERIES)  # the by-track path answered most of them (the others fell back to ranking all)
