"""Which person detections are riding a motorbike or bicycle, from the boxes already in the index.

"Motorbike rider in a red jacket" describes a person (the jacket's colour is on the person's box,
not on the motorbike's, whose box also holds cargo), but only a person on a motorbike: one whose
box sits on a motorbike or bicycle box of the same or a nearby sampled frame. Computed at search
time from the stored boxes, so every existing index has it without re-indexing; a person's whole
track counts as riding when enough of its detections do (the vehicle is missed in some frames).

In the index layer because the search columns store what these rules find (forensic.index.columns);
search uses them from here (forensic.search.riding re-exports them).
"""

from __future__ import annotations

import numpy as np

# The stored search columns (forensic.index.columns) hold each person's ridden vehicle as these rules judge
# it: raise RIDING_VERSION with any change to the rules (not to comments or layout), and every index
# recomputes that column once.
RIDING_VERSION = 1

RIDDEN = ("motorcycle", "bicycle")
TRACK_SHARE = 0.3  # a track rides when this share of its person detections do
WINDOW = 0.6  # seconds: a vehicle seen this close in time may be the one a person rides


def riding(video: np.ndarray, t: np.ndarray, cls: np.ndarray, xyxy: np.ndarray, window: float = WINDOW) -> np.ndarray:
    """For each detection, the class of the vehicle it rides ('' when none; always '' for non-persons).

    A person rides a motorbike/bicycle of the same video seen at most `window` seconds apart (the
    detector often finds the rider in one sampled frame and the motorbike in the next) when the
    vehicle box covers the lower part of the person box: the person's bottom edge lies in the
    vehicle's lower part, the person's top is above the vehicle's top, their centres are within
    about a box width of each other, and the boxes overlap by at least a quarter of the smaller one.
    """
    n = len(cls)
    out = np.full(n, "", dtype="<U16")
    if n == 0:
        return out
    cls = np.asarray(cls).astype(str)
    xyxy = np.asarray(xyxy, np.float64).reshape(n, 4)
    t = np.asarray(t, np.float64)
    video = np.asarray(video, np.int64)
    people = np.flatnonzero(cls == "person")
    vehicles = np.flatnonzero(np.isin(cls, RIDDEN))
    if len(people) == 0 or len(vehicles) == 0:
        return out
    # Order vehicles by (video, time); the candidates of a person are a contiguous run.
    order = np.lexsort((t[vehicles], video[vehicles]))
    vehicles = vehicles[order]
    span = float(max(1.0, np.ptp(t) + 2 * window + 1.0))
    key = video[vehicles] * span + t[vehicles]
    lo = np.searchsorted(key, video[people] * span + t[people] - window - 1e-6, "left")
    hi = np.searchsorted(key, video[people] * span + t[people] + window + 1e-6, "right")
    counts = hi - lo
    if counts.sum() == 0:
        return out
    # All (person, vehicle) candidate pairs, flattened.
    p = np.repeat(people, counts)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    v = vehicles[np.arange(counts.sum()) + starts]
    P, V = xyxy[p], xyxy[v]
    pw, ph = P[:, 2] - P[:, 0], P[:, 3] - P[:, 1]
    vw, vh = V[:, 2] - V[:, 0], V[:, 3] - V[:, 1]
    iw = np.clip(np.minimum(P[:, 2], V[:, 2]) - np.maximum(P[:, 0], V[:, 0]), 0, None)
    ih = np.clip(np.minimum(P[:, 3], V[:, 3]) - np.maximum(P[:, 1], V[:, 1]), 0, None)
    overlap = iw * ih / np.maximum(1e-6, np.minimum(pw * ph, vw * vh))
    ok = ((overlap >= 0.25)
          & (np.abs((P[:, 0] + P[:, 2]) - (V[:, 0] + V[:, 2])) / 2 <= 0.5 * np.maximum(vw, pw))
          & (P[:, 3] >= V[:, 1] + 0.3 * vh) & (P[:, 3] <= V[:, 3] + 0.15 * ph)
          & (P[:, 1] <= V[:, 1] + 0.1 * vh))
    if not ok.any():
        return out
    p, v, overlap = p[ok], v[ok], overlap[ok]
    order = np.lexsort((-overlap, p))  # per person, the best-overlapping vehicle first
    p, v = p[order], v[order]
    first = np.concatenate(([True], p[1:] != p[:-1]))
    out[p[first]] = cls[v[first]]
    return out


def over_tracks(track: np.ndarray, rides: np.ndarray, share: float = TRACK_SHARE) -> np.ndarray:
    """Spread `riding` over tracks: every detection of a track gets the vehicle class most of its
    riding detections have, when at least `share` of the track's detections ride (track <= 0 or
    None: the detection stands alone)."""
    rides = np.asarray(rides).astype("<U16")
    track = np.array([t if t is not None and t > 0 else -1 for t in track], np.int64) if len(track) else np.zeros(0, np.int64)
    out = rides.copy()
    tracked = track > 0
    if not tracked.any():
        return out
    ids, inverse = np.unique(track[tracked], return_inverse=True)
    sub = rides[tracked]
    total = np.bincount(inverse, minlength=len(ids))
    best = np.full(len(ids), "", dtype="<U16")
    best_n = np.zeros(len(ids), np.int64)
    for name in RIDDEN:
        n = np.bincount(inverse, weights=(sub == name), minlength=len(ids)).astype(np.int64)
        better = (n > best_n) & (n >= share * total)
        best[better], best_n[better] = name, n[better]
    out[tracked] = best[inverse]
    return out
