"""Text search: rank detections by class, colour shares, detection confidence and crop quality,
fused with CLIP text-to-image similarity when the index holds CLIP vectors of the loaded model."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from forensic.errors import ForensicError
from forensic.query import Query
from forensic.search.filters import Filters
from forensic.search.hits import Hit, top_hits

log = logging.getLogger(__name__)

PLATE_FLOOR = 0.5  # a track whose plate matches scores above every track whose plate does not
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


def candidate_rows(store, query: Query, filters: Filters, cameras=None) -> np.ndarray:
    """Rows of the search columns a query ranks: those passing the filters. A rider query ("motorbike
    rider in a red jacket", "người đi xe máy") also takes the people riding one of its vehicles (of
    people, only those), and, when it asks for clothing colours, leaves out the vehicles themselves:
    a motorbike's box mixes the rider's clothes with its cargo."""
    cols = store.columns()
    if query.riding:
        classes = tuple(dict.fromkeys((*(filters.classes or query.riding), "person")))
        if query.upper or query.lower:
            classes = tuple(c for c in classes if c not in query.riding)
        filters = replace(filters, classes=classes)
    keep = filters.mask(store, cameras)
    rows = np.arange(len(cols)) if keep is None else np.flatnonzero(keep)
    if query.riding:
        person = np.isin(cols.cls[rows], cols.class_codes(["person"]))
        rides = np.isin(cols.rides[rows], [k + 1 for k, vehicle in enumerate(cols.ridden) if vehicle in query.riding])
        rows = rows[~person | rides]
    return rows


def attribute_scores(store, query: Query, filters: Filters, cameras=None, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the candidate detections (`candidate_rows`), scored by attributes alone; ids ascending.

    The rules of `colour_match` and the scores below, computed over the search columns at once."""
    cols = store.columns()
    if rows is None:
        rows = candidate_rows(store, query, filters, cameras)
    colour = colour_scores(cols, rows, query)
    if colour is None:
        score = 0.6 * cols.conf[rows] + 0.4 * cols.quality[rows]
    else:
        matched = colour > 0.0
        rows, colour = rows[matched], colour[matched]
        score = 0.65 * colour + 0.2 * cols.conf[rows] + 0.15 * cols.quality[rows]
    return cols.id[rows], score.astype(np.float32)


def colour_scores(cols, rows: np.ndarray, query: Query) -> np.ndarray | None:
    """`colour_match` of the detections at `rows`; where it is above 0 and the detection's track has
    more than one detection, averaged with the match of the track's voted colours (steadier)."""
    wanted = [("whole", g) for g in query.colors] + [("upper", g) for g in query.upper] + [("lower", g) for g in query.lower]
    if not wanted:
        return None
    person = np.isin(cols.cls[rows], cols.class_codes(["person"]))
    colour = _match(cols, rows, wanted, person, tracks=False)
    track = cols.track_row[rows]
    steady = (colour > 0.0) & (track >= 0)
    steady[steady] = cols.track_n[track[steady]] > 1
    colour[steady] = 0.5 * colour[steady] + 0.5 * _match(cols, track[steady], wanted, person[steady], tracks=True)
    return colour


def _match(cols, rows: np.ndarray, wanted: list, person: np.ndarray, tracks: bool) -> np.ndarray:
    total = np.zeros(len(rows))
    missing = np.zeros(len(rows), bool)
    for part, names in wanted:
        share = _share(cols, rows, "whole", names, tracks)
        if part != "whole":  # clothing colours are a person's; other objects are looked up whole
            share = np.where(person, _share(cols, rows, part, names, tracks), share)
        missing |= share < MIN_SHARE
        total += np.minimum(1.0, share / FULL_SHARE)
    return np.where(missing, 0.0, total / len(wanted))


def _share(cols, rows: np.ndarray, part: str, names, tracks: bool) -> np.ndarray:
    """Largest share (0..1) among `names` of `part`, per row."""
    from forensic.index.columns import SHARE_SCALE

    best = np.zeros(len(rows), np.uint16)
    for name in names:
        if name in cols.palette:
            best = np.maximum(best, cols.share(part, name, tracks)[rows])
    return best / SHARE_SCALE


