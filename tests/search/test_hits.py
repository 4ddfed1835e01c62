"""Choosing the best hits: best first, earlier first among equal scores, one per track."""

import numpy as np

from forensic.search.hits import best_rows


def reference(scores, limit, group=None):
    """The plain way: a stable sort of everything, then the first of each group."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    out, seen = [], set()
    for i in order:
        key = None if group is None else group[i]
        if group is not None and key in seen:
            continue
        seen.add(key)
        out.append(i)
        if len(out) == limit:
            break
    return out


def test_best_rows_equal_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for n, limit, tracks in [(0, 5, 1), (10, 20, 3), (1000, 20, 40), (50_000, 20, 7), (50_000, 200, 50_000)]:
        scores = np.round(rng.uniform(0, 1, n), 2).astype(np.float32)  # many ties
        group = rng.integers(0, tracks, n)
        assert best_rows(scores, limit).tolist() == reference(scores.tolist(), limit)
        assert best_rows(scores, limit, group).tolist() == reference(scores.tolist(), limit, group.tolist())


def test_few_tracks_hold_all_the_best_scores():
    """The best 1000 detections belong to 2 tracks: the search looks further down for the others."""
    scores = np.concatenate([np.full(1000, 0.9), np.linspace(0.5, 0.1, 30)]).astype(np.float32)
    group = np.concatenate([np.arange(1000) % 2, 100 + np.arange(30)])
    rows = best_rows(scores, 5, group)
    assert rows.tolist() == [0, 1, 1000, 1001, 1002]
