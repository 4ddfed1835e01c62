"""Text search: rank detections by class, colour shares, detection confidence and crop quality,
fused with CLIP text-to-image similarity when the index holds CLIP vectors of the loaded model."""

from __future__ import annotations

import json
import logging

import numpy as np

from forensic.errors import ForensicError
from forensic.query import Query
from forensic.search.filters import Filters
from forensic.search.hits import Hit, hits_from_scores

log = logging.getLogger(__name__)

FULL_SHARE = 0.5  # a colour covering half the object (after background removal) is a full match
MIN_SHARE = 0.05  # below this the object is not of the asked colour at all
CLIP_WEIGHT = 0.5


def colour_match(colors: dict, query: Query, is_person: bool) -> float | None:
    """0..1 match of an object's colour shares to the query's colours; None when none are asked."""
    wanted = [("whole", g) for g in query.colors] + [("upper", g) for g in query.upper] + [("lower", g) for g in query.lower]
    if not wanted:
        return None
    scores = []
    for part, names in wanted:
        shares = (colors.get(part) if is_person or part == "whole" else colors.get("whole")) or {}
        share = max(shares.get(n, 0.0) for n in names)
        if share < MIN_SHARE:
            return 0.0
        scores.append(min(1.0, share / FULL_SHARE))
    return float(np.mean(scores))


def attribute_scores(store, query: Query, filters: Filters, cameras=None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of detections passing the filters, scored by attributes alone."""
    where, params = filters.where(store, cameras)
    sql = ("SELECT d.id, d.cls, d.conf, d.quality, d.colors, t.colors, t.n FROM detections d JOIN videos v ON v.id=d.video_id "
           f"LEFT JOIN tracks t ON t.id=d.track WHERE {where}")
    ids, scores = [], []
    for det_id, cls, conf, quality, colors, track_colors, track_n in store.db.execute(sql, params):
        colour = colour_match(json.loads(colors), query, cls == "person")
        if colour and track_colors and track_n > 1:  # colours voted over the whole appearance are steadier
            colour = 0.5 * colour + 0.5 * (colour_match(json.loads(track_colors), query, cls == "person") or 0.0)
        if colour is None:
            score = 0.6 * conf + 0.4 * quality
        elif colour == 0.0:
            continue
        else:
            score = 0.65 * colour + 0.2 * conf + 0.15 * quality
        ids.append(det_id)
        scores.append(score)
    return np.array(ids, np.int64), np.array(scores, np.float32)


def clip_scores(store, clip, text: str, candidates: int, allowed: np.ndarray | None = None) -> dict[int, float]:
    """CLIP similarity (0..1 after min-max over the returned set) of the best `candidates` detections."""
    spec = store.embedder("clip")
    if clip is None or spec is None:
        return {}
    if spec[0] != clip.name:
        log.warning("index CLIP vectors come from %s, the loaded model is %s: CLIP not used", spec[0], clip.name)
        return {}
    index = store.vector_index("clip")
    if index is None or index.ntotal == 0:
        return {}
    if allowed is not None and len(allowed) == 0:
        return {}
    import faiss

    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
    sims, ids = index.search(clip.embed_text([text]), min(index.ntotal, candidates), params=params)
    sims, ids = sims[0], ids[0]
    keep = ids >= 0
    sims, ids = sims[keep], ids[keep]
    lo, hi = float(sims.min()), float(sims.max())
    norm = (sims - lo) / (hi - lo) if hi > lo else np.ones_like(sims)
    return dict(zip(ids.tolist(), norm.tolist()))


def filters_for(query: Query) -> Filters:
    return Filters(classes=query.classes, cameras=query.cameras, since=query.since, until=query.until)


def search_text(store, query: Query, clip=None, limit: int = 20, per_frame: bool = False, cameras=None,
                min_score: float = 0.0) -> list[Hit]:
    if not query.text.strip():
        raise ForensicError("empty query: describe what to find, e.g. 'red motorbike' or 'xe máy màu đỏ'")
    use_clip = clip is not None and store.embedder("clip") is not None
    filters = filters_for(query)
    if not query.understood and not use_clip and not filters.active:
        raise ForensicError(f"nothing in {query.text!r} was understood (ignored: {', '.join(query.ignored)}); "
                            "name a class (person, motorbike, car, bus, truck, bicycle) and/or a colour")
    ids, scores = attribute_scores(store, query, filters, cameras)
    if use_clip:
        text = query.text if clip.multilingual or not query.understood else query.caption()
        sims = clip_scores(store, clip, text, max(1000, 50 * limit), filters.allowed_ids(store, cameras))
        if sims:
            if query.understood:
                floor = 0.0
                scores = (1 - CLIP_WEIGHT) * scores + CLIP_WEIGHT * np.array([sims.get(int(i), floor) for i in ids], np.float32)
            else:
                ids, scores = np.array(list(sims), np.int64), np.array(list(sims.values()), np.float32)
    keep = scores >= min_score
    return hits_from_scores(store, list(zip(ids[keep].tolist(), scores[keep].tolist())), limit, per_frame)
