"""Photo/similar vector search over IVF segments: a filter is honoured exactly and still yields the
top N, and the embedders' similarities are averaged."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from test_store import DIM, MODEL, add_video, video_file  # noqa: E402

from forensic.index.store import IndexStore  # noqa: E402
from forensic.index.vectorstore import Layout  # noqa: E402
from forensic.search.filters import Filters  # noqa: E402
from forensic.search.hits import top_hits  # noqa: E402
from forensic.search.vectors import vector_scores  # noqa: E402


def test_filtered_photo_search_returns_exactly_the_allowed_top_n(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "idx"
    layout = Layout(segment_size=400, ivf_min=150, nlist=8, nprobe=1)
    with IndexStore(root, writer=True, layout=layout) as store:
        store.register_embedder("appearance", MODEL, DIM)
        for k in range(60):
            add_video(store, video_file(tmp_path, f"cam{k % 6}/v{k}.mp4"), rng, frames=2)
    with IndexStore(root, layout=layout) as store:
        assert "ivfpq" in store.vector_index("appearance").kinds  # compressed: candidates re-ranked with their exact vectors
        for cls, cam in [("car", "cam2"), ("person", "cam0"), ("motorcycle", "cam5")]:
            filters = Filters(classes=(cls,), cameras=(cam,))
            allowed = filters.allowed_ids(store)
            rows = store.rows(allowed)
            assert {r["camera"] for r in rows.values()} == {cam} and {r["cls"] for r in rows.values()} == {cls}
            query = rng.normal(size=DIM).astype(np.float32)
            query /= np.linalg.norm(query)
            ids, scores = vector_scores(store, {"appearance": (MODEL, query)}, allowed)
            sims = store.get_vectors("appearance", allowed) @ query
            want = allowed[np.argsort(-sims, kind="stable")]
            assert ids.tolist() == want.tolist()  # every allowed detection, in exact order
            hits = top_hits(store, ids, scores, 5, per_frame=True)
            assert [h.id for h in hits] == want[:5].tolist() and all(h.camera == cam and h.cls == cls for h in hits)


def test_an_index_of_another_appearance_model_says_so_in_one_line(tmp_path):
    """An index built by appearance-v1 searched with appearance-v2 query vectors: not compared (they
    live in different spaces), and the error names both models and what to do."""
    import pytest

    from forensic.errors import ForensicError

    rng = np.random.default_rng(1)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", MODEL, DIM)
        add_video(store, video_file(tmp_path, "cam0/v.mp4"), rng, frames=2)
    query = np.ones(DIM, np.float32) / np.sqrt(DIM)
    with IndexStore(root) as store:
        with pytest.raises(ForensicError) as e:
            vector_scores(store, {"appearance": ("appearance-test/v2", query)}, None)
        message = str(e.value)
        assert "\n" not in message and MODEL in message and "appearance-test/v2" in message and "re-index" in message
        ids, _ = vector_scores(store, {"appearance": (MODEL, query)}, None)  # its own model still searches it
        assert len(ids) == 8