def clip_scores(store, clip, text: str, candidates: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CLIP similarity (0..1 after min-max over the returned set) of the best `candidates` detections:
    (ids, similarities), best first; empty when CLIP cannot be used."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    spec = store.embedder("clip")
    if clip is None or spec is None:
        return none
    if spec[0] != clip.name:
        log.warning("index CLIP vectors come from %s, the loaded model is %s: CLIP not used", spec[0], clip.name)
        return none
    index = store.vector_index("clip")
    if index is None or (allowed is not None and len(allowed) == 0):
        return none
    ids, sims = index.search(clip.embed_text([text])[0], candidates, allowed)
    if len(ids) == 0:
        return none
    lo, hi = float(sims.min()), float(sims.max())
    norm = (sims - lo) / (hi - lo) if hi > lo else np.ones_like(sims)
    return ids, norm.astype(np.float32)


def plate_similarity(store, ids: np.ndarray, patterns) -> np.ndarray:
    """0..1 per detection: how well its track's plate matches the best of `patterns` (PlatePattern;
    1 exact, less by weighted edit distance, 0 beyond the allowed distance or when no plate was read).
    The stored normalised plate and the plate as read are both tried (the format fit may have
    changed a character the reader got right)."""
    from forensic.plates import normalise_plate

    by_track: dict[int, float] = {}
    for row in store.plates():
        texts = {row["norm"], normalise_plate(row["text"])}
        sim = max(p.similarity(t) for p in patterns for t in texts)
        if sim > 0:
            by_track[int(row["track"])] = max(sim, by_track.get(int(row["track"]), 0.0))
    out = np.zeros(len(ids), np.float32)
    if not by_track or not len(ids):
        return out
    cols = store.columns()
    rows = cols.rows_of(ids)
    track = np.where(rows >= 0, cols.track[np.maximum(rows, 0)], 0)
    tracks = np.fromiter(by_track, np.int64, len(by_track))
    sims = np.fromiter(by_track.values(), np.float32, len(by_track))
    order = np.argsort(tracks)
    tracks, sims = tracks[order], sims[order]
    at = np.minimum(np.searchsorted(tracks, track), len(tracks) - 1)
    hit = tracks[at] == track
    out[hit] = sims[at[hit]]
    return out


def with_plates(store, query: Query, ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plates add to the score: tracks whose plate matches rank first (by plate similarity, then by the
    rest of the query), the others keep their order below them; a plate never read does not block an
    appearance match. Only when nothing but a plate was asked do the others drop out."""
    sim = plate_similarity(store, ids, query.plates)
    matched = sim > 0
    if not query.appearance:
        ids, scores, sim, matched = ids[matched], scores[matched], sim[matched], matched[matched]
    scores = np.where(matched, PLATE_FLOOR + 0.4 * sim + 0.1 * scores, PLATE_FLOOR * scores)
    return ids, scores.astype(np.float32)


def filters_for(query: Query) -> Filters:
    return Filters(classes=query.classes, cameras=query.cameras, since=query.since, until=query.until)


def search_text(store, query: Query, clip=None, limit: int = 20, per_frame: bool = False, cameras=None,
                min_score: float = 0.0) -> list[Hit]:
    if not query.text.strip():
        raise ForensicError("empty query: describe what to find, e.g. 'red motorbike' or 'xe máy màu đỏ'")
    # CLIP ranks appearance: a query of a plate alone has none to rank.
    use_clip = clip is not None and store.embedder("clip") is not None and (query.appearance or not query.plates)
    filters = filters_for(query)
    if not query.understood and not use_clip and not filters.active:
        raise ForensicError(f"nothing in {query.text!r} was understood (ignored: {', '.join(query.ignored)}); "
                            "name a class (person, motorbike, car, bus, truck, bicycle) and/or a colour")
    rows = candidate_rows(store, query, filters, cameras)
    ids, scores = attribute_scores(store, query, filters, cameras, rows)
    if use_clip:
        text = query.text if clip.multilingual or not query.understood else query.caption()
        allowed = store.columns().id[rows] if filters.active or query.riding else None
        sim_ids, sims = clip_scores(store, clip, text, max(1000, 50 * limit), allowed)
        if len(sim_ids):
            if query.understood:
                fused = np.zeros(len(ids), np.float32)  # detections CLIP did not return get 0
                at = np.searchsorted(ids, sim_ids)
                found = at < len(ids)
                found[found] = ids[at[found]] == sim_ids[found]
                fused[at[found]] = sims[found]
                scores = (1 - CLIP_WEIGHT) * scores + CLIP_WEIGHT * fused
            else:
                ids, scores = sim_ids, sims
    if query.plates:
        ids, scores = with_plates(store, query, ids, scores)
    return top_hits(store, ids, scores, limit, per_frame, min_score)
