"""The search columns: a memory-mapped copy, one array per field, of what ranking and filtering read
for every detection (class, time, confidence, quality, track, colour shares) and for every video
(camera, start time), so a text query or a camera/time filter is a few numpy operations over a
million rows instead of a SQL scan that parses JSON per row.

SQLite stays the source of truth. The file records which finished videos it holds; opening it
compares that list with the database's finished videos (a video's rows never change while it is
'done', and video ids are never reused). A reader, while a writer runs, drops the rows of removed
videos and reads those of new videos from SQLite, theirs only, in memory (`refresh`); the writer
appends the new videos' rows to the file in place, a few hundred thousand at a time (`sync`: memory
and disk writes follow what is new, not the size of the index); removed videos' rows are left out of a
copy written as it is read, a million rows at a time. A missing, unreadable or outdated file (another palette, other riding rules,
another layout: MAGIC names the layout) is rebuilt. Colour shares are stored in thousandths, as
`forensic.colors` rounds them, so ranking from the columns gives exactly the scores it gave from
the database.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensic.colors import PALETTE
from forensic.index.riding import RIDDEN, RIDING_VERSION, over_tracks, riding

log = logging.getLogger(__name__)

FILE_NAME = "search-columns.bin"
MAGIC = b"FRNSCOL6"  # the layout: 2 added cls2 / conf2 (the detector's second class), 3 the head colours, 4 checksums,
# 5 the rows of each track (track_rows, track_start) and their best confidence and quality, 6 room to append (two header
# slots), the rows without a track apart (trackless), the videos in the order of their rows
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
    video_id: np.ndarray  # (V,) int64 finished videos, in the order of their rows (the order they were finished in)
    video_start: np.ndarray  # (V,) float64 Unix seconds of the recording start, NaN when unknown
    video_camera: np.ndarray  # (V,) int32
    track_id: np.ndarray  # (T,) int64, ascending
    track_n: np.ndarray  # (T,) int32 detections in the track
    track_shares: np.ndarray  # (len(PARTS) * P, T) uint16: colours voted over the track
    rides: np.ndarray | None = None  # (N,) uint8 the vehicle a person rides: 0 none, k + 1 = ridden[k]
    ridden: tuple[str, ...] = ()
    riding_version: str = ""  # forensic.index.riding.RIDING_VERSION of the rules that computed `rides`
    track_rows: np.ndarray | None = None  # (K,) int32 the rows with a track, grouped by track (track_row order)
    track_start: np.ndarray | None = None  # (T + 1,) int64 where each track's rows start in track_rows (the last: K)
    track_conf: np.ndarray | None = None  # (T,) float64 the largest conf or conf2 of the track's rows (a bound for ranking)
    track_quality: np.ndarray | None = None  # (T,) float64 the largest quality of the track's rows
    track_classes: np.ndarray | None = None  # (T,) uint64 bit k: a row's cls or cls2 is class code k (codes from 63: bit 63)
    trackless: np.ndarray | None = None  # (N - K,) int32 the rows without a track, ascending

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
        return self.trackless.astype(np.int64)

    def done_videos(self) -> np.ndarray:
        """The ids of the videos held, ascending (computed once)."""
        if "_done_videos" not in self.__dict__:
            self.__dict__["_done_videos"] = np.sort(self.video_id)
        return self.__dict__["_done_videos"]

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
                   track_classes=np.zeros(0, np.uint64), trackless=np.zeros(0, np.int32))


# -- file ---------------------------------------------------------------------------------
# One file, every array with room to grow (the room is a hole of a sparse file: it takes no disk until
# written), so the writer appends the rows of newly finished videos where they belong instead of rewriting
# the file: a sync costs the new rows, not the index. Two header slots, the newer valid one counts: an
# append writes its rows into the room past what the header says (readers never look there), syncs, then
# writes the other slot. A writer killed half way leaves the older slot, and rows nobody reads.
#
# [0:8] MAGIC, [8:16] slot size, slot A at 64, slot B after it, the arrays from _DATA on. A slot:
# sequence (8 bytes), length (8), CRC-32 of the JSON (4), 4 spare, the JSON header: palette, classes,
# cameras, riding rules, the room of each group ("caps"), how much of it is used ("counts"), where each
# array starts, the file's size and the CRC-32 of the used part of each array (each plane of the shares).

# name: (dtype, group, width, planes); groups: n rows, k rows with a track (grouped by track), l rows without
# one, t tracks, s track starts (t + 1), v videos; planes: the colour shares, one plane per part and colour
_SPEC = {
    "id": ("<i8", "n", 1, 1), "video": ("<i4", "n", 1, 1), "t": ("<f8", "n", 1, 1), "frame": ("<i8", "n", 1, 1),
    "box": ("<f4", "n", 4, 1), "cls": ("|u1", "n", 1, 1), "conf": ("<f8", "n", 1, 1), "cls2": ("|u1", "n", 1, 1),
    "conf2": ("<f8", "n", 1, 1), "quality": ("<f8", "n", 1, 1), "track": ("<i8", "n", 1, 1), "track_row": ("<i4", "n", 1, 1),
    "rides": ("|u1", "n", 1, 1), "shares": ("<u2", "n", 1, 0), "track_rows": ("<i4", "k", 1, 1),
    "trackless": ("<i4", "l", 1, 1), "track_id": ("<i8", "t", 1, 1), "track_n": ("<i4", "t", 1, 1),
    "track_conf": ("<f8", "t", 1, 1), "track_quality": ("<f8", "t", 1, 1), "track_classes": ("<u8", "t", 1, 1),
    "track_shares": ("<u2", "t", 1, 0), "track_start": ("<i8", "s", 1, 1), "video_id": ("<i8", "v", 1, 1),
    "video_start": ("<f8", "v", 1, 1), "video_camera": ("<i4", "v", 1, 1),
}
_SLOT = 1 << 18  # bytes of one header slot
_DATA = -(-(64 + 2 * _SLOT) // 4096) * 4096
_GROW = 1.5  # a full file is copied into one this much roomier (amortised: each row is copied a few times at most)
_COPY = 1 << 25  # bytes copied at a time when growing


def _planes(name: str, palette) -> int:
    return _SPEC[name][3] or len(PARTS) * len(palette)


def _cap(caps: dict, group: str) -> int:
    return caps[{"k": "n", "l": "n", "s": "t"}.get(group, group)] + (group == "s")


def _count(counts: dict, group: str) -> int:
    return {"n": counts["n"], "k": counts["k"], "l": counts["n"] - counts["k"], "t": counts["t"], "s": counts["t"] + 1,
            "v": counts["v"]}[group]


def _layout(caps: dict, palette) -> tuple[dict, int]:
    offsets, at = {}, _DATA
    for name, (dtype, group, width, _) in _SPEC.items():
        offsets[name] = at
        at += -(-(_planes(name, palette) * _cap(caps, group) * width * np.dtype(dtype).itemsize) // _ALIGN) * _ALIGN
    return offsets, at


def _pwrite(fd: int, data, at: int) -> None:
    data = np.ascontiguousarray(data)
    if not data.size:
        return
    view = memoryview(data.reshape(-1)).cast("B")
    while len(view):
        done = os.pwrite(fd, view, at)
        view, at = view[done:], at + done


class _File:
    """A columns file open for writing: appends rows, grows, writes the header."""

    def __init__(self, path: Path, fd: int, header: dict):
        self.path, self.fd, self.header = path, fd, header

    @classmethod
    def create(cls, path: Path, caps: dict, palette, classes: list, cameras: list, ridden, riding: str) -> "_File":
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        offsets, size = _layout(caps, palette)
        os.ftruncate(fd, size)  # sparse: the room takes no disk
        _pwrite(fd, np.frombuffer(MAGIC + _SLOT.to_bytes(8, "little"), np.uint8), 0)
        header = {"palette": list(palette), "classes": list(classes), "cameras": list(cameras), "ridden": list(ridden),
                  "riding_version": riding, "caps": dict(caps), "counts": {"n": 0, "k": 0, "t": 0, "v": 0},
                  "offsets": offsets, "size": size, "seq": 0, "file": uuid.uuid4().hex, "last_id": -1, "last_track": -1,
                  "crc32": {name: [0] * _planes(name, palette) for name in _SPEC}}
        header["crc32"]["track_start"] = [zlib.crc32(np.zeros(1, np.int64))]  # the start of track 0 (a hole reads 0)
        return cls(path, fd, header)

    @classmethod
    def open(cls, path: Path) -> "_File":
        fd = os.open(path, os.O_RDWR)
        try:
            buf = np.memmap(path, np.uint8, mode="r")
            if bytes(buf[:len(MAGIC)]) != MAGIC:
                raise ValueError("not a columns file of this layout")
            header = _header(buf)
            del buf
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, header)

    def room(self, more: dict) -> bool:
        c, caps = self.header["counts"], self.header["caps"]
        return all(c[g] + more.get(g, 0) <= caps[g] for g in ("n", "t", "v"))

    def grown(self, more: dict) -> "_File":
        """A copy (a temporary file beside this one) with room for `more` and then some; this one is closed."""
        h, c = self.header, self.header["counts"]
        caps = {g: max(c[g] + more.get(g, 0), int(h["caps"][g] * _GROW) + 1024) for g in ("n", "t", "v")}
        tmp = self.path.with_name(self.path.name + ".tmp")
        new = _File.create(tmp, caps, h["palette"], h["classes"], h["cameras"], h["ridden"], h["riding_version"])
        try:
            src = np.memmap(self.path, np.uint8, mode="r")
            for name, (dtype, group, width, _) in _SPEC.items():
                row = width * np.dtype(dtype).itemsize
                used = _count(c, group) * row
                for p in range(_planes(name, h["palette"])):
                    a = h["offsets"][name] + p * _cap(h["caps"], group) * row
                    b = new.header["offsets"][name] + p * _cap(caps, group) * row
                    for x in range(0, used, _COPY):
                        _pwrite(new.fd, src[a + x:a + min(used, x + _COPY)], b + x)
            del src
            new.header.update(counts=dict(c), crc32={k: list(v) for k, v in h["crc32"].items()}, seq=h["seq"],
                              last_id=h["last_id"], last_track=h["last_track"])
        except BaseException:
            new.discard()
            self.close()
            raise
        self.close()
        return new

    def write(self, name: str, a) -> None:
        """Write items (shares: (planes, items)) past what array `name` holds; they count once `counted`."""
        h = self.header
        dtype, group, width, planes = _SPEC[name]
        dt = np.dtype(dtype)
        row, cap = width * dt.itemsize, _cap(h["caps"], group)
        used = self.__dict__.setdefault("used", {}).setdefault(name, _count(h["counts"], group))
        a = np.asarray(a, dt)
        if used + (a.shape[-1] if not planes else len(a)) > cap:
            raise ValueError(f"column {name}: no room for {a.shape[-1] if not planes else len(a)} more")
        for p, plane in enumerate(a if not planes else [a]):
            plane = np.ascontiguousarray(plane)
            _pwrite(self.fd, plane, h["offsets"][name] + (p * cap + used) * row)
            h["crc32"][name][p] = zlib.crc32(plane, h["crc32"][name][p])
        self.used[name] = used + (a.shape[-1] if not planes else len(a))
        for key, of in (("last_id", "id"), ("last_track", "track_id")):
            if name == of and len(a):
                h[key] = int(a[-1])

    def counted(self, more: dict, classes: list, cameras: list) -> None:
        """What was written counts: `more` rows (n), rows with a track (k), tracks (t) and videos (v)."""
        h = self.header
        for g, k in more.items():
            h["counts"][g] += k
        for name, used in self.__dict__.get("used", {}).items():
            if used != _count(h["counts"], _SPEC[name][1]):
                raise ValueError(f"column {name}: {used} written, {_count(h['counts'], _SPEC[name][1])} counted")
        h["classes"], h["cameras"] = list(classes), list(cameras)

    def append(self, parts: dict, more: dict, classes: list, cameras: list) -> None:
        """Write the new rows (`parts`: array name -> the new items; shares as (planes, items)) past the used
        part of each array; `more`: how many rows (n), tracked rows (k), tracks (t) and videos (v) they add."""
        for name, a in parts.items():
            self.write(name, a)
        self.counted(more, classes, cameras)

    def commit(self) -> None:
        """Make what was appended count: data to disk, then the other header slot."""
        os.fsync(self.fd)
        h = self.header
        h["seq"] += 1
        body = json.dumps(h).encode()
        if len(body) + 24 > _SLOT:
            raise _Rebuild("the columns header outgrew its slot")
        record = h["seq"].to_bytes(8, "little") + len(body).to_bytes(8, "little") + zlib.crc32(body).to_bytes(4, "little") + b"\0" * 4
        _pwrite(self.fd, np.frombuffer(record + body, np.uint8), 64 + (h["seq"] % 2) * _SLOT)
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _header(buf: np.ndarray) -> dict:
    """The newer sound header slot of a mapped columns file."""
    slot = int.from_bytes(bytes(buf[8:16]), "little")
    best = None
    for k in range(2):
        at = 64 + k * slot
        if len(buf) < at + 24:
            continue
        seq, size, crc = (int.from_bytes(bytes(buf[at + a:at + b]), "little") for a, b in ((0, 8), (8, 16), (16, 20)))
        if size == 0 or size > slot - 24 or len(buf) < at + 24 + size:
            continue
        body = bytes(buf[at + 24:at + 24 + size])
        if zlib.crc32(body) != crc:
            continue
        if best is None or seq > best["seq"]:
            best = json.loads(body)
            best["seq"] = seq
    if best is None:
        raise ValueError("no sound header")
    return best


def _parts(c: Columns) -> tuple[dict, dict]:
    """Every array of in-memory columns as the parts of an append to an empty file, and the counts."""
    parts = {name: getattr(c, name) for name in _SPEC if name != "track_start"}
    parts["track_start"] = np.asarray(c.track_start)[1:]
    return parts, {"n": len(c.id), "k": int(c.track_start[-1]), "t": len(c.track_id), "v": len(c.video_id)}


def save(columns: Columns, path: Path) -> None:
    """Write atomically (temp file + rename), owner-only; readers keep their old mapping."""
    parts, counts = _parts(columns)
    f = _File.create(path.with_name(path.name + ".tmp"), {g: counts[g] for g in ("n", "t", "v")}, columns.palette,
                     columns.classes, columns.cameras, columns.ridden, columns.riding_version)
    try:
        f.append(parts, counts, columns.classes, columns.cameras)
        f.commit()
    except BaseException:
        f.discard()
        raise
    f.close()
    os.replace(f.path, path)


def load(path: Path, verify: bool = True) -> Columns | None:
    """The columns in `path`, memory-mapped read-only; None when missing or not a sound columns file (the
    checksum of every array, recorded when it was written, is checked: about 0.1 s per million detections;
    `verify=False` only for the writer's own file just written)."""
    try:
        return _read(path, verify)
    except (OSError, ValueError, KeyError, TypeError, IndexError, json.JSONDecodeError) as e:
        log.warning("%s is unreadable (%s); rebuilding it from the database", path, e)
        return None


def damage(path: Path) -> str | None:
    """What is wrong with the columns file (`forensic verify`); None when it is sound, missing or of an older
    layout (those are rebuilt from the database without loss)."""
    try:
        _read(path)
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError, json.JSONDecodeError) as e:
        return str(e) or type(e).__name__


