"""The index folder: SQLite (videos, detections, vectors), JPEG thumbnails, and the search files.

SQLite is the source of truth, vectors included: an index of schema 2 keeps float16 vectors of each
track's best few views (VIEWS_PER_TRACK, spread over the track's time), an index of schema 1 (older)
a float32 vector per detection; both are read, searched and written in their own layout. The search
files are caches of the fully indexed ('done') videos: the search columns (forensic.index.columns: what ranking and filters read per
detection) and, per embedder, FAISS segment files (forensic.index.vectorstore). Each records which
done videos it holds; opening compares that with SQLite and masks, reads or folds in the difference,
so a crash between the database and the files can never leave them disagreeing. The writer folds
finished videos into the files every SYNC_EVERY detections and when it closes, one file at a time.
A video is written as 'indexing' and turned 'done' in one commit at its end; a video left
'indexing' by a crash is removed (rows, vectors, thumbnails) and indexed again by the next run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np

from forensic.detections import SECOND_CLASS, SECOND_CONFIDENCE
from forensic.errors import ForensicError, IntegrityError
from forensic.files import write_private
from forensic.index import columns as search_columns
from forensic.index import vectorstore
from forensic.index.vectorstore import Layout

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # what a new index gets: 2 = vectors of a track's views (float16, table views)
READ_VERSIONS = (1, 2)  # 1 = a float32 vector per detection (table vectors): read and written as it is
VIEWS_PER_TRACK = 3  # vectors kept per track (schema 2): the best view of each third of the track
DB_NAME = "index.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    camera TEXT NOT NULL,
    size INTEGER, mtime REAL,
    fingerprint TEXT,              -- size + hash of first and last MiB: finds moved or renamed files
    fps REAL, frames INTEGER, width INTEGER, height INTEGER, duration REAL,
    start_time TEXT, time_source TEXT,   -- wall-clock start (ISO, camera timezone) and where it came from
    start_epoch REAL,                      -- the same as Unix seconds, for time filters
    recorded_start TEXT, timezone TEXT, clock_offset REAL,  -- the start as recorded (before the offset: a file name's
                                           -- or the on-screen clock's local time, or an instant) and the camera's
                                           -- settings then: times are recomputed from them when read
    t_base TEXT,                           -- detections' t: 'pts' (presentation timestamps), or frame/fps
    clock TEXT,                            -- JSON: what the on-screen clock said (forensic.index.clock); NULL: none configured
    sample_fps REAL,
    status TEXT NOT NULL,          -- indexing | done | failed
    error TEXT,
    indexed_at TEXT
);
CREATE TABLE IF NOT EXISTS detections(
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: FAISS ids stay unique
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    t REAL NOT NULL,                       -- seconds from the start of the video
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,  -- source pixels
    cls TEXT NOT NULL,
    conf REAL NOT NULL,
    quality REAL NOT NULL,                 -- 0..1: size, sharpness, not cut off
    track INTEGER,                         -- tracks.id (while a video is being indexed: -(tracker id + 1))
    colors TEXT NOT NULL,                  -- JSON: {"whole": {...}, "upper": {...}, "lower": {...}}
    thumb TEXT,                            -- relative to the index folder
    cls2 TEXT, conf2 REAL                  -- the detector's second-best class and its score (NULL: unknown)
);
CREATE INDEX IF NOT EXISTS det_video ON detections(video_id);
CREATE INDEX IF NOT EXISTS det_cls ON detections(cls);
CREATE INDEX IF NOT EXISTS video_fp ON videos(fingerprint);
CREATE TABLE IF NOT EXISTS tracks(               -- one appearance of one object in one video
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    cls TEXT NOT NULL,                     -- majority class of its detections
    first_t REAL NOT NULL, last_t REAL NOT NULL,
    n INTEGER NOT NULL,                    -- detections in the track
    best_det INTEGER NOT NULL,             -- largest, sharpest, least cut-off detection: the track's thumbnail
    colors TEXT NOT NULL                   -- colour shares voted over its detections (quality-weighted)
);
CREATE INDEX IF NOT EXISTS track_video ON tracks(video_id);
CREATE TABLE IF NOT EXISTS embedders(key TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL);
"""
VECTORS_SCHEMA = {
    1: """CREATE TABLE IF NOT EXISTS vectors(
    det_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    vec BLOB NOT NULL,                     -- float32, unit length
    PRIMARY KEY(det_id, key)
) WITHOUT ROWID;""",
    # a rowid table: a WITHOUT ROWID row this long spills into an overflow page of its own (4 kB for ~1 kB)
    2: """CREATE TABLE IF NOT EXISTS views(
    det_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    vec BLOB NOT NULL,                     -- float16, unit length (as float32); every detection while its video is
                                           -- being indexed, its track's views once it is done
    PRIMARY KEY(det_id, key)
);""",
}

# Licence plates, one row per track that had a plate read (forensic.models.plates): its own table, so
# an index made before plates existed just gains it (created by the writer whenever it opens one).
PLATES_SCHEMA = """
CREATE TABLE IF NOT EXISTS plates(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    det_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,  -- the view the winning read came from
    track INTEGER,                         -- tracks.id (NULL while its video is being indexed)
    text TEXT NOT NULL,                    -- as read, lines joined by '/': 30F/621.51
    norm TEXT NOT NULL,                    -- normalised: 30F62151 (what queries match)
    display TEXT NOT NULL,                 -- written form: 30F-621.51
    conf REAL NOT NULL,                    -- 0..1, voted over the track's reads
    reads INTEGER NOT NULL,                -- plate reads of the track
    crop TEXT                              -- plate crop (JPEG), relative to the index folder
);
CREATE INDEX IF NOT EXISTS plate_track ON plates(track);
CREATE INDEX IF NOT EXISTS plate_video ON plates(video_id);
"""
# Columns added to a table after schema version 1 came out: an older index gains them in place when
# opened (ALTER TABLE, NULL in its existing rows: "unknown"), so it needs no re-indexing.
ADDED_COLUMNS = {"detections": (("cls2", "TEXT"), ("conf2", "REAL")),
                 # the recorded start and the camera's clock settings it was indexed with (times are made from them
                 # when read), the detections' time base; JSON: what the recorder's on-screen clock said
                 # (forensic.index.clock; NULL: no clock configured); the recording's full SHA-256 and the sampled
                 # one (forensic.files.sampled_sha256), hashed while it was indexed; NULL: indexed before
                 # fingerprints ("no fingerprint")
                 "videos": (("recorded_start", "TEXT"), ("timezone", "TEXT"), ("clock_offset", "REAL"), ("t_base", "TEXT"),
                            ("clock", "TEXT"), ("sha256", "TEXT"), ("sampled_sha256", "TEXT"))}


