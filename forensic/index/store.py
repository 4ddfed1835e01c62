"""The index folder: SQLite (videos, detections, vectors), JPEG thumbnails, one FAISS file per embedder.

SQLite is the source of truth, vectors included. A FAISS file is a cache of the vectors of fully
indexed videos: on opening, it is checked against SQLite by id and brought back in line (ids
added or removed), so a crash between the two can never leave them disagreeing. A video is
written as 'indexing' and turned 'done' in one commit at its end; a video left 'indexing' by a
crash is removed (rows, vectors, thumbnails) and indexed again by the next run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from forensic.errors import ForensicError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DB_NAME = "index.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    camera TEXT NOT NULL,
    size INTEGER, mtime REAL,
    fps REAL, frames INTEGER, width INTEGER, height INTEGER, duration REAL,
    start_time TEXT, time_source TEXT,
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
    track INTEGER,
    colors TEXT NOT NULL,                  -- JSON: {"whole": {...}, "upper": {...}, "lower": {...}}
    thumb TEXT                             -- relative to the index folder
);
CREATE INDEX IF NOT EXISTS det_video ON detections(video_id);
CREATE INDEX IF NOT EXISTS det_cls ON detections(cls);
CREATE TABLE IF NOT EXISTS embedders(key TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vectors(
    det_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    vec BLOB NOT NULL,                     -- float32, unit length
    PRIMARY KEY(det_id, key)
) WITHOUT ROWID;
"""


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


