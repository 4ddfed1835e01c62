"""The search columns: a memory-mapped copy, one array per field, of what ranking and filtering read
for every detection (class, time, confidence, quality, track, colour shares) and for every video
(camera, start time), so a text query or a camera/time filter is a few numpy operations over a
million rows instead of a SQL scan that parses JSON per row.

SQLite stays the source of truth. The file records which finished videos it holds; opening it
compares that list with the database's finished videos (a video's rows never change while it is
'done', and video ids are never reused), drops the rows of removed videos and reads those of new
videos from SQLite, theirs only. A missing, unreadable or outdated file (another palette, another
layout: MAGIC names the layout) is rebuilt. Colour shares are stored in thousandths, as
`forensic.colors` rounds them, so ranking from the columns gives exactly the scores it gave from
the database.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensic.colors import PALETTE
from forensic.index.riding import RIDDEN, RIDING_VERSION, over_tracks, riding

log = logging.getLogger(__name__)

FILE_NAME = "search-columns.bin"
MAGIC = b"FRNSCOL5"  # the layout: 2 added cls2 / conf2 (the detector's second class), 3 the head colours, 4 checksums,
# 5 the rows of each track (track_rows, track_start) and their best confidence and quality
NO_CLASS = 255  # cls2 of a detection without a known second class
PARTS = ("whole", "upper", "lower", "head")
SHARE_SCALE = 1000  # shares are kept in thousandths (colours are rounded to 3 decimals)
_ALIGN = 64
_CHUNK_VIDEOS = 500


@dataclass
class Columns:
    palette: tuple[str, ...]
    classes: list[str]  # cls code -> class name
    cameras: list[str]  # video_camera code -> camera id
    id: np.ndarray  # (N,) int64 detection ids, ascending
    video: np.ndarray  # (N,) int32 row in the video_* arrays
    t: np.ndarray  # (N,) float64 seconds from the start of the video
    frame: np.ndarray  # (N,) int64 frame number in the video
    box: np.ndarray  # (N, 4) float32 x1, y1, x2, y2 in source pixels
    cls: np.ndarray  # (N,) uint8
    conf: np.ndarray  # (N,) float64
    cls2: np.ndarray  # (N,) uint8 the detector's second-best class (a code of `classes`), NO_CLASS when unknown
    conf2: np.ndarray  # (N,) float64 its score, 0 when unknown
    quality: np.ndarray  # (N,) float64
    track: np.ndarray  # (N,) int64 tracks.id, 0 when none
    track_row: np.ndarray  # (N,) int32 row in the track_* arrays, -1 when none
    shares: np.ndarray  # (len(PARTS) * P, N) uint16 thousandths; row = part * P + palette index
    video_id: np.ndarray  # (V,) int64 finished videos, ascending
    video_start: np.ndarray  # (V,) float64 Unix seconds of the recording start, NaN when unknown
    video_camera: np.ndarray  # (V,) int32
    track_id: np.ndarray  # (T,) int64, ascending
    track_n: np.ndarray  # (T,) int32 detections in the track
    track_shares: np.ndarray  # (len(PARTS) * P, T) uint16: colours voted over the track
    rides: np.ndarray | None = None  # (N,) uint8 the vehicle a person rides: 0 none, k + 1 = ridden[k]
    ridden: tuple[str, ...] = ()
    riding_version: str = ""  # forensic.index.riding.RIDING_VERSION of the rules that computed `rides`
    track_rows: np.ndarray | None = None  # (N,) int32 rows grouped by track (track_row order), rows without a track last
    track_start: np.ndarray | None = None  # (T + 1,) int64 where each track's rows start in track_rows (and the trackless)
    track_conf: np.ndarray | None = None  # (T,) float64 the largest conf or conf2 of the track's rows (a bound for ranking)
    track_quality: np.ndarray | None = None  # (T,) float64 the largest quality of the track's rows
    track_classes: np.ndarray | None = None  # (T,) uint64 bit k: a row's cls or cls2 is class code k (codes from 63: bit 63)

    _ARRAYS = ("id", "video", "t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "track", "track_row", "shares", "rides",
               "video_id", "video_start", "video_camera", "track_id", "track_n", "track_shares", "track_rows", "track_start",
               "track_conf", "track_quality", "track_classes")

    def __len__(self) -> int:
        return len(self.id)

    def share(self, part: str, colour: str, tracks: bool = False) -> np.ndarray:
        """Thousandths of `colour` in `part` of every detection (or of every track)."""
        row = PARTS.index(part) * len(self.palette) + self.palette.index(colour)
        return (self.track_shares if tracks else self.shares)[row]

    def rows_of(self, ids) -> np.ndarray:
        """Row of each detection id; -1 for ids the columns do not hold."""
        ids = np.asarray(ids, np.int64)
        rows = np.searchsorted(self.id, ids)
        rows = np.minimum(rows, max(len(self.id) - 1, 0))
        found = (self.id[rows] == ids) if len(self.id) else np.zeros(len(ids), bool)
        return np.where(found, rows, -1)

    def rows_of_tracks(self, tracks: np.ndarray) -> np.ndarray:
        """Rows of the tracks at these track rows, track by track (each track's rows ascending)."""
        tracks = np.asarray(tracks, np.int64)
        starts, ends = self.track_start[tracks], self.track_start[tracks + 1]
        lengths = ends - starts
        if not len(lengths):
            return np.zeros(0, np.int64)
        first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return self.track_rows[first + np.arange(int(lengths.sum()))].astype(np.int64)

    def video_bounds(self) -> np.ndarray | None:
        """Where each video's rows start in the columns ((V + 1,), the last = N) when the rows are in video order
        (ids grow video by video, as one writer writes them); None when they are not. Computed once (cached)."""
        if "_video_bounds" not in self.__dict__:
            v = self.video
            ordered = len(v) < 2 or bool(np.all(v[1:] >= v[:-1]))
            self.__dict__["_video_bounds"] = np.searchsorted(v, np.arange(len(self.video_id) + 1)) if ordered else None
        return self.__dict__["_video_bounds"]

    def video_times(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(smallest, largest) t of each video's rows (inf, -inf for a video without rows); None when the rows
        are not in video order. Computed once (cached)."""
        bounds = self.video_bounds()
        if bounds is None:
            return None
        if "_video_times" not in self.__dict__:
            lo = np.full(len(self.video_id), np.inf)
            hi = np.full(len(self.video_id), -np.inf)
            has = bounds[:-1] < bounds[1:]
            if has.any():
                lo[has] = np.minimum.reduceat(self.t, bounds[:-1][has])
                hi[has] = np.maximum.reduceat(self.t, bounds[:-1][has])
            self.__dict__["_video_times"] = (lo, hi)
        return self.__dict__["_video_times"]

    def rows_of_videos(self, videos: np.ndarray) -> np.ndarray | None:
        """Rows (ascending) of the videos at these positions (ascending); None when the rows are not in video order."""
        bounds = self.video_bounds()
        if bounds is None:
            return None
        videos = np.asarray(videos, np.int64)
        starts, lengths = bounds[videos], bounds[videos + 1] - bounds[videos]
        if not len(lengths):
            return np.zeros(0, np.int64)
        return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))

    def trackless_rows(self) -> np.ndarray:
        """Rows of detections without a track."""
        return self.track_rows[int(self.track_start[-1]):].astype(np.int64)

    def class_codes(self, names) -> list[int]:
        return [k for k, c in enumerate(self.classes) if c in set(names)]


def empty(palette: tuple[str, ...] = PALETTE) -> Columns:
    p = len(PARTS) * len(palette)
    return Columns(tuple(palette), [], [], np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int64),
                   np.zeros((0, 4), np.float32), np.zeros(0, np.uint8), np.zeros(0),
                   np.zeros(0, np.uint8), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros((p, 0), np.uint16),
                   np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32),
                   np.zeros((p, 0), np.uint16), rides=np.zeros(0, np.uint8), track_rows=np.zeros(0, np.int32),
                   track_start=np.zeros(1, np.int64), track_conf=np.zeros(0), track_quality=np.zeros(0),
                   track_classes=np.zeros(0, np.uint64))


# -- file --------------------------------------------------------------------------------
def save(columns: Columns, path: Path) -> None:
    """Write atomically (temp file + rename), owner-only; readers keep their old mapping."""
    arrays = {name: np.ascontiguousarray(getattr(columns, name)) for name in Columns._ARRAYS}
    layout, offset = {}, 0
    for name, a in arrays.items():
        layout[name] = [a.dtype.str, list(a.shape), offset]
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"palette": list(columns.palette), "classes": columns.classes, "cameras": columns.cameras,
                         "ridden": list(columns.ridden), "riding_version": columns.riding_version,
                         "arrays": layout, "size": offset, "crc32": {name: zlib.crc32(a) for name, a in arrays.items()}}).encode()
    start = -(-(len(MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + len(header).to_bytes(8, "little") + header)
            f.write(b"\0" * (start - f.tell()))
            for name, a in arrays.items():
                f.write(a.tobytes())
                f.write(b"\0" * (-a.nbytes % _ALIGN))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def load(path: Path) -> Columns | None:
    """The columns in `path`, memory-mapped read-only; None when missing or not a sound columns file (the
    checksum of every array, recorded when it was written, is checked: about 0.1 s per million detections)."""
    try:
        return _read(path)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        log.warning("%s is unreadable (%s); rebuilding it from the database", path, e)
        return None


def damage(path: Path) -> str | None:
    """What is wrong with the columns file (`forensic verify`); None when it is sound, missing or of an older
    layout (those are rebuilt from the database without loss)."""
    try:
        _read(path)
        return None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        return str(e) or type(e).__name__


def _read(path: Path) -> Columns | None:
    if not path.exists():
        return None
    buf = np.memmap(path, np.uint8, mode="r")
    magic = bytes(buf[:len(MAGIC)])
    if magic != MAGIC and magic[:-1] == MAGIC[:-1]:
        log.info("%s has an older layout (%s); rebuilding it from the database", path, magic.decode(errors="replace"))
        return None
    if magic != MAGIC:
        raise ValueError("not a columns file")
    size = int.from_bytes(bytes(buf[8:16]), "little")
    header = json.loads(bytes(buf[16:16 + size]))
    start = -(-(16 + size) // _ALIGN) * _ALIGN
    if len(buf) != start + header["size"]:
        raise ValueError(f"size {len(buf)} is not {start + header['size']}")
    out = {}
    for name in Columns._ARRAYS:
        dtype, shape, offset = header["arrays"][name]
        count = int(np.prod(shape)) if shape else 1
        dt = np.dtype(dtype)
        out[name] = buf[start + offset:start + offset + count * dt.itemsize].view(dt).reshape(shape)
        if zlib.crc32(out[name]) != header["crc32"][name]:
            raise ValueError(f"column {name} is damaged (its checksum differs from the one written)")
    cols = Columns(tuple(header["palette"]), list(header["classes"]), list(header["cameras"]), **out,
                   ridden=tuple(header["ridden"]), riding_version=header["riding_version"])
    _check(cols)
    return cols


def _check(c: Columns) -> None:
    n, v, t, p = len(c.id), len(c.video_id), len(c.track_id), len(PARTS) * len(c.palette)
    for name in ("video", "t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "track", "track_row", "rides"):
        if len(getattr(c, name)) != n:
            raise ValueError(f"column {name} has {len(getattr(c, name))} rows, not {n}")
    if c.shares.shape != (p, n) or c.track_shares.shape != (p, t) or len(c.track_n) != t:
        raise ValueError("colour columns do not match")
    if len(c.track_rows) != n or len(c.track_start) != t + 1 or len(c.track_conf) != t or len(c.track_quality) != t or len(c.track_classes) != t or c.track_start[0] != 0 or c.track_start[-1] > n or \
            np.any(np.diff(c.track_start) < 0) or (n and (c.track_rows.min() < 0 or c.track_rows.max() >= n)):
        raise ValueError("track rows do not match")
    if len(c.video_start) != v or len(c.video_camera) != v:
        raise ValueError("video columns do not match")
    if n and (np.any(np.diff(c.id) <= 0) or c.video.min() < 0 or c.video.max() >= v or c.track_row.max() >= t):
        raise ValueError("rows are out of order or point outside the video/track columns")
    if v and np.any(np.diff(c.video_id) <= 0):
        raise ValueError("videos are out of order")


# -- keeping in line with SQLite ---------------------------------------------------------
def done_videos(db) -> np.ndarray:
    rows = db.execute("SELECT id FROM videos WHERE status='done' ORDER BY id").fetchall()
    return np.fromiter((r[0] for r in rows), np.int64, count=len(rows))


def is_current(columns: Columns | None, db, palette: tuple[str, ...] = PALETTE) -> bool:
    """Whether `columns` hold exactly the database's finished videos (cheap: video ids only)."""
    return (columns is not None and tuple(columns.palette) == tuple(palette) and columns.riding_version == riding_version()
            and np.array_equal(columns.video_id, done_videos(db)))


def riding_version() -> str:
    """Version of the riding rules (forensic.index.riding.RIDING_VERSION): `rides` is recomputed when it changes."""
    return str(RIDING_VERSION)


def _rides(video: np.ndarray, t: np.ndarray, cls: np.ndarray, classes: list[str], box: np.ndarray, track: np.ndarray) -> np.ndarray:
    """The vehicle each person detection rides, judged per track (forensic.index.riding): 0 none, k + 1 = RIDDEN[k].
    Computed a few videos at a time (pairs are only looked for within a video)."""
    out = np.zeros(len(video), np.uint8)
    names = np.asarray(classes + [""], dtype="<U16")[np.minimum(cls, len(classes))] if len(classes) else np.full(len(video), "", "<U16")
    rows = np.flatnonzero(np.isin(names, ("person",) + tuple(RIDDEN)))
    rows = rows[np.argsort(video[rows], kind="stable")]
    starts = np.flatnonzero(np.r_[True, video[rows][1:] != video[rows][:-1]])
    for a, b in _groups(starts, len(rows), _RIDING_ROWS):
        g = rows[a:b]
        r = over_tracks(track[g], riding(video[g], t[g], names[g], box[g]))
        r[names[g] != "person"] = ""
        for k, vehicle in enumerate(RIDDEN):
            out[g[r == vehicle]] = k + 1
    return out


_RIDING_ROWS = 50_000


def _groups(starts: np.ndarray, n: int, size: int):
    """(start, end) runs of whole videos (`starts`: where each begins) of about `size` rows."""
    a = 0
    while a < n:
        k = np.searchsorted(starts, a + size, "right")
        b = int(starts[k]) if k < len(starts) and starts[k] > a else n
        yield a, b
        a = b


def refresh(columns: Columns | None, db, palette: tuple[str, ...] = PALETTE) -> tuple[Columns, int]:
    """`columns` brought in line with the database's finished videos: (columns, rows added or dropped).
    Returns the same object (and 0) when nothing changed."""
    if columns is not None and tuple(columns.palette) != tuple(palette):
        log.info("the colour palette changed: rebuilding the search columns")
        columns = None
    if is_current(columns, db, palette):
        return columns, 0
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")  # one snapshot: videos and their rows
    try:
        meta = db.execute("SELECT id, start_epoch, camera FROM videos WHERE status='done' ORDER BY id").fetchall()
        video_id = np.array([r[0] for r in meta], np.int64)
        old = columns if columns is not None else empty(palette)
        old_videos = old.video_id[old.video] if len(old) else np.zeros(0, np.int64)
        keep = _member(old_videos, video_id)
        fresh = _read_rows(db, video_id[~_member(video_id, old.video_id)], palette, list(old.classes))
    finally:
        if own:
            db.execute("COMMIT")
    cameras: list[str] = []
    video_start = np.array([np.nan if r[1] is None else r[1] for r in meta], np.float64)
    video_camera = np.array([_code(cameras, r[2]) for r in meta], np.int32)
    kept_tracks = np.zeros(len(old.track_id), bool)
    kept_tracks[old.track_row[keep][old.track_row[keep] >= 0]] = True

    ids = np.concatenate([old.id[keep], fresh["id"]])
    row_video = np.concatenate([old_videos[keep], fresh["video"]])
    track = np.concatenate([old.track[keep], fresh["track"]])
    cols = {"t": np.concatenate([old.t[keep], fresh["t"]]), "frame": np.concatenate([old.frame[keep], fresh["frame"]]),
            "box": np.concatenate([old.box[keep], fresh["box"]]), "cls": np.concatenate([old.cls[keep], fresh["cls"]]),
            "conf": np.concatenate([old.conf[keep], fresh["conf"]]), "cls2": np.concatenate([old.cls2[keep], fresh["cls2"]]),
            "conf2": np.concatenate([old.conf2[keep], fresh["conf2"]]), "quality": np.concatenate([old.quality[keep], fresh["quality"]]),
            "shares": np.concatenate([old.shares[:, keep], fresh["shares"]], axis=1)}
    order = None
    if len(ids) and np.any(np.diff(ids) <= 0):
        order = np.argsort(ids, kind="stable")
        ids, row_video, track = ids[order], row_video[order], track[order]
        cols = {k: (v[:, order] if k == "shares" else v[order]) for k, v in cols.items()}
    track_id = np.concatenate([old.track_id[kept_tracks], fresh["track_id"]])
    t_order = np.argsort(track_id, kind="stable")
    track_id = track_id[t_order]
    track_n = np.concatenate([old.track_n[kept_tracks], fresh["track_n"]])[t_order]
    track_shares = np.concatenate([old.track_shares[:, kept_tracks], fresh["track_shares"]], axis=1)[:, t_order]
    track_row = _rows(track_id, track)
    track = np.where(track_row >= 0, track, 0)
    track_rows, track_start = _by_track(track_row, len(track_id))
    track_conf = _per_track(np.maximum, np.maximum(cols["conf"], cols["conf2"]), track_rows, track_start)
    track_quality = _per_track(np.maximum, cols["quality"], track_rows, track_start)
    track_classes = _per_track(np.bitwise_or, class_bits(cols["cls"]) | class_bits(cols["cls2"]), track_rows, track_start,
                               np.uint64)
    version = riding_version()
    if old.riding_version == version and old.rides is not None:  # only the new videos' riders are to be found
        rides = np.concatenate([old.rides[keep], np.zeros(len(fresh["id"]), np.uint8)])[order] if order is not None else \
            np.concatenate([old.rides[keep], np.zeros(len(fresh["id"]), np.uint8)])
        new = ~_member(row_video, old.video_id)
    else:
        rides, new = np.zeros(len(ids), np.uint8), np.ones(len(ids), bool)
    if new.any():
        rides[new] = _rides(row_video[new], cols["t"][new], cols["cls"][new], fresh["classes"], cols["box"][new], track[new])
    out = Columns(tuple(palette), fresh["classes"], cameras, id=ids, video=_rows(video_id, row_video), track=track,
                  track_row=track_row, video_id=video_id, video_start=video_start, video_camera=video_camera, track_id=track_id,
                  track_n=track_n, track_shares=track_shares, **cols, rides=rides, ridden=tuple(RIDDEN), riding_version=version,
                  track_rows=track_rows, track_start=track_start, track_conf=track_conf, track_quality=track_quality,
                  track_classes=track_classes)
    return out, int(len(old) - keep.sum()) + len(fresh["id"])


def _by_track(track_row: np.ndarray, tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows grouped by track, each track's start): a track's rows without a pass over every row."""
    key = np.where(track_row >= 0, track_row, tracks).astype(np.int64)
    order = np.argsort(key, kind="stable")
    start = np.searchsorted(key[order], np.arange(tracks + 1)).astype(np.int64)
    return order.astype(np.int32), start


def class_bits(codes) -> np.ndarray:
    """uint64 with bit k set for class code k (codes from 63 on share bit 63; NO_CLASS: no bit)."""
    codes = np.asarray(codes)
    bits = np.left_shift(np.uint64(1), np.minimum(codes, 63).astype(np.uint64))
    return np.where(codes == NO_CLASS, np.uint64(0), bits).astype(np.uint64)


def _per_track(reduce: np.ufunc, values: np.ndarray, track_rows: np.ndarray, track_start: np.ndarray,
               dtype=np.float64) -> np.ndarray:
    """`reduce` (np.maximum, np.bitwise_or) over each track's rows (0 for a track without rows)."""
    tracks = len(track_start) - 1
    out = np.zeros(tracks, dtype)
    if not tracks or track_start[-1] == 0:
        return out
    starts = track_start[:-1]
    has = starts < track_start[1:]
    out[has] = reduce.reduceat(values[track_rows[:track_start[-1]]], starts[has])
    return out


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    return _rows(sorted_set, values) >= 0


def _rows(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in `sorted_keys`, -1 when absent (int32)."""
    if len(sorted_keys) == 0 or len(values) == 0:
        return np.full(len(values), -1, np.int32)
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == values, pos, -1).astype(np.int32)


def _code(table: list[str], name: str) -> int:
    try:
        return table.index(name)
    except ValueError:
        table.append(name)
        return len(table) - 1


_BLOCK = 20_000


def _read_rows(db, videos: np.ndarray, palette: tuple[str, ...], classes: list[str]) -> dict:
    """Detection and track rows of these videos as arrays (read in blocks: memory stays small)."""
    index = {name: k for k, name in enumerate(palette)}
    p = len(palette)
    blocks: dict[str, list] = {k: [] for k in ("id", "video", "t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "track", "shares")}
    has_second = "cls2" in {r[1] for r in db.execute("PRAGMA table_info(detections)")}  # not in an old read-only index
    second = "cls2, conf2" if has_second else "NULL, NULL"
    tblocks: dict[str, list] = {k: [] for k in ("track_id", "track_n", "track_shares")}
    for start in range(0, len(videos), _CHUNK_VIDEOS):
        part = [int(v) for v in videos[start:start + _CHUNK_VIDEOS]]
        marks = ",".join("?" * len(part))
        cur = db.execute(f"SELECT id, video_id, t, cls, conf, quality, track, colors, frame, x1, y1, x2, y2, {second} "
                         f"FROM detections WHERE video_id IN ({marks})", part)
        while rows := cur.fetchmany(_BLOCK):
            cols = list(zip(*rows))
            blocks["id"].append(np.array(cols[0], np.int64))
            blocks["video"].append(np.array(cols[1], np.int64))
            blocks["t"].append(np.array(cols[2], np.float64))
            names, inverse = np.unique(np.array(cols[3], dtype=object).astype(str), return_inverse=True)
            blocks["cls"].append(np.array([_code(classes, str(c)) for c in names], np.uint8)[inverse.reshape(-1)])
            blocks["conf"].append(np.array(cols[4], np.float64))
            blocks["quality"].append(np.array(cols[5], np.float64))
            blocks["track"].append(np.array([x if x is not None and x > 0 else 0 for x in cols[6]], np.int64))
            blocks["shares"].append(_shares(cols[7], index, p))
            blocks["frame"].append(np.array(cols[8], np.int64))
            blocks["box"].append(np.array(cols[9:13], np.float32).T.reshape(-1, 4))
            names, inverse = np.unique(np.array([c or "" for c in cols[13]], dtype=object).astype(str), return_inverse=True)
            blocks["cls2"].append(np.array([_code(classes, str(c)) if c else NO_CLASS for c in names], np.uint8)[inverse.reshape(-1)])
            blocks["conf2"].append(np.array([c if c is not None else 0.0 for c in cols[14]], np.float64))
        cur = db.execute(f"SELECT id, n, colors FROM tracks WHERE video_id IN ({marks})", part)
        while rows := cur.fetchmany(_BLOCK):
            cols = list(zip(*rows))
            tblocks["track_id"].append(np.array(cols[0], np.int64))
            tblocks["track_n"].append(np.array(cols[1], np.int32))
            tblocks["track_shares"].append(_shares(cols[2], index, p))
    out = {k: _join(v, k, len(PARTS) * p) for k, v in (blocks | tblocks).items()}
    out["cls"] = out["cls"].astype(np.uint8)
    out["cls2"] = out["cls2"].astype(np.uint8)
    out["classes"] = classes
    return out


def _join(parts: list, key: str, share_rows: int) -> np.ndarray:
    if key.endswith("shares"):
        return np.concatenate(parts, axis=1) if parts else np.zeros((share_rows, 0), np.uint16)
    if key == "box":
        return np.concatenate(parts) if parts else np.zeros((0, 4), np.float32)
    dtype = {"id": np.int64, "video": np.int64, "frame": np.int64, "track": np.int64, "track_id": np.int64, "track_n": np.int32, "cls": np.uint8, "cls2": np.uint8}.get(key, np.float64)
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _shares(texts, index: dict, p: int) -> np.ndarray:
    """(len(PARTS) * P, n) thousandths from the JSON colour dicts {"whole": {...}, "upper": {...}, "lower": {...}}."""
    where, rows, values = [], [], []
    for n, text in enumerate(texts):
        colors = json.loads(text)
        for k, part in enumerate(PARTS):
            shares = colors.get(part)
            if shares:
                for name, value in shares.items():
                    c = index.get(name)
                    if c is not None:
                        where.append(k * p + c)
                        rows.append(n)
                        values.append(value)
    out = np.zeros((len(PARTS) * p, len(texts)), np.uint16)
    if where:
        out[where, rows] = np.clip(np.rint(np.array(values) * SHARE_SCALE), 0, 65535)
    return out
