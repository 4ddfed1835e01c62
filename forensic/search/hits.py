"""A search result, and its stable JSON form (other tools read it: keep the keys)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from forensic.colors import Colors
from forensic.timestamps import DEFAULT_TZ, WallClock, wall_clock


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
    clock: dict | None = None  # how `time` was made: source (= time_source), timezone, clock_offset, recomputed, dst,
    #                            video_time (see clock_of)

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
        if self.clock:
            out["clock"] = self.clock
        return out

    @property
    def wall(self):
        """The WallClock of the hit's recording (None when its start is unknown)."""
        return getattr(self, "_wall", None)

    @classmethod
    def from_row(cls, row, score: float, index_root: Path, cameras=None) -> "Hit":
        """`cameras`: the cameras file now (forensic.cameras.Cameras); a camera it names gets its times from
        its timezone and clock offset of now, not those of the indexing run (see clock_of)."""
        wall, clock = clock_of(row, cameras)
        track = None
        if row["track"] is not None and row["track"] > 0 and row["first_t"] is not None:
            track = {"id": row["track"], "first_seen": round(row["first_t"], 3), "last_seen": round(row["last_t"], 3),
                     "detections": row["track_n"], "thumb": str((index_root / row["track_thumb"]).resolve()) if row["track_thumb"] else None}
            if wall is not None:
                track["first_time"] = wall.at(row["first_t"]).isoformat(timespec="milliseconds")
                track["last_time"] = wall.at(row["last_t"]).isoformat(timespec="milliseconds")
        colors = Colors.from_dict(json.loads(row["track_colors"] if track and row["track_colors"] else row["colors"]))
        clothing = {"upper": colors.names("upper"), "lower": colors.names("lower")} if colors.upper is not None else {}
        if clothing and colors.head:
            clothing["head"] = colors.names("head")
        plate = None
        if "plate_display" in row.keys() and row["plate_display"] and (row["plate_conf"] or 0.0) >= PLATE_SHOWN:
            plate = {"text": row["plate_display"], "raw": row["plate_text"], "confidence": round(row["plate_conf"], 3),
                     "crop": str((index_root / row["plate_crop"]).resolve()) if row["plate_crop"] else None}
        hit = cls(id=row["id"], video=row["path"], camera=row["camera"], t=row["t"],
                  time=wall.at(row["t"]).isoformat(timespec="milliseconds") if wall is not None else None,
                   bbox=[row["x1"], row["y1"], row["x2"], row["y2"]], cls=row["cls"], score=float(score),
                   colors=colors.names(), thumb=str((index_root / row["thumb"]).resolve()) if row["thumb"] else None,
                   confidence=row["conf"], frame=row["frame"], clothing=clothing, track=track, plate=plate,
                   cls2=row["cls2"] if "cls2" in row.keys() else None, confidence2=row["conf2"] if "conf2" in row.keys() else None,
                   time_source=clock["source"], clock=clock)
        hit._wall = wall
        return hit


VIDEO_TIME = {"pts": "presentation timestamps", "pts+estimated": "presentation timestamps (some frames had none: estimated)",
              "frame/fps": "frame number / frame rate (the recording carries no timestamps)"}
OLD_VIDEO_TIME = "frame number / average frame rate (indexed before forensic read timestamps: re-index for exact times)"


def _clock_was_barred(said) -> bool:
    """Whether the on-screen clock could not give a recording's start when it was indexed, from what the index
    kept of the clock (`said`: its JSON, or None): not read at all (the camera had no `osd` then), or read
    with time_source = "file"."""
    if not said:
        return True
    try:
        return json.loads(said).get("time_source") == "file"
    except (ValueError, AttributeError):
        return False