class IndexStore:
    """Open an index folder for reading, or for writing with `writer=True` (one writer at a time)."""

    def __init__(self, root: Path, writer: bool = False):
        self.root = Path(root)
        self.writer = writer
        self._faiss: dict[str, object] = {}
        self._lock = None
        if writer:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
            self._acquire_lock()
        elif not (self.root / DB_NAME).exists():
            raise ForensicError(f"no index at {self.root}: run 'forensic index PATH' first (or pass --index)")
        db_path = self.root / DB_NAME
        new = not db_path.exists()
        if new:
            write_private(db_path, b"")
        try:
            self.db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_schema(new)
        except sqlite3.DatabaseError as e:
            raise ForensicError(f"{db_path} is not a forensic index database ({e})") from None
        for name in (DB_NAME + "-wal", DB_NAME + "-shm"):
            if (self.root / name).exists():
                os.chmod(self.root / name, 0o600)
        if writer:
            self._recover()

    # -- setup ---------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        fd = os.open(self.root / "write.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ForensicError(f"another 'forensic index' is writing to {self.root}; try again when it has finished") from None
        self._lock = fd

    def _check_schema(self, new: bool) -> None:
        if new:
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else None
        if version != SCHEMA_VERSION:
            raise ForensicError(f"index {self.root} has schema version {version}, this forensic reads version {SCHEMA_VERSION}")

    def _recover(self) -> None:
        """Remove what a crashed run left half-written, so the video is indexed again cleanly."""
        for row in self.db.execute("SELECT id, path FROM videos WHERE status='indexing'").fetchall():
            log.warning("removing unfinished video from an interrupted run: %s", row["path"])
            self.delete_video(row["id"])

    def close(self) -> None:
        if self.writer:
            self.save()
        self.db.close()
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
                "Use the same model, or a new --index folder")

    def embedder(self, key: str) -> tuple[str, int] | None:
        row = self.db.execute("SELECT model, dim FROM embedders WHERE key=?", (key,)).fetchone()
        return (row["model"], row["dim"]) if row else None

    # -- videos --------------------------------------------------------------------------
    def video_by_path(self, path: Path):
        return self.db.execute("SELECT * FROM videos WHERE path=?", (str(path),)).fetchone()

    def begin_video(self, path: Path, camera: str, info, sample_fps: float) -> int:
        """Replace any earlier rows of this path and start it as 'indexing'."""
        old = self.video_by_path(path)
        if old is not None:
            self.delete_video(old["id"])
        st = path.stat()
        cur = self.db.execute(
            "INSERT INTO videos(path, camera, size, mtime, fps, frames, width, height, duration, sample_fps, status) "
            "VALUES (?,?,?,?,?,?,?,?,?,?, 'indexing')",
            (str(path), camera, st.st_size, st.st_mtime, info.fps, info.frames, info.width, info.height, info.duration, sample_fps))
        return int(cur.lastrowid)

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
            track = None if detections.tracker_id is None or detections.tracker_id[k] < 0 else int(detections.tracker_id[k])
            cur = self.db.execute(
                "INSERT INTO detections(video_id, frame, t, x1, y1, x2, y2, cls, conf, quality, track, colors) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (video_id, frame, t, x1, y1, x2, y2, str(detections.class_name[k]), float(detections.confidence[k]),
                 float(quality[k]), track, json.dumps(colors[k], separators=(",", ":"))))
            det_id = int(cur.lastrowid)
            rel = f"thumbs/{video_id}/{det_id}.jpg"
            write_private(self.root / rel, thumbs[k])
            self.db.execute("UPDATE detections SET thumb=? WHERE id=?", (rel, det_id))
            for key, vecs in vectors.items():
                self.db.execute("INSERT INTO vectors VALUES (?,?,?)", (det_id, key, np.asarray(vecs[k], np.float32).tobytes()))
            ids.append(det_id)
        return ids

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def finish_video(self, video_id: int, error: str | None = None) -> None:
        """Mark the video searchable ('done'); its vectors join the FAISS indexes."""
        self.commit()
        self.db.execute("UPDATE videos SET status='done', error=?, indexed_at=? WHERE id=?",
                        (error, time.strftime("%Y-%m-%dT%H:%M:%S%z"), video_id))
        for key in list(self._faiss):
            self._add_to_faiss(key, video_id)

    def fail_video(self, video_id: int, error: str) -> None:
        """Drop a video's partial rows and keep a 'failed' record with the reason."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.execute("DELETE FROM detections WHERE video_id=?", (video_id,))
        shutil.rmtree(self.root / "thumbs" / str(video_id), ignore_errors=True)
        self.db.execute("UPDATE videos SET status='failed', error=?, indexed_at=? WHERE id=?",
                        (error, time.strftime("%Y-%m-%dT%H:%M:%S%z"), video_id))

    def delete_video(self, video_id: int) -> None:
        ids = [r[0] for r in self.db.execute("SELECT id FROM detections WHERE video_id=?", (video_id,))]
        self.db.execute("DELETE FROM videos WHERE id=?", (video_id,))  # cascades to detections and vectors
        for index in self._faiss.values():
            if ids:
                index.remove_ids(np.asarray(ids, dtype=np.int64))
        shutil.rmtree(self.root / "thumbs" / str(video_id), ignore_errors=True)

    def videos(self, status: str | None = "done") -> list[sqlite3.Row]:
        if status is None:
            return self.db.execute("SELECT * FROM videos ORDER BY path").fetchall()
        return self.db.execute("SELECT * FROM videos WHERE status=? ORDER BY path", (status,)).fetchall()

    # -- vectors -------------------------------------------------------------------------
    def _sql_ids(self, key: str) -> np.ndarray:
        rows = self.db.execute(
            "SELECT v.det_id FROM vectors v JOIN detections d ON d.id=v.det_id JOIN videos vi ON vi.id=d.video_id "
            "WHERE v.key=? AND vi.status='done'", (key,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _vectors_for(self, key: str, ids: np.ndarray) -> np.ndarray:
        dim = self.embedder(key)[1]
        out = np.zeros((len(ids), dim), np.float32)
        pos = {int(i): n for n, i in enumerate(ids)}
        for chunk in range(0, len(ids), 900):
            part = [int(i) for i in ids[chunk:chunk + 900]]
            for det_id, blob in self.db.execute(
                    f"SELECT det_id, vec FROM vectors WHERE key=? AND det_id IN ({','.join('?' * len(part))})", (key, *part)):
                out[pos[det_id]] = np.frombuffer(blob, np.float32)
        return out

    def _faiss_path(self, key: str) -> Path:
        return self.root / f"vectors-{key}.faiss"

    def vector_index(self, key: str):
        """The FAISS index of `key` vectors (ids = detection ids), in line with SQLite."""
        if key in self._faiss:
            return self._faiss[key]
        import faiss

        spec = self.embedder(key)
        if spec is None:
            return None
        path = self._faiss_path(key)
        index = None
        if path.exists():
            try:
                index = faiss.read_index(str(path))
                if index.d != spec[1]:
                    index = None
            except RuntimeError:
                log.warning("%s is unreadable; rebuilding it from the database", path)
        if index is None:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(spec[1]))
        have = faiss.vector_to_array(index.id_map).astype(np.int64) if index.ntotal else np.zeros(0, np.int64)
        want = self._sql_ids(key)
        extra = np.setdiff1d(have, want)
        missing = np.setdiff1d(want, have)
        if len(extra):
            index.remove_ids(extra)
        for chunk in range(0, len(missing), 50_000):
            part = missing[chunk:chunk + 50_000]
            index.add_with_ids(self._vectors_for(key, part), part)
        if len(extra) or len(missing):
            log.info("%s: %d vectors added, %d removed to match the database", key, len(missing), len(extra))
        self._faiss[key] = index
        return index

    def _add_to_faiss(self, key: str, video_id: int) -> None:
        ids = np.fromiter((r[0] for r in self.db.execute(
            "SELECT v.det_id FROM vectors v JOIN detections d ON d.id=v.det_id WHERE v.key=? AND d.video_id=?", (key, video_id))), np.int64)
        if len(ids):
            self._faiss[key].add_with_ids(self._vectors_for(key, ids), ids)

    def open_vectors(self) -> None:
        """Load every embedder's FAISS index (the writer keeps them current as videos finish)."""
        for row in self.db.execute("SELECT key FROM embedders").fetchall():
            self.vector_index(row["key"])

    def save(self) -> None:
        """Write the FAISS indexes (atomically, owner-only)."""
        import faiss

        for key, index in self._faiss.items():
            write_private(self._faiss_path(key), faiss.serialize_index(index).tobytes())

    def get_vectors(self, key: str, ids) -> np.ndarray:
        return self._vectors_for(key, np.asarray(ids, np.int64))

    # -- reading -------------------------------------------------------------------------
    def rows(self, ids) -> dict[int, sqlite3.Row]:
        """Detection rows with their video's path and camera, by id."""
        out = {}
        ids = [int(i) for i in ids]
        for chunk in range(0, len(ids), 900):
            part = ids[chunk:chunk + 900]
            for row in self.db.execute(
                    "SELECT d.*, v.path, v.camera, v.start_time FROM detections d JOIN videos v ON v.id=d.video_id "
                    f"WHERE d.id IN ({','.join('?' * len(part))})", part):
                out[row["id"]] = row
        return out
