"""Text search: rank detections by class, colour shares, detection confidence and crop quality,
fused with CLIP text-to-image similarity when the index holds CLIP vectors of the loaded model.

What the text asks for ranks; it never hides a detection of an asked class. Classes: a detection is a
candidate when its first class is asked, or its second class (the detector's doubt between look-alikes,
e.g. a bicycle half-called a motorcycle) scored at least MIN_SECOND; a second-class match counts with
that class's score. Colours: a detection lacking an asked colour ranks below every detection that has
them all, but is still returned. Only explicit filters (`Filters`: --class, --color, cameras, time)
leave detections out.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from forensic.colors import MIN_REPORTED
from forensic.detections import LOOK_ALIKE
from forensic.errors import ForensicError
from forensic.index.columns import SHARE_SCALE, class_bits
from forensic.plates import normalise_plate
from forensic.query import Query
from forensic.search.filters import MIN_SHARE, Filters
from forensic.search.hits import Hit, top_hits

log = logging.getLogger(__name__)

PLATE_FLOOR = 0.5  # a track whose plate matches scores above every track whose plate does not
SHOWN_SHARE = MIN_REPORTED  # a track's colour counts for the upper tier from the share at which a hit shows it
FULL_SHARE = 0.5  # a colour covering half the object (after background removal) is a full match
# MIN_SHARE (forensic.search.filters): below this the object is not of the asked colour at all
MIN_SECOND = 0.1  # a second class scored below this is no candidate for a query asking that class
# A rider query naming clothing ranks people not seen on one of its vehicles too (the detector misses the
# motorbike of a stopped or half-hidden rider), with this class agreement and never in the upper tier.
UNSEEN_RIDE = 0.4
CLIP_WEIGHT = 0.5


def colour_match(colors: dict, query: Query, is_person: bool, floor: float = MIN_SHARE) -> tuple[float, bool] | None:
    """(0..1 agreement, complete) of an object's colour shares with the query's colours; None when none
    are asked. Agreement: the mean over asked colours of share / FULL_SHARE (capped at 1), a colour
    under MIN_SHARE counting 0; complete: every asked colour has at least `floor`."""
    wanted = query.wanted()
    if not wanted:
        return None
    scores, complete = [], True
    for part, names in wanted:
        shares = (colors.get(part) if is_person or part == "whole" else colors.get("whole")) or {}
        share = max(shares.get(n, 0.0) for n in names)
        complete &= share >= floor
        scores.append(min(1.0, share / FULL_SHARE) if share >= MIN_SHARE else 0.0)
    return float(np.mean(scores)), bool(complete)


def asked_classes(query: Query) -> tuple[str, ...]:
    """The classes a query ranks (none: any class). A rider query ("motorbike rider in a red jacket",
    "người đi xe máy") asks for its vehicles and for people (only those riding one of its vehicles,
    see `class_scores`); when it names clothing colours, for the people alone: a motorbike's box mixes
    the rider's clothes with its cargo."""
    if not query.riding:
        return query.classes
    classes = tuple(dict.fromkeys((*query.classes, *query.riding, "person")))
    if query.clothing:
        classes = tuple(c for c in classes if c not in query.riding)
    return classes


def class_scores(cols, rows: np.ndarray, query: Query) -> tuple[np.ndarray, np.ndarray]:
    """(agreement, probability) of the detections at `rows` with the query's classes: 1 and the
    detection's confidence when its first class is asked; its second class's score (both) when only
    that is, scores at least MIN_SECOND and is a look-alike of the first (LOOK_ALIKE: a van called a
    car or a truck, an e-bike a motorcycle or a bicycle); 0 and 0 otherwise. A query naming no class
    agrees with every detection. Rider queries take, of people, those riding one of their vehicles; when
    they name clothing (people are then their only candidates), other people too at UNSEEN_RIDE: a rider
    whose motorbike the detector missed is ranked below the seen riders with the asked colours, not hidden."""
    conf = cols.conf[rows]
    classes = asked_classes(query)
    if not classes:
        return np.ones(len(rows)), conf
    cls, cls2, conf2 = cols.cls[rows], cols.cls2[rows], cols.conf2[rows]
    asked = _lut(cols.class_codes(classes))
    first = asked[cls]
    group = np.full(256, -1)  # look-alike group of each class code; NO_CLASS and the rest: none
    for g, members in enumerate(LOOK_ALIKE):
        group[cols.class_codes(members)] = g
    second = ~first & asked[cls2] & (conf2 >= MIN_SECOND)
    second &= (group[cls] >= 0) & (group[cls] == group[cls2])
    unseen = np.zeros(len(rows), bool)  # people of a rider query not seen riding (UNSEEN_RIDE)
    if query.riding:
        person = np.isin(cls, cols.class_codes(["person"]))
        rides = np.isin(cols.rides[rows], [k + 1 for k, vehicle in enumerate(cols.ridden) if vehicle in query.riding])
        if query.clothing:
            unseen = first & person & ~rides
        first &= ~person | rides
    return (np.where(first, 1.0, np.where(unseen, UNSEEN_RIDE, np.where(second, conf2, 0.0))),
            np.where(first | unseen, conf, np.where(second, conf2, 0.0)))