def writable(root: Path) -> bool:
    """Whether this process may write the index folder and its database (False on a read-only file system too)."""
    root = Path(root)
    return os.access(root, os.W_OK) and (not (root / DB_NAME).exists() or os.access(root / DB_NAME, os.W_OK))


def refuse_read_only(root: Path) -> None:
    """ForensicError (one line) when the index exists but cannot be written: it is never made writable."""
    if Path(root).exists() and not writable(root):
        raise ForensicError(f"index {root} is read-only: it can be searched (read-only mode) but not indexed into, pruned or "
                            "repaired; nothing was changed")


def record_audit_head(root: Path, seq: int, digest: str) -> bool:
    """Keep the audit log's length and last hash (forensic.evidence.audit) in the database as well, so a log cut
    short whose head file was rewritten to match still disagrees with the index. False when it could not be
    written (no index yet, a read-only or busy database): the log itself is then all there is."""
    path = Path(root) / DB_NAME
    if not path.is_file() or not writable(root):
        return False
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT value FROM meta WHERE key='audit_seq'").fetchone()
            if row is None or int(row[0]) < seq:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_seq', ?)", (str(seq),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_hash', ?)", (digest,))
            db.execute("COMMIT")
        finally:
            db.close()
        return True
    except (sqlite3.Error, ValueError) as e:
        log.warning("cannot record the audit log's head in %s (%s)", path, e)
        return False


def recorded_audit_head(root: Path) -> tuple[int, str] | None:
    """(seq, hash) of the last audit entry the database recorded; None when it recorded none (or is unreadable)."""
    path = Path(root) / DB_NAME
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
        try:
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('audit_seq', 'audit_hash')").fetchall())
        finally:
            db.close()
        return (int(rows["audit_seq"]), rows["audit_hash"]) if "audit_seq" in rows else None
    except (sqlite3.Error, ValueError, KeyError):
        return None


def database_damage(root: Path, error: BaseException) -> IntegrityError | None:
    """`damaged` for a database error met while reading (damage past the database's header); None for any other error."""
    return damaged(root, error) if isinstance(error, sqlite3.DatabaseError) else None


def damaged(root: Path, error: Exception) -> IntegrityError:
    """The one-line report of a damaged index database: what is wrong, what is still readable, how to salvage it."""
    path = Path(root) / DB_NAME
    readable = []
    try:
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5)
        try:
            for table in ("videos", "detections", "tracks", "views", "vectors"):
                try:
                    readable.append(f"{db.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]} {table}")
                except sqlite3.OperationalError as e:
                    if "no such table" not in str(e):  # views (schema 2) or vectors (schema 1): one of them
                        readable.append(f"no {table}")
                except sqlite3.Error:
                    readable.append(f"no {table}")
        finally:
            db.close()
    except sqlite3.Error:
        pass
    return IntegrityError(
        f"the index database {path} is damaged ({error}); still readable: {', '.join(readable) or 'nothing'}. The recordings, "
        f"thumbnails, audit log and exports are separate files and not affected. To salvage it: keep a copy, then "
        f"'sqlite3 {DB_NAME} .recover | sqlite3 recovered.sqlite', or index the footage again into a new --index folder")


