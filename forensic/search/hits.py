"""A search result, and its stable JSON form (other tools read it: keep the keys)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from forensic.colors import Colors


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
    clothing: dict[str, list[str]] = field(default_factory=dict)  # people: upper / lower colours
    track: dict | None = None  # the appearance this detection belongs to: id, first_seen, last_seen, detections, thumb

    def to_json(self) -> dict:
        out = {"id": self.id, "video": self.video, "camera": self.camera, "t": round(self.t, 3), "time": self.time,
               "bbox": [round(v, 1) for v in self.bbox], "class": self.cls, "score": round(self.score, 4),
               "colors": self.colors, "thumb": self.thumb, "confidence": round(self.confidence, 4), "frame": self.frame}
        if self.clothing:
            out["clothing"] = self.clothing
        if self.track:
            out["track"] = self.track
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
        wall = None
        if row["start_time"]:
            wall = (datetime.fromisoformat(row["start_time"]) + timedelta(seconds=row["t"])).isoformat(timespec="milliseconds")
        return cls(id=row["id"], video=row["path"], camera=row["camera"], t=row["t"], time=wall,
                   bbox=[row["x1"], row["y1"], row["x2"], row["y2"]], cls=row["cls"], score=float(score),
                   colors=colors.names(), thumb=str((index_root / row["thumb"]).resolve()) if row["thumb"] else None,
                   confidence=row["conf"], frame=row["frame"], clothing=clothing, track=track)


def hits_from_scores(store, scored: list[tuple[int, float]], limit: int, per_frame: bool = False) -> list[Hit]:
    """Hits for the best `limit` (detection id, score) pairs, best first; one per track unless `per_frame`."""
    ranked = sorted(scored, key=lambda p: -p[1])
    if not per_frame:
        tracks = store.tracks_of([i for i, _ in ranked])
        seen: set = set()
        best = []
        for i, s in ranked:
            key = tracks.get(i) or ("det", i)
            if key not in seen:
                seen.add(key)
                best.append((i, s))
                if len(best) == limit:
                    break
    else:
        best = ranked[:limit]
    rows = store.rows([i for i, _ in best])
    return [Hit.from_row(rows[i], s, store.root) for i, s in best if i in rows]
