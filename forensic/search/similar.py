"""`forensic similar HIT_ID`: a hit's whole appearance (its track) becomes the query.

The track's vectors are averaged per embedder, so the query describes the object as seen over
several frames; the object itself comes first, then look-alikes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from forensic.errors import ForensicError
from forensic.search.filters import Filters
from forensic.search.hits import Hit, top_hits
from forensic.search.vectors import vector_scores


def search_similar(store, hit_id: int, limit: int = 20, any_class: bool = False, per_frame: bool = False,
                   filters: Filters | None = None, cameras=None, min_score: float = 0.0) -> tuple[Hit, list[Hit]]:
    rows = store.rows([hit_id])
    if hit_id not in rows:
        raise ForensicError(f"no hit with id {hit_id} in {store.root} (ids are the 'id' of search results)")
    row = rows[hit_id]
    cols = store.columns()
    ids = cols.id[cols.track == row["track"]].tolist() if row["track"] and row["track"] > 0 else [hit_id]
    queries = {}
    for key in ("appearance", "clip"):
        spec = store.embedder(key)
        if spec is not None:
            vecs = store.get_vectors(key, ids)
            vecs = vecs[np.linalg.norm(vecs, axis=1) > 0]
            if len(vecs):
                mean = vecs.mean(axis=0)
                queries[key] = (spec[0], mean / max(np.linalg.norm(mean), 1e-6))
    if not queries:
        raise ForensicError(f"hit {hit_id} has no stored vectors")
    filters = replace(filters or Filters(), classes=() if any_class else (row["cls"],))
    ids, scores = vector_scores(store, queries, filters.allowed_ids(store, cameras))
    return Hit.from_row(row, 1.0, store.root, cameras), top_hits(store, ids, scores, limit, per_frame, min_score, cameras)