def track_views(rows: list[tuple[int, float, float]], k: int = VIEWS_PER_TRACK) -> list[int]:
    """The detections of a track (rows: (id, quality, confidence) in time order) whose vectors are kept: the
    best (quality, then confidence) of each of `k` equal runs of the track, so its best view is one of them
    and the others come from other moments (another angle, another distance)."""
    out = []
    n = len(rows)
    for j in range(min(k, n)):
        part = rows[j * n // min(k, n):(j + 1) * n // min(k, n)]
        out.append(max(part, key=lambda r: (r[1], r[2]))[0])
    return out


def vote_colors(colors: list[dict], weights: list[float]) -> dict:
    """Weighted mean of colour shares, per part (whole / upper / lower)."""
    out: dict = {}
    total = sum(weights)
    for part in ("whole", "upper", "lower", "head"):
        acc: dict[str, float] = {}
        seen = False
        for c, w in zip(colors, weights):
            if c.get(part) is None:
                continue
            seen = True
            for name, share in c[part].items():
                acc[name] = acc.get(name, 0.0) + share * w / total
        if seen:
            out[part] = {k: round(v, 3) for k, v in acc.items() if v >= 0.02}
    return out


class IndexStore:
    """Open an index folder for reading, or for writing with `writer=True` (one writer at a time)."""

    SYNC_EVERY = 20_000  # detections: how often the writer folds finished videos into the search files

    def __init__(self, root: Path, writer: bool = False, wait: bool = False, layout: Layout | None = None,
                 schema: int = SCHEMA_VERSION):
        """`layout`: how FAISS files are split and when they turn from exact to IVF (tests pass small sizes).
        `schema`: the schema a new index is created with (tests make schema-1 indexes with it)."""
        self.root = Path(root)
        self.schema = schema
        self.source = vectorstore.SOURCES[schema]
        self.wait = wait
        self.writer = writer
        self.layout = layout or Layout()
        self._columns = None  # search columns, once loaded
        self._synced = None  # the search columns file as this store last wrote it (the next sync appends to it unread)
        self._removed = False  # a removed video waits to be folded into the search files
        self.verified_while_writing = False  # verify() found an index run writing (and did not count its work)
        self._sets: dict[str, vectorstore.VectorSet] = {}
        self._pending = 0  # detections finished or deleted since the search files were last written
        self._lock = None
        self.db = None
        self.read_only = False  # searched as it is: nothing written, no file's mode changed
        if writer:
            refuse_read_only(self.root)
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
            self._acquire_lock()
        elif not (self.root / DB_NAME).exists():
            raise ForensicError(f"no index at {self.root}: run 'forensic index PATH' first (or pass --index)")
        else:
            self.read_only = not writable(self.root)
        try:
            self._open_db()
        except BaseException:
            self._release()  # a refused index must not keep this process's write lock
            raise

    def _open_db(self) -> None:
        db_path = self.root / DB_NAME
        new = not db_path.exists()
        if new:
            write_private(db_path, b"")
        try:
            if self.read_only:  # no -wal/-shm can be made: read the file as it is (immutable when no write-ahead log is left)
                wal = self.root / (DB_NAME + "-wal")
                mode = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
                self.db = sqlite3.connect(f"file:{quote(str(db_path.resolve()))}?{mode}", uri=True, timeout=30, isolation_level=None)
                log.info("index %s is read-only: searching it in read-only mode", self.root)
            else:
                self.db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
                if new:  # 8 kB pages: a float16 vector row (1.5 kB) wastes a third of a 4 kB page, a twentieth of an 8 kB one
                    self.db.execute("PRAGMA page_size=8192")
            self.db.row_factory = sqlite3.Row
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_schema(new)
        except sqlite3.DatabaseError as e:
            if self.db is not None:
                self.db.close()
                self.db = None
            if self._readonly_error(e):
                raise ForensicError(f"{db_path} cannot be read ({e})") from None
            raise IntegrityError(f"{db_path} is not a forensic index database, or is damaged ({e}): " + str(damaged(self.root, e)).split("; ", 1)[1]) from None
        for name in (DB_NAME + "-wal", DB_NAME + "-shm"):
            if (self.root / name).exists() and not self.read_only:
                os.chmod(self.root / name, 0o600)
        if self.writer:
            self._recover()

    @staticmethod
    def _readonly_error(e: Exception) -> bool:
        """An error of permissions or of a read-only file system, not of damage."""
        return any(w in str(e) for w in ("readonly", "read-only", "unable to open"))

    # -- setup ---------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        fd = os.open(self.root / "write.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if self.wait:
                log.info("waiting for the other writer of %s to finish", self.root)
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise ForensicError(f"another 'forensic index' is writing to {self.root}; try again when it has finished") from None
        self._lock = fd

    def _check_schema(self, new: bool) -> None:
        if new:
            if self.schema not in READ_VERSIONS:
                raise ForensicError(f"no index schema {self.schema}")
            self.db.executescript(SCHEMA)
            self.db.executescript(VECTORS_SCHEMA[self.schema])
            self.db.executescript(PLATES_SCHEMA)
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(self.schema),))
            self._add_columns()
            return
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            version = int(row[0]) if row else None
        except ValueError:
            version = row[0]
        if version not in READ_VERSIONS:
            raise ForensicError(f"index {self.root} has schema version {version}, this forensic reads versions "
                                f"{', '.join(map(str, READ_VERSIONS))}")
        self.schema, self.source = version, vectorstore.SOURCES[version]
        if self.writer:
            self.db.executescript(PLATES_SCHEMA)  # an index from before plates gains the table
        self._add_columns()

    @property
    def has_plates(self) -> bool:
        """Whether this index has the plates table (a reader of an index made before plates may not)."""
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='plates'").fetchone() is not None

    def _add_columns(self) -> None:
        """Give an index made before ADDED_COLUMNS its new columns (in place, one short transaction)."""
        for table, wanted in ADDED_COLUMNS.items():
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            missing = [(name, kind) for name, kind in wanted if name not in have]
            if not missing:
                continue
            try:
                self.db.execute("BEGIN IMMEDIATE")
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}  # another process may have added them
                for name, kind in missing:
                    if name not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                self.db.execute("COMMIT")
                log.info("index %s: added %s to its %s table", self.root, ", ".join(n for n, _ in missing), table)
            except sqlite3.OperationalError as e:  # a read-only index: searched without them (read as NULL)
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if self.writer:
                    raise ForensicError(f"cannot upgrade index {self.root} ({e})") from None
                log.warning("index %s predates the %s columns and cannot be upgraded (%s): searching without them",
                            self.root, ", ".join(n for n, _ in missing), e)

    def _recover(self) -> None:
        """Remove what a crashed run left half-written, so the video is indexed again cleanly."""
        for row in self.db.execute("SELECT id, path FROM videos WHERE status='indexing'").fetchall():
            log.warning("removing unfinished video from an interrupted run: %s", row["path"])
            self.delete_video(row["id"])

    def close(self) -> None:
        try:
            if self.writer:
                self.sync_search_files()
        finally:
            self._release()

    def _release(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- embedders -----------------------------------------------------------------------
    def register_embedder(self, key: str, model: str, dim: int) -> None:
        """Record which model made the `key` vectors; refuse a different model in the same index."""
        row = self.db.execute("SELECT model, dim FROM embedders WHERE key=?", (key,)).fetchone()
        if row is None:
            self.db.execute("INSERT INTO embedders VALUES (?, ?, ?)", (key, model, dim))
        elif (row["model"], row["dim"]) != (model, dim):
            raise ForensicError(
                f"index {self.root} holds {key} vectors from {row['model']} ({row['dim']}-d); refusing to mix in {model} ({dim}-d). "
                "Index into a new --index folder: an index keeps the models it was built with")

    def embedder(self, key: str) -> tuple[str, int] | None:
        row = self.db.execute("SELECT model, dim FROM embedders WHERE key=?", (key,)).fetchone()
        return (row["model"], row["dim"]) if row else None

    # -- videos --------------------------------------------------------------------------
    def video_by_path(self, path: Path):
        return self.db.execute("SELECT * FROM videos WHERE path=?", (str(path),)).fetchone()

    def begin_video(self, path: Path, camera: str, info, sample_fps: float, fingerprint: str | None = None,
                    start_time: str | None = None, time_source: str | None = None, clock: dict | None = None,
                    recorded: tuple | None = None) -> int:
        """Replace any earlier rows of this path and start it as 'indexing'. `clock`: what the on-screen clock
        said; `recorded`: (recorded start, timezone, clock offset) as forensic.timestamps.wall_clock reads them."""
        old = self.video_by_path(path)
        if old is not None:
            self.delete_video(old["id"])
        st = path.stat()
        cur = self.db.execute(
            "INSERT INTO videos(path, camera, size, mtime, fingerprint, fps, frames, width, height, duration, sample_fps, "
            "start_time, time_source, start_epoch, clock, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'indexing')",
            (str(path), camera, st.st_size, st.st_mtime, fingerprint, info.fps, info.frames, info.width, info.height, info.duration,
             sample_fps, start_time, time_source, datetime.fromisoformat(start_time).timestamp() if start_time else None,
             json.dumps(clock, ensure_ascii=False) if clock else None))
        if recorded is not None:
            self.db.execute("UPDATE videos SET recorded_start=?, timezone=?, clock_offset=? WHERE id=?", (*recorded, cur.lastrowid))
        return int(cur.lastrowid)

    def set_time_base(self, video_id: int, t_base: str) -> None:
        """Where the video's detection times came from (the reader's time_base)."""
        self.db.execute("UPDATE videos SET t_base=? WHERE id=?", (t_base, video_id))

    def moved_from(self, path: Path, fingerprint: str):
        """A done video with this content whose recorded path no longer exists (the file was moved or renamed)."""
        for row in self.db.execute("SELECT * FROM videos WHERE fingerprint=? AND status='done' AND path<>?", (fingerprint, str(path))):
            if not Path(row["path"]).exists():
                return row
        return None

    def relocate(self, video_id: int, path: Path) -> None:
        st = path.stat()
        self.db.execute("UPDATE videos SET path=?, size=?, mtime=? WHERE id=?", (str(path), st.st_size, st.st_mtime, video_id))

    def set_content(self, video_id: int, sha256: str, sampled_sha256: str) -> None:
        """Record the recording's content fingerprint (forensic.files.ContentHash), hashed while it was indexed."""
        self.db.execute("UPDATE videos SET sha256=?, sampled_sha256=? WHERE id=?", (sha256, sampled_sha256, video_id))

    def add_detections(self, video_id: int, frame: int, t: float, detections, colors: list[dict], quality: np.ndarray,
                       thumbs: list[bytes], vectors: dict[str, np.ndarray]) -> list[int]:
        """Insert one frame's detections with their thumbnails and vectors (inside the video's transaction)."""
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        ids = []
        folder = self.root / "thumbs" / str(video_id)
        if thumbs:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for k in range(len(detections)):
            x1, y1, x2, y2 = (float(v) for v in detections.xyxy[k])
            track = None if detections.tracker_id is None or detections.tracker_id[k] < 0 else -int(detections.tracker_id[k]) - 1
            names2, scores2 = detections.data.get(SECOND_CLASS), detections.data.get(SECOND_CONFIDENCE)
            cls2 = None if names2 is None or not names2[k] else str(names2[k])
            conf2 = None if cls2 is None or scores2 is None else float(scores2[k])
            cur = self.db.execute(
                "INSERT INTO detections(video_id, frame, t, x1, y1, x2, y2, cls, conf, quality, track, colors, cls2, conf2) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (video_id, frame, t, x1, y1, x2, y2, str(detections.class_name[k]), float(detections.confidence[k]),
                 float(quality[k]), track, json.dumps(colors[k], separators=(",", ":")), cls2, conf2))
            det_id = int(cur.lastrowid)
            rel = f"thumbs/{video_id}/{det_id}.jpg"
            write_private(self.root / rel, thumbs[k])
            self.db.execute("UPDATE detections SET thumb=? WHERE id=?", (rel, det_id))
            for key, vecs in vectors.items():
                self.db.execute(f"INSERT INTO {self.source.table} VALUES (?,?,?)",
                                (det_id, key, np.asarray(vecs[k], np.float32).astype(self.source.dtype).tobytes()))
            ids.append(det_id)
        return ids

    def add_plates(self, video_id: int, plates: list[dict]) -> None:
        """Store the plates of a video's tracks (inside the video's transaction), each a dict with det_id
        (the view read), text, norm, display, conf, reads and jpeg (the plate crop); the track id is
        filled in when the video's tracks are built."""
        if not plates:
            return
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        folder = self.root / "plates" / str(video_id)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for p in plates:
            rel = None
            if p.get("jpeg"):
                rel = f"plates/{video_id}/{int(p['det_id'])}.jpg"
                write_private(self.root / rel, p["jpeg"])
            self.db.execute("INSERT INTO plates(video_id, det_id, text, norm, display, conf, reads, crop) VALUES (?,?,?,?,?,?,?,?)",
                            (video_id, int(p["det_id"]), p["text"], p["norm"], p["display"], float(p["conf"]), int(p["reads"]), rel))

    def plates(self) -> list[sqlite3.Row]:
        """(track, norm, text, conf) of every plate read in the done videos."""
        if not self.has_plates:
            return []
        return self.db.execute("SELECT p.track, p.norm, p.text, p.conf FROM plates p JOIN videos v ON v.id=p.video_id "
                               "WHERE v.status='done' AND p.track IS NOT NULL").fetchall()

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def finish_video(self, video_id: int, error: str | None = None, track_colors: dict[int, dict] | None = None) -> None:
        """Mark the video searchable ('done'); its vectors join the FAISS indexes. `track_colors`: colours
        of some tracks' best views (by tracker id: forensic.index.bestviews), half of their track's vote."""
        self.commit()
        self.db.execute("BEGIN")
        views = self._build_tracks(video_id, track_colors or {})
        if self.source is vectorstore.VIEWS:  # vectors of the tracks' views only: the others go, in the same commit
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS kept_views(det_id INTEGER PRIMARY KEY)")
            self.db.execute("DELETE FROM kept_views")
            self.db.executemany("INSERT INTO kept_views VALUES (?)", [(int(i),) for i in views])
            self.db.execute("DELETE FROM views WHERE det_id IN (SELECT id FROM detections WHERE video_id=?) "
                            "AND det_id NOT IN (SELECT det_id FROM kept_views)", (video_id,))
        self.db.execute("UPDATE plates SET track=(SELECT d.track FROM detections d WHERE d.id=plates.det_id) WHERE video_id=?", (video_id,))
        self.db.execute("UPDATE videos SET status='done', error=?, indexed_at=? WHERE id=?",
                        (error, time.strftime("%Y-%m-%dT%H:%M:%S%z"), video_id))
        self.db.execute("COMMIT")
        self._changed(self.db.execute("SELECT COUNT(*) FROM detections WHERE video_id=?", (video_id,)).fetchone()[0], finished=True)

    def _build_tracks(self, video_id: int, best_view_colors: dict[int, dict]) -> list[int]:
        """Turn the tracker's ids into track rows; untracked detections become one-detection tracks.
        Returns the tracks' views (`track_views`): the detections whose vectors are kept (schema 2)."""
        groups: dict = {}
        views: list[int] = []
        for row in self.db.execute("SELECT id, track, cls, conf, quality, colors, t FROM detections WHERE video_id=? ORDER BY t", (video_id,)):
            key = row["track"] if row["track"] is not None and row["track"] < 0 else ("single", row["id"])
            groups.setdefault(key, []).append(row)
        for rows in groups.values():
            votes: dict[str, float] = {}
            for r in rows:
                votes[r["cls"]] = votes.get(r["cls"], 0.0) + r["conf"]
            best = max(rows, key=lambda r: (r["quality"], r["conf"]))
            weights = [max(1e-3, r["quality"] * r["conf"]) for r in rows]
            votes_of = [json.loads(r["colors"]) for r in rows]
            key = rows[0]["track"]
            view = best_view_colors.get(-key - 1) if key is not None and key < 0 else None
            if view is not None:  # the pose-based view counts as much as all the box-based ones together
                votes_of.append(view)
                weights.append(sum(weights))
            colors = vote_colors(votes_of, weights)
            cur = self.db.execute(
                "INSERT INTO tracks(video_id, cls, first_t, last_t, n, best_det, colors) VALUES (?,?,?,?,?,?,?)",
                (video_id, max(votes, key=votes.get), rows[0]["t"], rows[-1]["t"], len(rows), best["id"], json.dumps(colors, separators=(",", ":"))))
            self.db.executemany("UPDATE detections SET track=? WHERE id=?", [(cur.lastrowid, r["id"]) for r in rows])
            views += track_views([(r["id"], r["quality"], r["conf"]) for r in rows])
        return views

    def fail_video(self, video_id: int, error: str) -> None:
        """Drop a video's partial rows and keep a 'failed' record with the reason."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.execute("DELETE FROM detections WHERE video_id=?", (video_id,))
        shutil.rmtree(self.root / "thumbs" / str(video_id), ignore_errors=True)
        shutil.rmtree(self.root / "plates" / str(video_id), ignore_errors=True)
        self.db.execute("UPDATE videos SET status='failed', error=?, indexed_at=? WHERE id=?",
                        (error, time.strftime("%Y-%m-%dT%H:%M:%S%z"), video_id))

    def delete_video(self, video_id: int) -> None:
        ids = [r[0] for r in self.db.execute("SELECT id FROM detections WHERE video_id=?", (video_id,))]
        self.db.execute("DELETE FROM videos WHERE id=?", (video_id,))  # cascades to detections and vectors
        self._changed(len(ids))
        shutil.rmtree(self.root / "thumbs" / str(video_id), ignore_errors=True)
        shutil.rmtree(self.root / "plates" / str(video_id), ignore_errors=True)

    def videos(self, status: str | None = "done") -> list[sqlite3.Row]:
        if status is None:
            return self.db.execute("SELECT * FROM videos ORDER BY path").fetchall()
        return self.db.execute("SELECT * FROM videos WHERE status=? ORDER BY path", (status,)).fetchall()

    # -- vectors -------------------------------------------------------------------------
    def _sql_ids(self, key: str) -> np.ndarray:
        rows = self.db.execute(
            f"SELECT v.det_id FROM {self.source.table} v JOIN detections d ON d.id=v.det_id JOIN videos vi ON vi.id=d.video_id "
            "WHERE v.key=? AND vi.status='done'", (key,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _vectors_for(self, key: str, ids: np.ndarray) -> np.ndarray:
        """float32 vectors of these detections; zeros for one without a vector (schema 2: not one of its track's views)."""
        return vectorstore.fetch_vectors(self.db, key, self.embedder(key)[1], ids, self.source)[1]

    # -- search files ----------------------------------------------------------------------
    def _changed(self, detections: int, finished: bool = False) -> None:
        """Finished or deleted videos: the search files lag behind; fold them in now and then. A finished
        video's rows are appended to the search columns at once (it costs those rows only), unless a removal
        waits to be folded in (that copies the columns without the removed rows: once, at the next sync): a search meanwhile finds the columns current instead of
        building them in memory. The FAISS files follow every SYNC_EVERY detections (a search reads the
        vectors of the videos they lack from SQLite: what it reads is bounded by that)."""
        self._columns = None
        self._sets.clear()
        self._pending += detections
        self._removed |= not finished
        if self._pending >= self.SYNC_EVERY:
            self.sync_search_files()
        elif finished and not self._removed:
            try:
                self._sync_columns()
            except Exception as e:  # noqa: BLE001 - the video is done in SQLite: the file lags, the next sync retries
                log.warning("search columns not brought up to date (%s); searches read the new rows from the database "
                            "until the next sync", e)

    def columns(self) -> search_columns.Columns:
        """The search columns of the done videos, in line with SQLite."""
        if self._columns is None:
            path = self.root / search_columns.FILE_NAME
            cols = self._synced if self.writer and self._synced is not None else search_columns.load(path)
            if not search_columns.is_current(cols, self.db) and self._sync_if_free():
                return self._columns
            self._columns, changed = search_columns.refresh(cols, self.db)
            if changed:
                log.info("search columns: %d rows read from the database (a writer is running)", changed)
        return self._columns

    def vector_index(self, key: str) -> vectorstore.VectorSet | None:
        """The searchable `key` vectors (ids = detection ids) of the done videos, in line with SQLite."""
        if key in self._sets:
            return self._sets[key]
        spec = self.embedder(key)
        if spec is None:
            return None
        cols = self.columns()
        if not vectorstore.is_current(self.root, key, spec[1], cols, self.source) and self._sync_if_free():
            cols = self.columns()
        self._sets[key], _ = vectorstore.open_set(self.root, key, spec[1], cols, self.db, self.layout, self.source)
        return self._sets[key]

    def sync_search_files(self) -> None:
        """Fold SQLite's changes into the search columns and FAISS files (needs the write lock)."""
        cols = self._sync_columns()
        for row in self.db.execute("SELECT key, dim FROM embedders").fetchall():
            if vectorstore.sync(self.root, row["key"], row["dim"], cols, self.db, self.layout, self.source):
                self._sets.pop(row["key"], None)
        self._pending = 0
        self._removed = False

    def _sync_columns(self) -> search_columns.Columns:
        """Fold SQLite's finished and removed videos into the search columns file (needs the write lock)."""
        cols, changed = search_columns.sync(self.root / search_columns.FILE_NAME, self.db, self._synced)
        if changed:
            log.info("search columns: %d rows written, %d in all", changed, len(cols))
        self._columns = self._synced = cols
        return cols

    def _sync_if_free(self) -> bool:
        """Write the search files in line with SQLite if this store may: it is the writer, or no writer is
        running (a search then takes the write lock for that time). False: use them as they are."""
        if self.writer:
            self.sync_search_files()
            return True
        try:
            fd = os.open(self.root / "write.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        try:
            log.info("bringing the search files of %s in line with the database", self.root)
            self.sync_search_files()
            return True
        except OSError as e:
            log.warning("cannot write the search files of %s (%s): using the database for what they lack", self.root, e)
            return False
        finally:
            os.close(fd)

    def get_vectors(self, key: str, ids) -> np.ndarray:
        return self._vectors_for(key, np.asarray(ids, np.int64))

    # -- reading -------------------------------------------------------------------------
    def rows(self, ids) -> dict[int, sqlite3.Row]:
        """Detection rows with their video's path and camera, by id."""
        out = {}
        ids = [int(i) for i in ids]
        plate_cols, plate_join = ("", "")
        if self.has_plates:  # the track's plate, when one was read
            plate_cols = ", pl.display AS plate_display, pl.text AS plate_text, pl.conf AS plate_conf, pl.crop AS plate_crop"
            plate_join = " LEFT JOIN plates pl ON pl.track=d.track AND d.track > 0"
        have = {r[1] for r in self.db.execute("PRAGMA table_info(videos)")}  # a read-only older index may lack the clock columns
        clock_cols = ", ".join(f"v.{c} AS {a}" if c in have else f"NULL AS {a}" for c, a in (
            ("recorded_start", "recorded_start"), ("timezone", "clock_timezone"), ("clock_offset", "clock_offset"), ("t_base", "t_base")))
        if "clock" in have:  # what the on-screen clock said at indexing (clock_of: whether a clock added since was read)
            clock_cols += ", v.clock AS osd_reading"
        for chunk in range(0, len(ids), 900):
            part = ids[chunk:chunk + 900]
            for row in self.db.execute(
                    f"SELECT d.*, v.path, v.camera, v.start_time, v.time_source, {clock_cols}, tr.first_t, tr.last_t, tr.n AS track_n, tr.best_det, "
                    f"tr.colors AS track_colors, bd.thumb AS track_thumb{plate_cols} FROM detections d JOIN videos v ON v.id=d.video_id "
                    f"LEFT JOIN tracks tr ON tr.id=d.track LEFT JOIN detections bd ON bd.id=tr.best_det{plate_join} "
                    f"WHERE d.id IN ({','.join('?' * len(part))})", part):
                out[row["id"]] = row
        return out

    def typical_frame_size(self) -> tuple[int, int] | None:
        """(width, height) of most done videos; ties go to the size with more hours of video, then to the
        larger frame, so the answer never depends on the database's row order. None: no video is done."""
        row = self.db.execute(
            "SELECT width, height, COUNT(*) n, SUM(COALESCE(duration, 0)) seconds FROM videos WHERE status='done' "
            "GROUP BY width, height ORDER BY n DESC, seconds DESC, width * height DESC, width DESC LIMIT 1").fetchone()
        return (int(row["width"]), int(row["height"])) if row else None

    def track_boxes(self, track_id: int) -> dict[int, tuple[float, float, float, float]]:
        """Frame number -> box (x1, y1, x2, y2, source pixels) of every detection of a track."""
        rows = self.db.execute("SELECT frame, x1, y1, x2, y2 FROM detections WHERE track=?", (int(track_id),)).fetchall()
        return {r["frame"]: (r["x1"], r["y1"], r["x2"], r["y2"]) for r in rows}

    # -- maintenance ---------------------------------------------------------------------
    def verify(self, repair: bool = False) -> list[tuple[str, bool]]:
        """Check rows vs vectors vs thumbnails vs FAISS; with `repair`, fix what needs no source video.

        Returns (problem, fixed) pairs; an empty list means the index is sound.
        """
        for attempt in range(3):  # the third look takes a writer that keeps changing the index as running
            running = not self.writer and (self.writer_running() or attempt == 2)  # what a running index writes is not damage
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            problems = self._verify(repair, running)
            # a writer that started, or committed, while this looked: look again (then it is seen as running,
            # or it has finished and the index is still)
            if self.writer or running or not (self.writer_running() or self.db.execute("PRAGMA data_version").fetchone()[0] != version):
                break
        self.verified_while_writing = running
        return problems

    def _verify(self, repair: bool, running: bool) -> list[tuple[str, bool]]:
        problems: list[tuple[str, bool]] = []
        check = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            problems.append((f"SQLite integrity check: {check}", False))
        for row in [] if running else self.db.execute("SELECT id, path FROM videos WHERE status='indexing'").fetchall():
            if repair:
                self.delete_video(row["id"])
            problems.append((f"unfinished video from an interrupted run: {row['path']}", repair))
        known = {}
        for det_id, thumb in self.db.execute("SELECT id, thumb FROM detections"):
            known[thumb] = det_id
        missing = [(det_id, t) for t, det_id in known.items() if t and not (self.root / t).is_file()]
        if missing and running:  # a video the run indexes again was removed meanwhile: its rows first, then its thumbnails
            missing = [(d, t) for d, t in missing if self.db.execute("SELECT 1 FROM detections WHERE id=?", (d,)).fetchone()]
        if missing:
            if repair:
                self.db.executemany("UPDATE detections SET thumb=NULL WHERE id=?", [(d,) for d, _ in missing])
            problems.append((f"{len(missing)} thumbnails missing (e.g. {missing[0][1]})", repair))
        orphans = [p for p in (self.root / "thumbs").glob("*/*") if str(p.relative_to(self.root)) not in known]
        if orphans and not running:  # a running index writes a thumbnail just before its row
            if repair:
                for p in orphans:
                    p.unlink(missing_ok=True)
            problems.append((f"{len(orphans)} thumbnail files belong to no detection", repair))
        problems += self._verify_columns(repair)
        table = self.source.table
        for key, model, dim in self.db.execute("SELECT key, model, dim FROM embedders").fetchall():
            size = self.source.blob(dim)
            bad = self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE key=? AND length(vec)<>?", (key, size)).fetchone()[0]
            if bad:
                if repair:
                    self.db.execute(f"DELETE FROM {table} WHERE key=? AND length(vec)<>?", (key, size))
                problems.append((f"{bad} {key} vectors have the wrong size", repair))
            if key == "appearance" and table == "vectors":
                lacking = self.db.execute(
                    "SELECT COUNT(*) FROM detections d WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.det_id=d.id AND v.key=?)",
                    (key,)).fetchone()[0]
                if lacking:
                    problems.append((f"{lacking} detections have no {key} vector (re-index their videos)", False))
            elif key == "appearance" and not running:  # schema 2: every track of a done video keeps a view
                lacking = self.db.execute(
                    "SELECT COUNT(*) FROM tracks t JOIN videos vi ON vi.id=t.video_id WHERE vi.status='done' AND t.id NOT IN "
                    "(SELECT d.track FROM views v JOIN detections d ON d.id=v.det_id WHERE v.key=?)", (key,)).fetchone()[0]
                if lacking:
                    problems.append((f"{lacking} tracks have no {key} vector (re-index their videos)", False))
            problems += self._verify_faiss(key, repair, lag_ok=running)
        return problems

    def writer_running(self) -> bool:
        """Whether another process holds this index's write lock (an index run, prune or repair is writing)."""
        try:
            fd = os.open(self.root / "write.lock", os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)

    def _verify_columns(self, repair: bool) -> list[tuple[str, bool]]:
        """The search columns file against the checksums written with it (damage would give wrong filter hits)."""
        path = self.root / search_columns.FILE_NAME
        damage = search_columns.damage(path)
        if damage is None:
            return []
        if repair:
            path.unlink(missing_ok=True)
            self._columns = None
            self.sync_search_files()
        return [(f"search columns {path.name}: {damage}", repair)]

    def _verify_faiss(self, key: str, repair: bool, lag_ok: bool = False) -> list[tuple[str, bool]]:
        """`lag_ok`: an index run is writing, so the files may lag behind the database (only damage counts)."""
        dim = self.embedder(key)[1]
        damaged = vectorstore.damaged_segments(self.root, key, dim)
        if damaged:
            if repair:
                vectorstore.manifest_path(self.root, key).unlink(missing_ok=True)
                self._sets.pop(key, None)
                self.sync_search_files()
            return [(f"{key} vector files: {', '.join(damaged)}", repair)]
        if lag_ok:
            return []
        want = self._sql_ids(key)
        stored = vectorstore.stored_ids(self.root, key, dim, self.source.fmt)
        if stored is None:
            missing = vectorstore.manifest_path(self.root, key).exists() or len(want)
            state = f"the {key} vector files are missing or damaged ({len(want)} vectors in the database)" if missing else None
        else:
            have = stored[0]
            extra, missing = len(np.setdiff1d(have, want)), len(np.setdiff1d(want, have))
            state = f"{key} vector files: {missing} vectors missing, {extra} stale" if extra or missing else None
        if state is None:
            return []
        if repair:
            if stored is None:
                vectorstore.manifest_path(self.root, key).unlink(missing_ok=True)
            self._sets.pop(key, None)
            self.sync_search_files()
        return [(state, repair)]

    PRUNE_BY = {  # what a video's age is judged by, as local ISO text comparable with a cutoff
        "indexed": "substr(indexed_at, 1, 19)",  # when forensic indexed it (this machine's clock)
        "recorded": "COALESCE(start_time, strftime('%Y-%m-%dT%H:%M:%S', mtime, 'unixepoch', 'localtime'))",  # the recorder's clock
    }

    def prune_candidates(self, before: str, camera: str | None = None, by: str = "indexed",
                         starts: dict[int, str] | None = None) -> list[sqlite3.Row]:
        """The videos `prune` would remove: indexed (or, with by="recorded", recorded) before `before` (local
        ISO date-time), with id, path, camera, status, start_time, indexed_at and their number of detections.
        A video still being indexed has no indexing time and is never a candidate by indexing time.
        `starts` (by="recorded"): each video's start as its hits show it (forensic.maintenance.recorded_starts,
        made with the cameras file now), in place of the start stored when it was indexed."""
        if by not in self.PRUNE_BY:
            raise ForensicError(f"prune by {by!r}: use one of {', '.join(self.PRUNE_BY)}")
        starts = starts if by == "recorded" and starts else {}
        sql = f"SELECT id, {self.PRUNE_BY[by]} AS age FROM videos" + (" WHERE camera=?" if camera else "")
        ages = ((r["id"], starts.get(r["id"]) or r["age"]) for r in self.db.execute(sql, (camera,) if camera else ()))
        ids = [i for i, age in ages if age is not None and age < before]
        rows = []
        for k in range(0, len(ids), 900):
            part = ids[k:k + 900]
            rows += self.db.execute("SELECT v.id, v.path, v.camera, v.status, v.start_time, v.indexed_at, (SELECT COUNT(*) FROM "
                                    f"detections d WHERE d.video_id=v.id) AS detections FROM videos v WHERE v.id IN "
                                    f"({','.join('?' * len(part))})", part).fetchall()
        return sorted(rows, key=lambda r: r["path"])

    def prune(self, before: str, camera: str | None = None, by: str = "indexed",
              starts: dict[int, str] | None = None) -> tuple[int, int]:
        """Remove the videos indexed (or with by="recorded", recorded) before `before` (ISO date-time, local
        time): see prune_candidates. Judged by indexing time unless asked, because a recorder's clock may be
        years off.

        Returns (videos, detections) removed; their vectors and thumbnails go too, and the space is reclaimed.
        """
        ids = [r["id"] for r in self.prune_candidates(before, camera, by, starts)]
        detections = 0
        self._pending = -(1 << 62)  # the search files are written once, after the last removal
        try:
            for video_id in ids:
                detections += self.db.execute("SELECT COUNT(*) FROM detections WHERE video_id=?", (video_id,)).fetchone()[0]
                self.delete_video(video_id)
        finally:
            self._pending = 0
        if ids:
            self.sync_search_files()
            self.db.execute("VACUUM")
        return len(ids), detections

    def stats(self, starts: dict[int, str] | None = None) -> dict:
        """Counts, sizes, cameras, time span and models. `starts`: each video's start as its hits show it
        (forensic.maintenance.recorded_starts) for the time span, in place of the start stored when indexed."""
        q = lambda sql, *a: self.db.execute(sql, a).fetchall()  # noqa: E731
        size = lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (p.stat().st_size if p.exists() else 0)  # noqa: E731
        starts = starts or {}
        began = [starts.get(r[0]) or r[1] for r in q(f"SELECT id, {self.PRUNE_BY['recorded']} FROM videos WHERE status='done'")]
        began = [b for b in began if b]
        span = (min(began), max(began)) if began else (None, None)
        return {
            "index": str(self.root.resolve()),
            "schema_version": self.schema,
            "videos": {r[0]: r[1] for r in q("SELECT status, COUNT(*) FROM videos GROUP BY status")},
            "video_seconds": round(q("SELECT COALESCE(SUM(duration), 0) FROM videos WHERE status='done'")[0][0], 1),
            "detections": q("SELECT COUNT(*) FROM detections")[0][0],
            "classes": {r[0]: r[1] for r in q("SELECT cls, COUNT(*) FROM detections GROUP BY cls ORDER BY 2 DESC")},
            "cameras": {r[0]: r[1] for r in q("SELECT camera, COUNT(*) FROM videos WHERE status='done' GROUP BY camera ORDER BY camera")},
            "time_span": [span[0], span[1]],
            "time_sources": {r[0]: r[1] for r in q("SELECT COALESCE(time_source, 'unknown'), COUNT(*) FROM videos WHERE status='done' "
                                                   "GROUP BY 1 ORDER BY 1")},
            "models": {r[0]: {"model": r[1], "dim": r[2]} for r in q("SELECT key, model, dim FROM embedders")},
            "bytes": {"database": size(self.root / DB_NAME) + size(self.root / (DB_NAME + "-wal")),
                      "vectors": sum(size(p) for p in self.root.glob("vectors-*.faiss")),
                      "thumbnails": size(self.root / "thumbs")},
        }
