"""FAISS segment files: exact (flat) while small, IVF from `Layout.ivf_min` vectors on, at most
`Layout.segment_size` vectors per file; filtered searches honour the filter exactly and still give
their top k; removals and crashes leave the files in line with SQLite."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.index import vectorstore
from forensic.index.store import IndexStore
from forensic.index.vectorstore import Layout
from test_store import DIM, MODEL, add_video, sql_ids, video_file

SMALL = Layout(segment_size=300, ivf_min=120, nlist=6, nprobe=1)  # tiny sizes so a test crosses every threshold


def writer(root, layout=SMALL) -> IndexStore:
    store = IndexStore(root, writer=True, layout=layout)
    store.register_embedder("appearance", MODEL, DIM)
    return store


def stored(root) -> set[int]:
    found = vectorstore.stored_ids(root, "appearance", DIM)
    return set(found[0].tolist()) if found else set()


def kinds(root) -> list[tuple[str, int]]:
    return [(s.kind, s.count) for s in vectorstore.read_manifest(root, "appearance", DIM).segments]


def test_index_type_follows_size(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "idx"
    with writer(root) as store:
        for k in range(8):  # 8 videos of 12 vectors
            add_video(store, video_file(tmp_path, f"cam/a{k}.mp4"), rng)
    assert kinds(root) == [("flat16", 96)]  # below ivf_min: exact
    with writer(root) as store:
        for k in range(4):
            add_video(store, video_file(tmp_path, f"cam/b{k}.mp4"), rng)
    assert kinds(root) == [("ivfpq", 144)]  # reached ivf_min: IVF
    with writer(root) as store:
        for k in range(20):
            add_video(store, video_file(tmp_path, f"cam/c{k}.mp4"), rng)
    assert kinds(root) == [("ivfpq", 300), ("flat16", 84)]  # a full segment, and a new one, small: exact again
    assert stored(root) == sql_ids(root)
    with IndexStore(root, layout=SMALL) as reader:
        index = reader.vector_index("appearance")
        assert index.kinds == ["ivfpq", "flat16"] and index.ntotal == 384
        vec = reader.get_vectors("appearance", [17])[0]
        assert index.search(vec, 1)[0][0] == 17  # a stored vector finds itself


@pytest.fixture(scope="module")
def ivf_index(tmp_path_factory):
    """1200 vectors in 4 IVF segments of 6 lists, searched in 1 list when nothing is filtered."""
    tmp_path = tmp_path_factory.mktemp("ivf")
    rng = np.random.default_rng(2)
    root = tmp_path / "idx"
    with writer(root) as store:
        for k in range(100):
            add_video(store, video_file(tmp_path, f"cam{k % 5}/v{k}.mp4"), rng)
    assert [k for k, _ in kinds(root)] == ["ivfpq"] * 4
    return root


def exact_top(store, vec, allowed, k):
    ids = np.array(sorted(allowed), np.int64)
    sims = store.get_vectors("appearance", ids) @ vec
    order = np.argsort(-sims, kind="stable")[:k]
    return ids[order].tolist(), sims[order]


@pytest.mark.parametrize("share", [0.02, 0.1, 0.5, 1.0])
def test_filtered_search_honours_the_filter_and_gives_its_top_k(ivf_index, share):
    rng = np.random.default_rng(3)
    with IndexStore(ivf_index, layout=SMALL) as store:
        index = store.vector_index("appearance")
        every = store.columns().id
        for _ in range(10):
            allowed = np.sort(rng.choice(every, int(share * len(every)), replace=False))
            vec = rng.normal(size=DIM).astype(np.float32)
            vec /= np.linalg.norm(vec)
            ids, sims = index.search(vec, 10, None if share == 1.0 else allowed)
            assert len(ids) == 10 and set(ids.tolist()) <= set(allowed.tolist())
            assert np.all(np.diff(sims) <= 0)
            want, want_sims = exact_top(store, vec, allowed, 10)
            if share <= 0.1:  # few pass: every list is searched, the result is the exact top 10
                assert ids.tolist() == want
                np.testing.assert_allclose(sims, want_sims, atol=1e-6)


def test_nprobe_grows_as_the_filter_narrows(ivf_index):
    with IndexStore(ivf_index, layout=SMALL) as store:
        index = store.vector_index("appearance")
        index.layout = Layout(nprobe=4, exact_max=1000, filter_boost=2.0)
        assert index.nprobe_for(300_000, 300_000, 10, 1024) == 4
        assert index.nprobe_for(300_000, 200_000, 10, 1024) == 6  # a wider filter: a few more lists
        assert index.nprobe_for(300_000, 30_000, 10, 1024) == 8  # ... at most filter_boost times more
        assert index.nprobe_for(300_000, 1000, 10, 1024) == 1024  # few pass: every list, exact
        assert index.nprobe_for(300_000, 30_000, 2000, 1024) == 137  # enough lists to hold k twice over
        assert index.nprobe_for(300, 300, 10, 6) == 4


def test_removed_videos_leave_the_files(tmp_path):
    rng = np.random.default_rng(4)
    root = tmp_path / "idx"
    with writer(root) as store:
        for k in range(40):
            add_video(store, video_file(tmp_path, f"cam/v{k:02d}.mp4"), rng)
    assert [c for _, c in kinds(root)] == [300, 180]
    with writer(root) as store:
        for k in range(30):  # every video of the first segment, and 60 vectors of the second
            store.delete_video(store.video_by_path(tmp_path / f"footage/cam/v{k:02d}.mp4")["id"])
    assert kinds(root) == [("ivfpq", 120)]  # the emptied segment is gone, the other lost 60
    assert stored(root) == sql_ids(root) and len(sql_ids(root)) == 120
    assert sorted(p.name for p in root.glob("vectors-appearance-*.faiss")) == [vectorstore.read_manifest(root, "appearance", DIM).segments[0].file]


def test_a_crash_before_the_manifest_keeps_the_old_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    root = tmp_path / "idx"
    with writer(root) as store:
        _, first, _ = add_video(store, video_file(tmp_path, "cam/first.mp4"), rng)
    files = sorted(p.name for p in root.glob("vectors-*"))

    def crash(*a, **k):
        raise OSError("killed before the manifest was written")

    monkeypatch.setattr(vectorstore, "_write_manifest", crash)
    store = writer(root)
    _, second, _ = add_video(store, video_file(tmp_path, "cam/second.mp4"), rng)
    with pytest.raises(OSError):
        store.sync_search_files()
    store._release()
    monkeypatch.undo()
    assert stored(root) == set(first)  # the manifest still names the old, untouched segment
    assert len(list(root.glob("vectors-appearance-*.faiss"))) == 2  # and an orphan lies beside it
    with IndexStore(root, layout=SMALL) as reader:
        assert set(reader.vector_index("appearance").ids().tolist()) == set(first) | set(second)
    assert stored(root) == set(first) | set(second)  # the search (no writer running) folded it in
    assert len(list(root.glob("vectors-appearance-*.faiss"))) == 1 and files != sorted(p.name for p in root.glob("vectors-*"))
