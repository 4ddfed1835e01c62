"""Vector search shared by photo and `similar` queries: one search per embedder, restricted to the
allowed detection ids, similarities averaged over the embedders that answered."""

from __future__ import annotations

import logging

import numpy as np

from forensic.errors import ForensicError

log = logging.getLogger(__name__)

CANDIDATES = 2000


def other_model(store, key: str, stored: str, asked: str) -> str:
    """One line saying that an index's `key` vectors come from another model than the query's."""
    return (f"the index {store.root} holds {key} vectors made by {stored}, this forensic makes {asked}; "
            "vectors of two models cannot be compared")


def vector_scores(store, queries: dict[str, tuple[str, np.ndarray]], allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """`queries`: embedder key -> (model name, query vector). Keys whose index vectors come from
    another model are skipped (never mixed). Returns (ids, mean similarity), in the order the
    embedders first returned them; an embedder that did not return an id counts 0 for it."""
    found, other = [], []
    for key, (name, vector) in queries.items():
        spec = store.embedder(key)
        if spec is None or spec[0] != name:
            if spec is not None:
                other.append(other_model(store, key, spec[0], name))
            continue
        index = store.vector_index(key)
        if index is None or (allowed is not None and len(allowed) == 0):
            found.append((np.zeros(0, np.int64), np.zeros(0)))
        else:
            found.append(index.search(vector, CANDIDATES, allowed))
    if not found:
        if other:
            raise ForensicError(other[0] + ": re-index the videos into a new --index folder to search this way")
        raise ForensicError(f"the index {store.root} holds no vectors to search (no videos indexed yet?)")
    for line in other:
        log.warning("%s: searched without them", line)
    every = np.concatenate([ids for ids, _ in found])
    unique, first = np.unique(every, return_index=True)
    ids = every[np.sort(first)]
    total = np.zeros(len(ids))
    order = np.argsort(ids)
    for got, sims in found:
        total[order[np.searchsorted(ids[order], got)]] += sims.astype(np.float64)
    return ids, total / len(found)