def _read(path: Path, verify: bool = True) -> Columns | None:
    if not path.exists():
        return None
    buf = np.memmap(path, np.uint8, mode="r")
    magic = bytes(buf[:len(MAGIC)])
    if magic != MAGIC and magic[:-1] == MAGIC[:-1]:
        log.info("%s has an older layout (%s); rebuilding it from the database", path, magic.decode(errors="replace"))
        return None
    if magic != MAGIC:
        raise ValueError("not a columns file")
    header = _header(buf)
    if len(buf) != header["size"]:
        raise ValueError(f"size {len(buf)} is not {header['size']}")
    palette, caps, counts = tuple(header["palette"]), header["caps"], header["counts"]
    if _layout(caps, palette) != (header["offsets"], header["size"]):
        raise ValueError("the header's layout does not add up")
    out = {}
    for name, (dtype, group, width, planes) in _SPEC.items():
        dt, cap, used, p = np.dtype(dtype), _cap(caps, group), _count(counts, group), _planes(name, palette)
        if not 0 <= used <= cap:
            raise ValueError(f"column {name} holds {used} of room for {cap}")
        at = header["offsets"][name]
        whole = buf[at:at + p * cap * width * dt.itemsize].view(dt).reshape((p, cap, width))[:, :used]
        a = whole[:, :, 0] if width == 1 else whole
        a = a if not planes else a[0]
        if verify:
            for k in range(p):
                if zlib.crc32(np.ascontiguousarray(whole[k])) != header["crc32"][name][k]:
                    raise ValueError(f"column {name} is damaged (its checksum differs from the one written)")
        out[name] = a
    cols = Columns(palette, list(header["classes"]), list(header["cameras"]), **out, ridden=tuple(header["ridden"]),
                   riding_version=header["riding_version"])
    if verify:
        _check(cols)
    cols.__dict__["_stamp"] = _stamp(header)  # which file and header this is: the writer's next sync appends to it unread
    return cols