def _lut(codes) -> np.ndarray:
    """A 256-entry table of class codes (uint8) -> whether the code is one of `codes`: one lookup per row."""
    out = np.zeros(256, bool)
    out[list(codes)] = True
    return out


_MASK = object()  # candidate_rows / _hits_by_track: compute the filters' mask (else: the mask already computed)


def candidate_rows(store, query: Query, filters: Filters, cameras=None, keep=_MASK) -> np.ndarray:
    """Rows of the search columns a query ranks: those passing the filters whose class the query asks
    (first class, or second class scored at least MIN_SECOND; see `class_scores`)."""
    cols = store.columns()
    if keep is _MASK:
        keep = filters.mask(store, cameras)
    classes = asked_classes(query)
    if not classes:
        return np.arange(len(cols)) if keep is None else np.flatnonzero(keep)
    if keep is not None and np.count_nonzero(keep) <= len(keep) // 8:  # few pass the filters: look at those alone
        rows = np.flatnonzero(keep)
        return rows[class_scores(cols, rows, query)[0] > 0]
    # over the one-byte class columns first: a detection whose first class is asked is a candidate (riders
    # aside), one whose second class is asked only as `class_scores` says (its score, its look-alike group)
    asked = _lut(cols.class_codes(classes))
    first = asked[cols.cls]
    second = ~first & asked[cols.cls2]
    if keep is not None:
        first &= keep
        second &= keep
    if query.riding:  # people only when riding one of the asked vehicles: class_scores says which
        rows = np.flatnonzero(first | second)
        return rows[class_scores(cols, rows, query)[0] > 0]
    maybe = np.flatnonzero(second)
    first[maybe[class_scores(cols, maybe, query)[0] > 0]] = True
    return np.flatnonzero(first)


