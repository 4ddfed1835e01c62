"""A search result, and its stable JSON form (other tools read it: keep the keys)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from forensic.colors import Colors


PLATE_SHOWN = 0.5  # a plate read with less confidence is not shown with the hit (it still counts for a plate query)


@dataclass
class Hit:
    id: int
    video: str  # absolute path
    camera: str
    t: float  # seconds from the start of the video
    time: str | None  # ISO 8601 wall-clock time, when the video's start is known
    bbox: list[float]  # x1, y1, x2, y2 in source pixels
    cls: str  # COCO class name
    score: float
    colors: list[str]
    thumb: str | None  # absolute path of the crop
    confidence: float
    frame: int
    clothing: dict[str, list[str]] = field(default_factory=dict)  # people: upper / lower (/ head) colours
    track: dict | None = None  # the appearance this detection belongs to: id, first_seen, last_seen, detections, thumb
    cls2: str | None = None  # the detector's second-best class, when known
    confidence2: float | None = None  # its score
    plate: dict | None = None  # its licence plate when one was read: text (written form), raw (as read), confidence, crop
    time_source: str | None = None  # where the video's start came from: pattern, filename, container, mtime, osd (on-screen clock)

    def to_json(self) -> dict:
        out = {"id": self.id, "video": self.video, "camera": self.camera, "t": round(self.t, 3), "time": self.time,
               "bbox": [round(v, 1) for v in self.bbox], "class": self.cls, "score": round(self.score, 4),
               "colors": self.colors, "thumb": self.thumb, "confidence": round(self.confidence, 4), "frame": self.frame}
        if self.clothing:
            out["clothing"] = self.clothing
        if self.track:
            out["track"] = self.track
        if self.cls2:
            out["class2"] = self.cls2
            out["confidence2"] = round(self.confidence2 or 0.0, 4)
        if self.plate:
            out["plate"] = self.plate
        if self.time and self.time_source:
            out["time_source"] = self.time_source
        return out

    @classmethod
    def from_row(cls, row, score: float, index_root: Path) -> "Hit":
        track = None
        if row["track"] is not None and row["track"] > 0 and row["first_t"] is not None:
            track = {"id": row["track"], "first_seen": round(row["first_t"], 3), "last_seen": round(row["last_t"], 3),
                     "detections": row["track_n"], "thumb": str((index_root / row["track_thumb"]).resolve()) if row["track_thumb"] else None}
            if row["start_time"]:
                start = datetime.fromisoformat(row["start_time"])
                track["first_time"] = (start + timedelta(seconds=row["first_t"])).isoformat(timespec="milliseconds")
                track["last_time"] = (start + timedelta(seconds=row["last_t"])).isoformat(timespec="milliseconds")
        colors = Colors.from_dict(json.loads(row["track_colors"] if track and row["track_colors"] else row["colors"]))
        clothing = {"upper": colors.names("upper"), "lower": colors.names("lower")} if colors.upper is not None else {}
        if clothing and colors.head:
            clothing["head"] = colors.names("head")
        wall = None
        if row["start_time"]:
            wall = (datetime.fromisoformat(row["start_time"]) + timedelta(seconds=row["t"])).isoformat(timespec="milliseconds")
        plate = None
        if "plate_display" in row.keys() and row["plate_display"] and (row["plate_conf"] or 0.0) >= PLATE_SHOWN:
            plate = {"text": row["plate_display"], "raw": row["plate_text"], "confidence": round(row["plate_conf"], 3),
                     "crop": str((index_root / row["plate_crop"]).resolve()) if row["plate_crop"] else None}
        return cls(id=row["id"], video=row["path"], camera=row["camera"], t=row["t"], time=wall,
                   bbox=[row["x1"], row["y1"], row["x2"], row["y2"]], cls=row["cls"], score=float(score),
                   colors=colors.names(), thumb=str((index_root / row["thumb"]).resolve()) if row["thumb"] else None,
                   confidence=row["conf"], frame=row["frame"], clothing=clothing, track=track, plate=plate,
                   cls2=row["cls2"] if "cls2" in row.keys() else None, confidence2=row["conf2"] if "conf2" in row.keys() else None,
                   time_source=row["time_source"] if "time_source" in row.keys() else None)


def best_rows(scores: np.ndarray, limit: int, group: np.ndarray | None = None) -> np.ndarray:
    """Positions of the `limit` best scores, best first, earlier positions first among equal scores;
    with `group`, only the best of each group key. Looks at a few top candidates, not a full sort."""
    n = len(scores)
    k = min(n, max(4 * limit, 64))
    while n:
        if k < n:
            cand = np.flatnonzero(scores >= np.partition(scores, n - k)[n - k])  # the k best (and their ties)
        else:
            cand = np.arange(n)
        cand = cand[np.lexsort((cand, -scores[cand]))]
        if group is None:
            return cand[:limit]
        _, first = np.unique(group[cand], return_index=True)
        first.sort()
        if len(first) >= limit or len(cand) == n:
            return cand[first[:limit]]
        k *= 4  # many of the best share a few tracks: look further down
    return np.zeros(0, np.int64)


def top_hits(store, ids: np.ndarray, scores: np.ndarray, limit: int, per_frame: bool = False, min_score: float = 0.0) -> list[Hit]:
    """Hits for the best `limit` detections (ids with their scores), best first; one per track (its
    best-scoring detection) unless `per_frame`. Only those few rows are read from SQLite.

    Scores below `min_score` are dropped here, before the limit: the one place every search (text,
    photo, similar) applies --min-score, so a threshold never shortens a list that had more to give."""
    ids = np.asarray(ids, np.int64)
    scores = np.asarray(scores)
    keep = scores >= min_score
    ids, scores = ids[keep], scores[keep]
    group = None
    if not per_frame and len(ids):
        cols = store.columns()
        rows = cols.rows_of(ids)
        track = np.where(rows >= 0, cols.track[np.maximum(rows, 0)], 0) if len(cols) else np.zeros(len(ids), np.int64)
        group = np.where(track > 0, track, -ids)  # a detection without a track is its own group
    best = best_rows(scores, limit, group)
    picked = list(zip(ids[best].tolist(), scores[best].tolist()))
    rows = store.rows([i for i, _ in picked])
    return [Hit.from_row(rows[i], s, store.root) for i, s in picked if i in rows]
