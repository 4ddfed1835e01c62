"""Vector search shared by photo and `similar` queries: one FAISS search per embedder, restricted
to the allowed detection ids, similarities averaged over the embedders that answered."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

CANDIDATES = 2000


def search_vectors(store, queries: dict[str, tuple[str, np.ndarray]], allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """`queries`: embedder key -> (model name, query vector). Keys whose index vectors come from
    another model are skipped (never mixed)."""
    from forensic.errors import ForensicError

    fused: dict[int, list[float]] = {}
    used = 0
    for key, (name, vector) in queries.items():
        spec = store.embedder(key)
        if spec is None or spec[0] != name:
            if spec is not None:
                log.warning("index %s vectors come from %s, not %s: not used", key, spec[0], name)
            continue
        for i, s in _search(store.vector_index(key), vector, allowed).items():
            fused.setdefault(i, [0.0] * len(queries))[used] = s
        used += 1
    if used == 0:
        raise ForensicError("the index holds no vectors this model set can search (was it built with another detector?)")
    return [(i, float(np.mean(v[:used]))) for i, v in fused.items()]


def _search(index, vector: np.ndarray, allowed: np.ndarray | None) -> dict[int, float]:
    import faiss

    if index is None or index.ntotal == 0 or (allowed is not None and len(allowed) == 0):
        return {}
    k = min(index.ntotal, CANDIDATES)
    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
    sims, ids = index.search(np.asarray(vector, np.float32).reshape(1, -1), k, params=params)
    return {int(i): float(s) for i, s in zip(ids[0], sims[0]) if i >= 0}
