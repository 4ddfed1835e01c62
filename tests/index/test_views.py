"""Vectors per appearance (schema 2, issue 14 item 2): a track keeps the float16 vectors of its best few
views; its FAISS files hold them as IVF-PQ codes once large, and what a search returns is re-ranked with
the exact vectors, so its scores are those of the stored vectors. An index of schema 1 (a float32 vector
per detection) is still read, searched and written in its own layout."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from forensic.detections import Detections
from forensic.errors import ForensicError
from forensic.index import vectorstore
from forensic.index.store import DB_NAME, VIEWS_PER_TRACK, IndexStore, track_views
from forensic.index.vectorstore import Layout
from realdata import tiny_jpeg
from test_store import DIM, MODEL, add_video, info, unit, video_file

SMALL = Layout(segment_size=300, ivf_min=120, nlist=6, nprobe=1, rerank_min=20)


def test_track_views_are_the_best_of_each_third():
    rows = [(10 + k, q, 0.5) for k, q in enumerate([0.1, 0.9, 0.2, 0.3, 0.1, 0.4, 0.8, 0.2, 0.2, 0.1])]
    # thirds of 10 detections: 0-2, 3-5, 6-9; the best quality of each (ties: the higher confidence, then the first)
    assert track_views(rows) == [11, 15, 16]
    assert track_views(rows[:2]) == [10, 11]  # shorter than VIEWS_PER_TRACK: every detection
    assert track_views([(1, 0.5, 0.2), (2, 0.5, 0.9), (3, 0.1, 0.1)], k=1) == [2]
    assert VIEWS_PER_TRACK == 3


def tracked_video(store: IndexStore, path, rng, frames: int = 9, quality=None):
    """Two objects tracked over `frames` frames (tracker ids 0 and 1); returns {det id: (tracker id, frame, vector)}."""
    vid = store.begin_video(path, path.parent.name, info(path), 2.0, "fp-" + path.name)
    out = {}
    for f in range(frames):
        xyxy = np.array([[10 + f, 10, 60 + f, 90], [200, 50 + f, 260, 120 + f]], np.float32)
        d = Detections(xyxy, np.array([0.8, 0.7], np.float32), np.array(["person", "car"], dtype="<U16"))
        d.tracker_id = np.array([0, 1])
        vecs = unit(rng, 2)
        q = np.array(quality[f] if quality is not None else rng.uniform(0.1, 0.9, 2), np.float32)
        ids = store.add_detections(vid, f * 12, f * 0.5, d, [{"whole": {"red": 0.7}}] * 2, q, [tiny_jpeg(f)] * 2, {"appearance": vecs})
        store.commit()
        out.update({i: (t, f, v) for i, t, v in zip(ids, (0, 1), vecs)})
    store.finish_video(vid)
    return vid, out


def test_a_tracked_video_keeps_the_views_of_its_tracks_only(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "idx"
    quality = [[0.1, 0.9], [0.5, 0.1], [0.2, 0.2], [0.3, 0.1], [0.1, 0.1], [0.6, 0.1], [0.1, 0.1], [0.1, 0.3], [0.7, 0.1]]
    with IndexStore(root, writer=True, layout=SMALL) as store:
        store.register_embedder("appearance", MODEL, DIM)
        _, dets = tracked_video(store, video_file(tmp_path), rng, quality=quality)
        kept = {r[0] for r in store.db.execute("SELECT det_id FROM views")}
    frames = {(dets[i][0], dets[i][1]) for i in kept}
    # person (tracker 0): best of frames 0-2, 3-5, 6-8 -> 1, 5, 8; car (tracker 1): 0, 3 (ties: the first), 7
    assert frames == {(0, 1), (0, 5), (0, 8), (1, 0), (1, 3), (1, 7)}
    with IndexStore(root, layout=SMALL) as store:
        index = store.vector_index("appearance")
        assert set(index.ids().tolist()) == kept
        for det_id, (_, _, vec) in dets.items():
            found = index.search(vec, 1)[0][0]
            assert found == det_id if det_id in kept else found in kept  # a detection without a vector finds its track's views
        for det_id in kept:
            np.testing.assert_array_equal(store.get_vectors("appearance", [det_id])[0], dets[det_id][2].astype(np.float16).astype(np.float32))
        assert not store.get_vectors("appearance", [min(set(dets) - kept)]).any()  # no vector: zeros
        assert store.verify() == []


@pytest.fixture(scope="module")
def pq_index(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("pq")
    rng = np.random.default_rng(2)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True, layout=SMALL) as store:
        store.register_embedder("appearance", MODEL, DIM)
        for k in range(55):  # 660 vectors: two full compressed segments and a small exact one
            add_video(store, video_file(tmp_path, f"cam{k % 3}/v{k}.mp4"), rng)
    assert [s.kind for s in vectorstore.read_manifest(root, "appearance", DIM).segments] == ["ivfpq", "ivfpq", "flat16"]
    return root


def test_compressed_segments_return_exact_scores(pq_index):
    rng = np.random.default_rng(3)
    with IndexStore(pq_index, layout=SMALL) as store:
        index = store.vector_index("appearance")
        every = index.ids()
        vecs = store.get_vectors("appearance", every)
        for _ in range(10):
            q = unit(rng, 1)[0]
            ids, sims = index.search(q, 10)
            exact = vecs[np.searchsorted(every, ids)] @ q
            np.testing.assert_allclose(sims, exact, rtol=0, atol=1e-5)  # the stored vectors' own similarities, not the codes'
            assert np.all(np.diff(sims) <= 0)
            allowed = np.sort(rng.choice(every, 30, replace=False))  # a narrow filter: every list, every allowed vector re-ranked
            ids, sims = index.search(q, 10, allowed)
            order = np.argsort(-(vecs[np.searchsorted(every, allowed)] @ q), kind="stable")[:10]
            assert ids.tolist() == allowed[order].tolist()


def test_a_schema_1_index_is_read_and_written_in_its_own_layout(tmp_path):
    rng = np.random.default_rng(4)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True, layout=SMALL, schema=1) as store:  # as forensic wrote indexes before schema 2
        store.register_embedder("appearance", MODEL, DIM)
        _, first, _ = add_video(store, video_file(tmp_path, "cam/a.mp4"), rng)
    with IndexStore(root, writer=True, layout=SMALL) as store:  # the current writer adds to it in its layout
        assert store.schema == 1 and store.source is vectorstore.DETECTIONS
        _, dets = tracked_video(store, video_file(tmp_path, "cam/b.mp4"), rng)
        for k in range(12):
            add_video(store, video_file(tmp_path, f"cam/c{k}.mp4"), rng)
    with sqlite3.connect(root / DB_NAME) as db:
        assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == db.execute("SELECT COUNT(*) FROM detections").fetchone()[0]
        assert {len(r[0]) for r in db.execute("SELECT vec FROM vectors")} == {4 * DIM}  # float32, every detection
        assert db.execute("SELECT name FROM sqlite_master WHERE name='views'").fetchone() is None
    assert {s.kind for s in vectorstore.read_manifest(root, "appearance", DIM).segments} <= {"flat", "ivf"}
    with IndexStore(root, layout=SMALL) as store:
        index = store.vector_index("appearance")
        assert set(index.ids().tolist()) == set(store.columns().id.tolist())
        for det_id, vec in first.items():
            np.testing.assert_array_equal(store.get_vectors("appearance", [det_id])[0], vec)  # float32, as given
        det_id, (_, _, vec) = next(iter(dets.items()))
        found, sims = index.search(vec, 1)
        assert found[0] == det_id and sims[0] == pytest.approx(1.0, abs=1e-5)
        assert store.verify() == []


def test_an_index_of_a_later_schema_is_refused_in_one_line(tmp_path):
    root = tmp_path / "idx"
    IndexStore(root, writer=True).close()
    with sqlite3.connect(root / DB_NAME) as db:
        db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    with pytest.raises(ForensicError, match="schema version 3, this forensic reads versions 1, 2"):
        IndexStore(root)


def test_verify_reports_a_track_without_a_vector(tmp_path):
    rng = np.random.default_rng(5)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True, layout=SMALL) as store:
        store.register_embedder("appearance", MODEL, DIM)
        _, dets = tracked_video(store, video_file(tmp_path), rng)
        track = store.db.execute("SELECT track FROM detections WHERE id=?", (min(dets),)).fetchone()[0]
        store.db.execute("DELETE FROM views WHERE det_id IN (SELECT id FROM detections WHERE track=?)", (track,))
        store.db.execute("UPDATE views SET vec=zeroblob(3) WHERE det_id=(SELECT MIN(det_id) FROM views)")
        problems = [p for p, _ in store.verify()]
    assert "1 tracks have no appearance vector (re-index their videos)" in problems
    assert "1 appearance vectors have the wrong size" in problems