def attribute_scores(store, query: Query, filters: Filters, cameras=None, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the candidate detections (`candidate_rows`), scored by attributes alone; ids ascending.

    The rules of `class_scores` and `colour_match`, computed over the search columns at once: the class
    agreement times a mix of colour agreement, the asked class's probability and crop quality; with
    colours asked, `tiered` puts the detections having them all above the others."""
    cols = store.columns()
    if rows is None:
        rows = candidate_rows(store, query, filters, cameras)
    base, complete = _base_scores(cols, rows, query)
    return cols.id[rows], tiered(base, complete).astype(np.float32)


def _base_scores(cols, rows: np.ndarray, query: Query) -> tuple[np.ndarray, np.ndarray | None]:
    """Untiered 0..1 scores of the detections at `rows`, and which have every asked colour (None: none asked)."""
    agreement, p = class_scores(cols, rows, query)
    quality = cols.quality[rows]
    colour = colour_scores(cols, rows, query)
    if colour is None:
        return agreement * (0.6 * p + 0.4 * quality), None
    colour, complete = colour
    if query.riding and query.clothing:  # the upper tier is the seen riders', not people maybe riding (UNSEEN_RIDE)
        complete &= agreement >= 1.0
    return agreement * (0.65 * colour + 0.2 * p + 0.15 * quality), complete


def tiered(scores: np.ndarray, complete: np.ndarray | None) -> np.ndarray:
    """0..1 scores with the detections having every asked colour in the upper half: above all others."""
    if complete is None:
        return scores
    return np.where(complete, 0.5 + 0.5 * scores, 0.5 * scores)


def colour_scores(cols, rows: np.ndarray, query: Query) -> tuple[np.ndarray, np.ndarray] | None:
    """`colour_match` of the detections at `rows`: (agreement, complete). Where the detection's track
    has more than one detection, the agreement is averaged with that of the track's voted colours
    (steadier: every detection's vote, and the pose-based colours of the track's best view), which
    count only when they have every asked colour. Whether such a detection has every asked colour
    (`complete`, the upper tier) is the track's to say, at the share from which a hit shows a colour
    (SHOWN_SHARE): a hit is shown with its track's colours, and a motorbike shown "black, white" must
    not head "red motorbike" because one of its boxes caught a red sign."""
    wanted = query.wanted()
    if not wanted:
        return None
    person = np.isin(cols.cls[rows], cols.class_codes(["person"]))
    colour, complete = _match(cols, rows, wanted, person, tracks=False)
    track = cols.track_row[rows]
    steady = track >= 0
    steady[steady] = cols.track_n[track[steady]] > 1
    voted, voted_complete = _match(cols, track[steady], wanted, person[steady], tracks=True)
    colour[steady] = 0.5 * colour[steady] + 0.5 * np.where(voted_complete, voted, 0.0)
    complete[steady] = _match(cols, track[steady], wanted, person[steady], tracks=True, floor=SHOWN_SHARE)[1]
    return colour, complete


def _match(cols, rows: np.ndarray, wanted: list, person: np.ndarray, tracks: bool,
           floor: float = MIN_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """(agreement, complete): complete when every asked colour has at least `floor` of its part."""
    total = np.zeros(len(rows))
    complete = np.ones(len(rows), bool)
    for part, names in wanted:
        share = _share(cols, rows, "whole", names, tracks)
        if part != "whole":  # clothing colours are a person's; other objects are looked up whole
            share = np.where(person, _share(cols, rows, part, names, tracks), share)
        present = share >= MIN_SHARE
        complete &= share >= floor
        total += np.where(present, np.minimum(1.0, share / FULL_SHARE), 0.0)
    return total / len(wanted), complete


def _share(cols, rows: np.ndarray, part: str, names, tracks: bool) -> np.ndarray:
    """Largest share (0..1) among `names` of `part`, per row."""
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


def track_bounds(cols, query: Query) -> tuple[np.ndarray, np.ndarray]:
    """(track rows, float32 bounds): the tracks of more than one detection that may hold a hit (a detection of an
    asked class, first or second; with colours asked, voted colours having them all: the upper tier) and the most any of their detections can
    score (tiered, as search_text scores): agreement 1, the track's largest confidence and quality, and with
    colours asked, every colour of the detection's own box full (agreement 1) beside the track's voted ones."""
    wanted = query.wanted()
    steady = cols.track_n > 1
    classes = asked_classes(query)
    if classes:  # tracks with a row of an asked class, first or second
        steady &= (cols.track_classes & np.bitwise_or.reduce(class_bits(cols.class_codes(classes)))) != 0
    if wanted:
        every = np.arange(len(cols.track_id))
        agree_p, as_person = _match(cols, every, wanted, np.ones(len(every), bool), tracks=True, floor=SHOWN_SHARE)
        agree_o, as_other = _match(cols, every, wanted, np.zeros(len(every), bool), tracks=True, floor=SHOWN_SHARE)
        tracks = np.flatnonzero(steady & (as_person | as_other))
        voted = np.maximum(agree_p, agree_o)[tracks]
        bound = 0.5 + 0.5 * (0.65 * (0.5 * 1.0 + 0.5 * voted) + 0.2 * cols.track_conf[tracks] + 0.15 * cols.track_quality[tracks])
    else:
        tracks = np.flatnonzero(steady)
        bound = 0.6 * cols.track_conf[tracks] + 0.4 * cols.track_quality[tracks]
    return tracks, bound.astype(np.float32)


TRACK_BATCH = 512  # tracks ranked exactly at first, those of the best bounds (see _hits_by_track)


def _hits_by_track(store, cols, query: Query, filters: Filters, limit: int, per_frame: bool, min_score: float,
                   cameras, keep=_MASK) -> list[Hit] | None:
    """The hits of a query without CLIP or plates, ranked exactly from a few tracks' detections instead of every
    candidate (the same hits: tests/search/test_text_by_track.py).

    A track's detections score at most its bound: the score of a detection of the asked class (agreement 1)
    with the track's largest confidence and quality and, with colours asked, every colour of its own box full
    (agreement 1) beside the track's voted colours. Detections of tracks of one detection and without a track
    are ranked as they are. The tracks of the best bounds are ranked first; then every track whose bound reaches
    the `limit`-th best hit found (float32, as scores are compared) is ranked too: no other detection can reach
    the hits. With colours asked, only the upper tier (`tiered`: every asked colour, so above 0.5) is looked
    at: None when it has fewer than `limit` hits above 0.5 (then every candidate is ranked)."""
    if limit <= 0:
        return None
    wanted = query.wanted()
    if keep is _MASK:
        keep = filters.mask(store, cameras)
    if keep is not None and np.count_nonzero(keep) <= len(keep) // 8:
        return None  # a narrow filter (a camera, a week): ranking what passes is cheaper
    classes = asked_classes(query)
    steady = cols.track_n > 1

    def candidates(rows: np.ndarray) -> np.ndarray:  # candidate_rows, among these rows
        if keep is not None:
            rows = rows[keep[rows]]
        if classes and len(rows):
            rows = rows[class_scores(cols, rows, query)[0] > 0]
        return rows

    loose = np.concatenate([cols.rows_of_tracks(np.flatnonzero(~steady)), cols.trackless_rows()])
    tracks, bound = track_bounds(cols, query)
    done = np.zeros(len(tracks), bool)
    parts_rows, parts_scores = [], []

    def rank(rows: np.ndarray) -> None:
        rows = candidates(rows)
        scores, complete = _base_scores(cols, rows, query)
        scores = tiered(scores, complete).astype(np.float32)
        if wanted:  # the upper tier only
            keep_upper = complete & (scores > np.float32(0.5))
            rows, scores = rows[keep_upper], scores[keep_upper]
        parts_rows.append(rows)
        parts_scores.append(scores)

    def kth() -> float | None:
        """The `limit`-th best hit's score so far (None: fewer hits)."""
        rows, scores = np.concatenate(parts_rows), np.concatenate(parts_scores)
        ok = scores >= min_score
        rows, scores = rows[ok], scores[ok]
        if not per_frame and len(rows):
            group = np.where(cols.track[rows] > 0, cols.track[rows], -cols.id[rows])
            order = np.argsort(group)
            group = group[order]
            scores = np.maximum.reduceat(scores[order], np.flatnonzero(np.r_[True, group[1:] != group[:-1]]))  # each group's best
        if len(scores) < limit:
            return None
        return float(np.partition(-scores, limit - 1)[limit - 1] * -1)

    rank(loose)
    top = np.argpartition(-bound, min(TRACK_BATCH, len(bound)) - 1)[:TRACK_BATCH] if len(bound) > TRACK_BATCH else np.arange(len(bound))
    rank(cols.rows_of_tracks(tracks[top]))
    done[top] = True
    line = kth()
    if line is None:  # too few so far: rank every track
        rank(cols.rows_of_tracks(tracks[~done]))
        done[:] = True
        line = kth()
        if line is None and wanted:
            return None
    if line is not None:
        more = ~done & (bound >= np.float32(line))
        rank(cols.rows_of_tracks(tracks[more]))
    rows, scores = np.concatenate(parts_rows), np.concatenate(parts_scores)
    order = np.argsort(rows, kind="stable")  # ranked in row order, as ranking every candidate does (ties: the earlier row)
    return top_hits(store, cols.id[rows[order]], scores[order], limit, per_frame, min_score, cameras)


def filters_for(query: Query, explicit: Filters | None = None) -> Filters:
    """What filters a text search: the place and time the text names, and the explicit filters
    (flags: classes, colours, cameras, time window). The classes and colours of the text only rank."""
    explicit = explicit or Filters()
    return replace(explicit, cameras=tuple(dict.fromkeys((*query.cameras, *explicit.cameras))),
                   since=explicit.since or query.since, until=explicit.until or query.until)


def search_text(store, query: Query, clip=None, limit: int = 20, per_frame: bool = False, cameras=None,
                min_score: float = 0.0, filters: Filters | None = None) -> list[Hit]:
    """The best `limit` hits for a text query. `filters`: explicit filters (--class, --color, ...), on
    top of the place and time the text names."""
    if not query.text.strip():
        raise ForensicError("empty query: describe what to find, e.g. 'red motorbike' or 'xe máy màu đỏ'")
    # CLIP ranks appearance: a query of a plate alone has none to rank.
    use_clip = clip is not None and store.embedder("clip") is not None and (query.appearance or not query.plates)
    filters = filters_for(query, filters)
    if not query.understood and not use_clip and not filters.active:
        raise ForensicError(f"nothing in {query.text!r} was understood (ignored: {', '.join(query.ignored)}); "
                            "name a class (person, motorbike, car, bus, truck, bicycle) and/or a colour")
    cols = store.columns()
    keep = filters.mask(store, cameras)
    if not use_clip and not query.plates:
        found = _hits_by_track(store, cols, query, filters, limit, per_frame, min_score, cameras, keep)
        if found is not None:
            return found
    rows = candidate_rows(store, query, filters, cameras, keep)
    ids = cols.id[rows]
    scores, complete = _base_scores(cols, rows, query)
    if use_clip:
        text = query.text if clip.multilingual or not query.understood else query.caption()
        allowed = ids if len(rows) < len(cols) else None
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
                ids, scores, complete = sim_ids, sims, None
    scores = tiered(scores, complete).astype(np.float32)
    if query.plates:
        ids, scores = with_plates(store, query, ids, scores)
    return top_hits(store, ids, scores, limit, per_frame, min_score, cameras)