def clock_of(row, cameras=None):
    """(WallClock or None, the hit's `clock` dict) of a detection row with its video's time columns.

    The start is made when read, from the start as recorded and the camera's timezone and clock offset:
    those of the cameras file now when it names the camera (by id, or by a pattern that owns the file),
    else those of the indexing run. `recomputed` says the settings differ from the indexing run's (the
    time shown is not the one stored then); a video indexed before the recorded start was kept has its
    stored time ('as indexed'), and `stale` when the cameras file now says otherwise.

    A start read from the recorder's on-screen clock (source 'osd') is the local time the clock showed,
    made into wall-clock time the same way; it is `stale` when the cameras file no longer lets that clock
    give this camera's start (its osd removed, or time_source = "file"), and a start from the file is
    `stale` when the cameras file now lets an on-screen clock give it where it could not at indexing (no
    `osd` then, or time_source = "file"): which source to use is decided when indexing, so only
    re-indexing can apply either change."""
    keys = row.keys()
    get = lambda k: row[k] if k in keys else None  # noqa: E731 - an index opened read-only may lack the newer columns
    base = get("t_base")
    clock = {"source": get("time_source"), "video_time": VIDEO_TIME.get(base, base) if base else OLD_VIDEO_TIME}
    cam = None
    for c in getattr(cameras, "cameras", None) or ():
        if c.id == row["camera"]:
            cam = c
            break
    if cam is None:
        cam = next((c for c in getattr(cameras, "cameras", None) or () if c.owns(row["path"])), None)
    recorded = get("recorded_start")
    if recorded:
        stored_tz, stored_offset = get("clock_timezone") or DEFAULT_TZ, float(get("clock_offset") or 0.0)
        tz, offset = (cam.timezone, cam.clock_offset) if cam is not None else (stored_tz, stored_offset)
        wall = wall_clock(recorded, get("time_source") or "?", tz, offset)
        clock |= {"timezone": tz, "clock_offset": offset, "recorded_start": recorded,
                  "recomputed": (tz, offset) != (stored_tz, stored_offset)}
        if clock["recomputed"]:
            clock["indexed_with"] = {"timezone": stored_tz, "clock_offset": stored_offset}
        if wall.dst:
            clock["dst"] = wall.dst
            clock["dst_note"] = wall.dst_note
        clock_now = cam is not None and getattr(cam, "osd", None) is not None and getattr(cam, "time_source", "auto") != "file"
        if cam is not None and clock["source"] == "osd" and not clock_now:
            clock["stale"] = ("this recording's start was read from the recorder's on-screen clock, but the cameras file no longer "
                              "uses that clock for this camera: re-index it to take the start from the file")
        reading = "osd_reading" if "osd_reading" in keys else "clock" if "clock" in keys else None  # IndexStore.rows / a videos row
        if clock_now and clock["source"] != "osd" and reading and _clock_was_barred(row[reading]):
            clock["stale"] = ("the cameras file now lets this camera's on-screen clock give its start, which it did not when this "
                              "recording was indexed: re-index it to check its start against the clock")
        return wall, clock
    if not row["start_time"]:
        return None, clock | {"timezone": None, "clock_offset": None, "recomputed": False}
    start = datetime.fromisoformat(row["start_time"])  # with its UTC offset; the zone's name was not kept
    tz = get("clock_timezone") or DEFAULT_TZ
    wall = WallClock(start.astimezone(ZoneInfo(tz)), get("time_source") or "?", tz, 0.0)
    clock |= {"timezone": tz, "clock_offset": None, "recomputed": False, "as_indexed": True}
    if wall.start.utcoffset() != start.utcoffset():  # stored in another zone than the default: keep its offset
        wall = WallClock(start, wall.source, start.strftime("UTC%z"), 0.0)
        clock["timezone"] = wall.timezone
    if cam is not None and (start.astimezone(ZoneInfo(cam.timezone)).utcoffset() != start.utcoffset() or cam.clock_offset):
        clock["stale"] = ("the cameras file now gives this camera other clock settings, but this video was indexed before "
                          "forensic kept the recorded start: re-index it to apply them")
    return wall, clock


def video_clock(video, cameras=None):
    """clock_of for a row of the videos table (IndexStore.videos), whose timezone column a detection row
    (IndexStore.rows) names clock_timezone."""
    row = dict(video)
    row["clock_timezone"] = row.get("timezone")
    return clock_of(row, cameras)


def best_rows(scores: np.ndarray, limit: int, group=None) -> np.ndarray:
    """Positions of the `limit` best scores, best first, earlier positions first among equal scores;
    with `group` (an array, or a function of positions giving their keys), only the best of each group
    key. Looks at a few top candidates, not a full sort."""
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
        _, first = np.unique(group(cand) if callable(group) else group[cand], return_index=True)
        first.sort()
        if len(first) >= limit or len(cand) == n:
            return cand[first[:limit]]
        k *= 4  # many of the best share a few tracks: look further down
    return np.zeros(0, np.int64)


def top_hits(store, ids: np.ndarray, scores: np.ndarray, limit: int, per_frame: bool = False, min_score: float = 0.0,
             cameras=None) -> list[Hit]:
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

        def group(at: np.ndarray) -> np.ndarray:  # the track of the candidates best_rows looks at (not of all ids)
            rows = cols.rows_of(ids[at])
            track = np.where(rows >= 0, cols.track[np.maximum(rows, 0)], 0) if len(cols) else np.zeros(len(at), np.int64)
            return np.where(track > 0, track, -ids[at])  # a detection without a track is its own group
    best = best_rows(scores, limit, group)
    picked = list(zip(ids[best].tolist(), scores[best].tolist()))
    rows = store.rows([i for i, _ in picked])
    return [Hit.from_row(rows[i], s, store.root, cameras) for i, s in picked if i in rows]