def _check(c: Columns) -> None:
    n, v, t, p = len(c.id), len(c.video_id), len(c.track_id), len(PARTS) * len(c.palette)
    for name in ("video", "t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "track", "track_row", "rides"):
        if len(getattr(c, name)) != n:
            raise ValueError(f"column {name} has {len(getattr(c, name))} rows, not {n}")
    if c.shares.shape != (p, n) or c.track_shares.shape != (p, t) or len(c.track_n) != t:
        raise ValueError("colour columns do not match")
    k = int(c.track_start[-1]) if len(c.track_start) else -1
    if len(c.track_start) != t + 1 or len(c.track_rows) != k or len(c.trackless) != n - k or len(c.track_conf) != t or \
            len(c.track_quality) != t or len(c.track_classes) != t or c.track_start[0] != 0 or np.any(np.diff(c.track_start) < 0) or \
            (len(c.track_rows) and (c.track_rows.min() < 0 or c.track_rows.max() >= n)) or \
            (len(c.trackless) and (c.trackless.min() < 0 or c.trackless.max() >= n)):
        raise ValueError("track rows do not match")
    if len(c.video_start) != v or len(c.video_camera) != v:
        raise ValueError("video columns do not match")
    if n and (np.any(np.diff(c.id) <= 0) or c.video.min() < 0 or c.video.max() >= v or c.track_row.max() >= t):
        raise ValueError("rows are out of order or point outside the video/track columns")
    if v and len(np.unique(c.video_id)) != v:
        raise ValueError("a video is held twice")


# -- keeping in line with SQLite ---------------------------------------------------------
def done_videos(db) -> np.ndarray:
    rows = db.execute("SELECT id FROM videos WHERE status='done' ORDER BY id").fetchall()
    return np.fromiter((r[0] for r in rows), np.int64, count=len(rows))


def is_current(columns: Columns | None, db, palette: tuple[str, ...] = PALETTE) -> bool:
    """Whether `columns` hold exactly the database's finished videos (cheap: video ids only)."""
    return (columns is not None and tuple(columns.palette) == tuple(palette) and columns.riding_version == riding_version()
            and np.array_equal(columns.done_videos(), done_videos(db)))


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
        fresh = _read_rows(db, video_id[~_member(video_id, old.done_videos())], palette, list(old.classes))
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
    track_rows, track_start, trackless = _by_track(track_row, len(track_id))
    bounds = _track_bounds(cols, track_rows, track_start)
    version = riding_version()
    if old.riding_version == version and old.rides is not None:  # only the new videos' riders are to be found
        rides = np.concatenate([old.rides[keep], np.zeros(len(fresh["id"]), np.uint8)])[order] if order is not None else \
            np.concatenate([old.rides[keep], np.zeros(len(fresh["id"]), np.uint8)])
        new = ~_member(row_video, old.done_videos())
    else:
        rides, new = np.zeros(len(ids), np.uint8), np.ones(len(ids), bool)
    if new.any():
        rides[new] = _rides(row_video[new], cols["t"][new], cols["cls"][new], fresh["classes"], cols["box"][new], track[new])
    out = Columns(tuple(palette), fresh["classes"], cameras, id=ids, video=_rows(video_id, row_video), track=track,
                  track_row=track_row, video_id=video_id, video_start=video_start, video_camera=video_camera, track_id=track_id,
                  track_n=track_n, track_shares=track_shares, **cols, rides=rides, ridden=tuple(RIDDEN), riding_version=version,
                  track_rows=track_rows, track_start=track_start, **bounds,
                  trackless=trackless)
    return out, int(len(old) - keep.sum()) + len(fresh["id"])


def _by_track(track_row: np.ndarray, tracks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows with a track grouped by track, each track's start, rows without a track): a track's rows without a
    pass over every row."""
    key = np.where(track_row >= 0, track_row, tracks).astype(np.int64)
    order = np.argsort(key, kind="stable")
    start = np.searchsorted(key[order], np.arange(tracks + 1)).astype(np.int64)
    return order[:start[-1]].astype(np.int32), start, order[start[-1]:].astype(np.int32)


def class_bits(codes) -> np.ndarray:
    """uint64 with bit k set for class code k (codes from 63 on share bit 63; NO_CLASS: no bit)."""
    codes = np.asarray(codes)
    bits = np.left_shift(np.uint64(1), np.minimum(codes, 63).astype(np.uint64))
    return np.where(codes == NO_CLASS, np.uint64(0), bits).astype(np.uint64)


def _track_bounds(rows: dict, track_rows: np.ndarray, track_start: np.ndarray) -> dict:
    """track_conf, track_quality and track_classes of each track from its rows (`rows`: conf, conf2, quality,
    cls, cls2 by row)."""
    return {"track_conf": _per_track(np.maximum, np.maximum(rows["conf"], rows["conf2"]), track_rows, track_start),
            "track_quality": _per_track(np.maximum, rows["quality"], track_rows, track_start),
            "track_classes": _per_track(np.bitwise_or, class_bits(rows["cls"]) | class_bits(rows["cls2"]), track_rows,
                                        track_start, np.uint64)}


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


# -- the writer: appending ---------------------------------------------------------------------
_BATCH_ROWS = 250_000  # rows read from SQLite and appended at a time: what the writer holds in memory


class _Rebuild(Exception):
    """The file cannot take this append: it is rebuilt instead (its camera and class tables from what is held)."""


class _NotInOrder(_Rebuild):
    """New rows or tracks whose ids do not come after those in the file (SQLite hands ids out in order, so only
    an index written in an unusual way has them): the file is rebuilt instead."""


def sync(path: Path, db, columns: Columns | None = None, palette: tuple[str, ...] = PALETTE) -> tuple[Columns, int]:
    """Bring the columns file in line with the database's finished videos (the writer only): the rows of new
    videos are appended, a few hundred thousand at a time, so memory and disk writes follow what is new, not the
    index's size; removed videos' rows are left out of a copy written a million rows at a time; another
    palette, other riding rules or a damaged file rebuild it from SQLite (the same way, in batches). `columns`: what the caller mapped from this file before (used when the file has not changed since).
    Returns (the file's columns, rows written)."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")  # one snapshot: videos and their rows
    try:
        return _sync(path, db, columns, tuple(palette))
    finally:
        if own:
            db.execute("COMMIT")


def _sync(path: Path, db, columns: Columns | None, palette: tuple[str, ...]) -> tuple[Columns, int]:
    meta = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, start_epoch, camera FROM videos WHERE status='done'")}
    done = np.array(sorted(meta), np.int64)
    f = None
    try:
        f = _File.open(path)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        pass
    if f is not None and (columns is None or columns.__dict__.get("_stamp") != _stamp(f.header)):
        columns = load(path)  # not what the caller mapped: read (and check) the file itself
    sound = f is not None and columns is not None and tuple(columns.palette) == palette and \
        columns.riding_version == riding_version()
    if sound and np.array_equal(columns.done_videos(), done):
        f.close()
        return columns, 0
    if sound:
        try:
            gone = ~_member(columns.video_id, done)
            new = done[~_member(done, columns.done_videos())]
            dropped, moved = 0, False
            if gone.any():  # removed videos: a copy without their rows (with room for the new ones), written as it is read
                dropped, moved = int(np.isin(columns.video, np.flatnonzero(gone)).sum()), True
                f = _compacted(f, columns, ~gone, _video_order(db, new)[1])
            added = _append_videos(f, path, db, new, meta, palette, moved)
            return _loaded(path), added + dropped
        except _Rebuild as e:
            log.warning("search columns: %s; rebuilding them", e)
    elif f is not None:
        f.close()
    written = _rebuild(path, db, done, meta, palette)
    return _loaded(path), written


def _stamp(header: dict) -> tuple:
    return header.get("file"), header["seq"]


def _loaded(path: Path) -> Columns:
    """The file just written by this writer, mapped without reading it through (its rows were checked as they
    were written), stamped so the next sync knows it."""
    return _read(path, verify=False)


def _append_videos(f: _File, path: Path, db, videos: np.ndarray, meta: dict, palette, moved: bool = False) -> int:
    """Append these videos' rows to `f` (the file itself, or a copy beside it when `moved`); returns the rows."""
    order, need = _video_order(db, videos)
    if not f.room(need):
        copy = f.path if moved else None
        f, moved = f.grown(need), True  # a roomier copy beside it, renamed over it once the rows are in
        if copy is not None:
            copy.unlink(missing_ok=True)  # a copy already (removed videos left out): the roomier one replaces it
    try:
        for batch in _batches(order):
            f.append(*_batch(f.header, db, batch, meta, palette))
        f.commit()
    except BaseException:
        f.discard() if moved else f.close()  # in place: the header still says what was there, the rows past it are unread
        raise
    f.close()
    if moved:
        os.replace(f.path, path)
    return need["n"]


_CHUNK_ROWS = 1 << 20  # rows copied at a time when removed videos' rows are left out


def _compacted(f: _File, cols: Columns, keep_video: np.ndarray, more: dict) -> _File:
    """A copy of the file (a temporary file beside it, with room for `more` and then some) without the rows,
    tracks and videos of the videos not kept (and the cameras only they had), written a million rows at a
    time; `f` is closed."""
    h = f.header
    n, t = len(cols), len(cols.track_id)
    row_kept = lambda rows: keep_video[cols.video[rows]]  # noqa: E731
    removed = np.flatnonzero(~keep_video[cols.video])  # the rows left out (few: the videos removed)
    new_row = lambda rows: rows - np.searchsorted(removed, rows)  # noqa: E731
    video_code = np.cumsum(keep_video) - 1
    track_video = np.full(t, -1, np.int64)
    has = cols.track_start[:-1] < cols.track_start[1:]
    track_video[has] = cols.video[cols.track_rows[cols.track_start[:-1][has]]]
    keep_track = (track_video >= 0) & keep_video[np.maximum(track_video, 0)]
    track_code = np.cumsum(keep_track) - 1
    counts = {"n": n - len(removed), "t": int(keep_track.sum()), "v": int(keep_video.sum())}
    caps = {g: int((counts[g] + more.get(g, 0)) * _GROW) + 1024 for g in ("n", "t", "v")}
    in_use = np.unique(cols.video_camera[keep_video])
    cameras = [cols.cameras[k] for k in in_use]
    camera_code = np.full(len(cols.cameras), -1, np.int64)
    camera_code[in_use] = np.arange(len(in_use))
    new = _File.create(f.path.with_name(f.path.name + ".tmp"), caps, cols.palette, cols.classes, cameras, cols.ridden,
                       cols.riding_version)
    f.close()
    try:
        for a in range(0, n, _CHUNK_ROWS):
            rows = np.arange(a, min(n, a + _CHUNK_ROWS))
            rows = rows[row_kept(rows)]
            for name in ("id", "t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "track", "rides"):
                new.write(name, getattr(cols, name)[rows])
            new.write("video", video_code[cols.video[rows]])
            tr = cols.track_row[rows]
            new.write("track_row", np.where(tr >= 0, track_code[np.maximum(tr, 0)], -1))
            new.write("shares", cols.shares[:, rows])
        for a in range(0, len(cols.trackless), _CHUNK_ROWS):
            rows = cols.trackless[a:a + _CHUNK_ROWS].astype(np.int64)
            new.write("trackless", new_row(rows[row_kept(rows)]))
        tracked = 0
        for a in range(0, t, _CHUNK_ROWS // 8):
            tracks = np.arange(a, min(t, a + _CHUNK_ROWS // 8))
            tracks = tracks[keep_track[tracks]]
            rows = cols.rows_of_tracks(tracks)
            new.write("track_rows", new_row(rows))
            new.write("track_start", tracked + np.cumsum(cols.track_start[tracks + 1] - cols.track_start[tracks]))
            tracked += len(rows)
            for name in ("track_id", "track_n", "track_conf", "track_quality", "track_classes"):
                new.write(name, getattr(cols, name)[tracks])
            new.write("track_shares", cols.track_shares[:, tracks])
        for name in ("video_id", "video_start"):
            new.write(name, getattr(cols, name)[keep_video])
        new.write("video_camera", camera_code[cols.video_camera[keep_video]])
        new.header["last_id"], new.header["last_track"] = h["last_id"], h["last_track"]  # ids are never handed out again
        new.counted(dict(counts, k=tracked), cols.classes, cameras)
    except BaseException:
        new.discard()
        raise
    return new


def _rebuild(path: Path, db, done: np.ndarray, meta: dict, palette) -> int:
    order, need = _video_order(db, done)
    room = {g: int(need[g] * _GROW) + 1024 for g in ("n", "t", "v")}  # to append to without a copy
    f = _File.create(path.with_name(path.name + ".tmp"), room, palette, [], [], RIDDEN, riding_version())
    try:
        for batch in _batches(order):
            f.append(*_batch(f.header, db, batch, meta, palette))
        f.commit()
    except _NotInOrder as e:
        f.discard()
        log.warning("search columns: %s; building them in memory", e)
        cols, _ = refresh(None, db, palette)
        save(cols, path)
        return len(cols)
    except BaseException:
        f.discard()
        raise
    f.close()
    os.replace(f.path, path)
    return need["n"]


def _video_order(db, videos: np.ndarray) -> tuple[list, dict]:
    """[(video id, rows)] in the order of their rows (by first detection id; videos without rows last) and what
    they add: rows (n), tracks (t), videos (v)."""
    first, rows, tracks = {}, {}, 0
    for start in range(0, len(videos), _CHUNK_VIDEOS):
        part = [int(v) for v in videos[start:start + _CHUNK_VIDEOS]]
        marks = ",".join("?" * len(part))
        for vid, lo, n in db.execute(f"SELECT video_id, MIN(id), COUNT(*) FROM detections WHERE video_id IN ({marks}) "
                                     "GROUP BY video_id", part):
            first[vid], rows[vid] = lo, n
        tracks += db.execute(f"SELECT COUNT(*) FROM tracks WHERE video_id IN ({marks})", part).fetchone()[0]
    order = sorted((int(v) for v in videos), key=lambda v: (v not in first, first.get(v, 0), v))
    return [(v, rows.get(v, 0)) for v in order], {"n": sum(rows.values()), "t": tracks, "v": len(order)}


def _batches(order: list):
    batch, rows = [], 0
    for vid, n in order:
        if batch and (rows + n > _BATCH_ROWS or len(batch) >= _CHUNK_VIDEOS):
            yield batch
            batch, rows = [], 0
        batch.append(vid)
        rows += n
    if batch:
        yield batch


def _batch(header: dict, db, videos: list, meta: dict, palette) -> tuple[dict, dict, list, list]:
    """The arrays of these videos' rows, tracks and videos as an append after what the file holds."""
    c = header["counts"]
    classes, cameras = list(header["classes"]), list(header["cameras"])
    fresh = _read_rows(db, np.array(videos, np.int64), palette, classes)
    ids = fresh["id"]
    if len(ids) and np.any(np.diff(ids) <= 0):
        order = np.argsort(ids, kind="stable")
        fresh = {k: (v[:, order] if k == "shares" else v[order]) if not k.startswith("track_") and k != "classes" else v
                 for k, v in fresh.items()}
        ids = fresh["id"]
    if len(ids) and ids[0] <= header["last_id"]:
        raise _NotInOrder(f"detection {ids[0]} comes before the last one held ({header['last_id']})")
    t_order = np.argsort(fresh["track_id"], kind="stable")
    track_id = fresh["track_id"][t_order]
    if len(track_id) and track_id[0] <= header["last_track"]:
        raise _NotInOrder(f"track {track_id[0]} comes before the last one held ({header['last_track']})")
    local = _rows(track_id, fresh["track"])
    track = np.where(local >= 0, fresh["track"], 0)
    track_rows, start, trackless = _by_track(local, len(track_id))
    row_video = fresh["video"]
    seen, at = np.unique(row_video, return_index=True)
    have = set(seen.tolist())
    in_order = [int(v) for v in seen[np.argsort(at)]] + [v for v in videos if v not in have]
    by_id = np.argsort(np.array(in_order, np.int64))
    video = c["v"] + by_id[_rows(np.array(in_order, np.int64)[by_id], row_video)]
    parts = {
        **{k: fresh[k] for k in ("t", "frame", "box", "cls", "conf", "cls2", "conf2", "quality", "shares")},
        "id": ids, "video": video, "track": track,
        "track_row": np.where(local >= 0, local + c["t"], -1),
        "rides": _rides(row_video, fresh["t"], fresh["cls"], classes, fresh["box"], track),
        "track_rows": track_rows.astype(np.int64) + c["n"], "trackless": trackless.astype(np.int64) + c["n"],
        "track_id": track_id, "track_n": fresh["track_n"][t_order], "track_shares": fresh["track_shares"][:, t_order],
        **_track_bounds(fresh, track_rows, start),
        "track_start": start[1:] + c["k"],
        "video_id": np.array(in_order, np.int64),
        "video_start": np.array([np.nan if meta[v][0] is None else meta[v][0] for v in in_order], np.float64),
        "video_camera": np.array([_code(cameras, meta[v][1]) for v in in_order], np.int32),
    }
    return parts, {"n": len(ids), "k": int(start[-1]), "t": len(track_id), "v": len(in_order)}, classes, cameras
