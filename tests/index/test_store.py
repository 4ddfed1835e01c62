"""The index folder written alone (no model): synthetic detections, random vectors, real SQLite,
FAISS and thumbnail files. Crashes are real processes that exit without finishing."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from realdata import tiny_jpeg
from forensic.detections import Detections
from forensic.errors import ForensicError
from forensic.index import vectorstore
from forensic.index.store import DB_NAME, SCHEMA_VERSION, IndexStore
from forensic.video import VideoInfo

DIM = 8
MODEL = "appearance-test/v1"


def video_file(tmp_path: Path, rel: str = "cam1/a.mp4") -> Path:
    path = tmp_path / "footage" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(64))
    return path


def info(path: Path) -> VideoInfo:
    return VideoInfo(path, fps=25.0, frames=250, width=640, height=480)


def unit(rng, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def detections(rng, n: int) -> Detections:
    x1 = rng.uniform(0, 500, n)
    y1 = rng.uniform(0, 350, n)
    xyxy = np.stack([x1, y1, x1 + rng.uniform(10, 100, n), y1 + rng.uniform(10, 100, n)], axis=1).astype(np.float32)
    names = np.array(rng.choice(["person", "car", "motorcycle"], n), dtype="<U16")
    return Detections(xyxy, rng.uniform(0.3, 1, n).astype(np.float32), names)


def add_video(store: IndexStore, path: Path, rng, frames: int = 3, per_frame: int = 4, finish: bool = True):
    """Index a synthetic video; returns (video id, {det id: vector}, {det id: thumbnail bytes})."""
    vid = store.begin_video(path, path.parent.name, info(path), 2.0, "fp-" + path.name)
    vectors, thumbs = {}, {}
    for f in range(frames):
        d = detections(rng, per_frame)
        vecs = unit(rng, per_frame)
        jpgs = [tiny_jpeg(int(rng.integers(1 << 30))) for _ in range(per_frame)]
        colors = [{"whole": {"red": 0.7, "grey": 0.3}}] * per_frame
        ids = store.add_detections(vid, f * 12, f * 0.5, d, colors, np.full(per_frame, 0.5, np.float32), jpgs, {"appearance": vecs})
        store.commit()
        vectors.update(zip(ids, vecs))
        thumbs.update(zip(ids, jpgs))
    if finish:
        store.finish_video(vid)
    return vid, vectors, thumbs


def new_store(root: Path) -> IndexStore:
    store = IndexStore(root, writer=True)
    store.register_embedder("appearance", MODEL, DIM)
    store.sync_search_files()
    return store


def faiss_ids(index) -> set[int]:
    return set(index.ids().tolist())


def stored_ids(root: Path) -> set[int]:
    """Ids in the FAISS files as they are on disk (no repair)."""
    stored = vectorstore.stored_ids(root, "appearance", DIM)
    return set(stored[0].tolist()) if stored else set()


def sql_ids(root: Path, status: str = "done") -> set[int]:
    with sqlite3.connect(root / DB_NAME) as db:
        return {r[0] for r in db.execute(
            "SELECT d.id FROM detections d JOIN videos v ON v.id=d.video_id WHERE v.status=?", (status,))}


def test_write_finish_and_read_back(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "idx"
    path = video_file(tmp_path)
    with new_store(root) as store:
        vid, vectors, thumbs = add_video(store, path, rng)
        assert store.vector_index("appearance").ntotal == 12
    with IndexStore(root) as store:  # a reader, after the writer closed
        (row,) = store.videos("done")
        assert (row["id"], row["path"], row["camera"], row["status"]) == (vid, str(path), "cam1", "done")
        assert (row["fps"], row["frames"], row["width"], row["height"], row["duration"]) == (25.0, 250, 640, 480, 10.0)
        rows = store.rows(list(vectors))
        assert set(rows) == set(vectors)
        for det_id, jpg in thumbs.items():
            assert (root / rows[det_id]["thumb"]).read_bytes() == jpg
        ids = list(vectors)
        # kept as float16 (schema 2): what was given, rounded to float16
        np.testing.assert_array_equal(store.get_vectors("appearance", ids), np.stack([vectors[i] for i in ids]).astype(np.float16).astype(np.float32))
        index = store.vector_index("appearance")
        assert faiss_ids(index) == set(vectors)
        for det_id, vec in vectors.items():  # FAISS ids are detection ids
            found, sims = index.search(vec, 1)
            assert found[0] == det_id and sims[0] == pytest.approx(1.0, abs=1e-3)  # float16 vectors


def test_unfinished_video_is_not_searchable(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "idx"
    with new_store(root) as store:
        add_video(store, video_file(tmp_path, "cam1/done.mp4"), rng)
        _, pending, _ = add_video(store, video_file(tmp_path, "cam1/open.mp4"), rng, finish=False)
        assert not faiss_ids(store.vector_index("appearance")) & set(pending)
        assert {r["path"] for r in store.videos("done")} == {str(tmp_path / "footage/cam1/done.mp4")}


def test_failed_video_keeps_a_record_and_nothing_else(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "idx"
    with new_store(root) as store:
        vid, vectors, _ = add_video(store, video_file(tmp_path), rng, finish=False)
        store.fail_video(vid, "decoder gave up")
        (row,) = store.videos("failed")
        assert row["error"] == "decoder gave up"
        assert store.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0] == 0
        assert store.db.execute("SELECT COUNT(*) FROM views").fetchone()[0] == 0
        assert not (root / "thumbs" / str(vid)).exists()


def test_indexing_the_same_path_again_replaces_its_rows(tmp_path):
    rng = np.random.default_rng(4)
    root = tmp_path / "idx"
    path = video_file(tmp_path)
    with new_store(root) as store:
        old_vid, old, _ = add_video(store, path, rng)
        new_vid, new, _ = add_video(store, path, rng, frames=2)
        assert len(store.videos(None)) == 1
        assert not (root / "thumbs" / str(old_vid)).exists()
        assert faiss_ids(store.vector_index("appearance")) == set(new)
    assert sql_ids(root) == set(new) and not set(old) & set(new)


CRASH = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import numpy as np
    sys.path.insert(0, sys.argv[3])
    from test_store import add_video, new_store
    store = new_store(Path(sys.argv[1]))
    add_video(store, Path(sys.argv[2]), np.random.default_rng(99), finish=False)
    os._exit(0)  # dies mid-video: no finish, no FAISS save, no close
""")


def crash_while_indexing(root: Path, video: Path) -> None:
    subprocess.run([sys.executable, "-c", CRASH, str(root), str(video), str(Path(__file__).parent)], check=True,
                   cwd=Path(__file__).parents[1])


def test_crash_mid_video_is_cleaned_up_by_the_next_writer(tmp_path):
    rng = np.random.default_rng(5)
    root = tmp_path / "idx"
    with new_store(root) as store:
        _, kept, kept_thumbs = add_video(store, video_file(tmp_path, "cam1/kept.mp4"), rng)
    crash_while_indexing(root, video_file(tmp_path, "cam1/crashed.mp4"))
    assert len(sql_ids(root, "indexing")) == 12  # the crash left rows and thumbnails behind
    assert len(list((root / "thumbs").glob("*/*.jpg"))) == 24

    with IndexStore(root) as reader:  # a reader never sees the unfinished video
        assert faiss_ids(reader.vector_index("appearance")) == set(kept)
    with IndexStore(root, writer=True) as store:
        assert [r["path"] for r in store.videos(None)] == [str(tmp_path / "footage/cam1/kept.mp4")]
        assert store.db.execute("SELECT COUNT(*) FROM views").fetchone()[0] == 12
        assert faiss_ids(store.vector_index("appearance")) == set(kept)
    on_disk = {str(p.relative_to(root)) for p in (root / "thumbs").glob("*/*.jpg")}
    with IndexStore(root) as store:
        assert on_disk == {r["thumb"] for r in store.rows(list(kept)).values()}
        assert store.verify() == []


def test_crash_after_replacing_a_done_video_leaves_no_stale_vectors(tmp_path):
    """Re-indexing a changed file deletes its old rows; if the run dies before saving FAISS, the
    FAISS file on disk still holds the old ids. Opening the index must drop them."""
    rng = np.random.default_rng(6)
    root = tmp_path / "idx"
    changed = video_file(tmp_path, "cam1/changed.mp4")
    with new_store(root) as store:
        _, old, _ = add_video(store, changed, rng)
        _, other, _ = add_video(store, video_file(tmp_path, "cam1/other.mp4"), rng)
    crash_while_indexing(root, changed)
    assert set(old) <= stored_ids(root)  # stale ids really are in the files
    with IndexStore(root) as reader:
        assert faiss_ids(reader.vector_index("appearance")) == set(other) == sql_ids(root)
    with IndexStore(root, writer=True) as store:
        store.sync_search_files()
    assert stored_ids(root) == set(other)


def test_a_reader_during_a_run_sees_finished_videos_without_writing(tmp_path):
    """While a writer runs (it holds the lock), a search masks removed videos and reads new ones from
    SQLite; it writes nothing. When no writer runs, a search brings the files in line itself."""
    rng = np.random.default_rng(9)
    root = tmp_path / "idx"
    with new_store(root) as store:
        _, first, _ = add_video(store, video_file(tmp_path, "cam1/first.mp4"), rng)
        _, gone, _ = add_video(store, video_file(tmp_path, "cam1/gone.mp4"), rng)
    with new_store(root) as store:
        _, second, _ = add_video(store, video_file(tmp_path, "cam1/second.mp4"), rng)
        store.delete_video(store.video_by_path(tmp_path / "footage/cam1/gone.mp4")["id"])
        store.commit()
        files = {p.name: p.stat().st_mtime_ns for p in root.iterdir() if p.is_file() and p.name != "write.lock"}
        with IndexStore(root) as reader:
            index = reader.vector_index("appearance")
            assert faiss_ids(index) == set(first) | set(second) == set(reader.columns().id.tolist())
            vec = store.get_vectors("appearance", [next(iter(second))])[0]
            assert index.search(vec, 1)[0][0] == next(iter(second))
            assert set(index.search(vec, 100)[0].tolist()) == set(first) | set(second)  # nothing of the deleted video
        assert files == {p.name: p.stat().st_mtime_ns for p in root.iterdir() if p.is_file() and p.name in files}
        assert stored_ids(root) == set(first) | set(gone)  # the files still lag: the writer has not folded yet
    assert stored_ids(root) == set(first) | set(second)


@pytest.mark.parametrize("damage", ["delete-segment", "delete-manifest", "garbage-segment", "garbage-manifest", "other-dimension"])
def test_faiss_file_is_rebuilt_from_sqlite(tmp_path, damage):
    import faiss

    rng = np.random.default_rng(7)
    root = tmp_path / "idx"
    with new_store(root) as store:
        _, vectors, _ = add_video(store, video_file(tmp_path), rng)
    (segment,) = root.glob("vectors-appearance-*.faiss")
    manifest = root / "vectors-appearance.json"
    if damage == "delete-segment":
        segment.unlink()
    elif damage == "delete-manifest":
        manifest.unlink()
    elif damage == "garbage-segment":
        segment.write_bytes(b"\x00garbage" * 100)
    elif damage == "garbage-manifest":
        manifest.write_bytes(b"{\"format\": 1, \"dim\"")
    else:
        faiss.write_index(faiss.IndexIDMap(faiss.IndexFlatIP(DIM + 1)), str(segment))
    with IndexStore(root) as store:
        index = store.vector_index("appearance")
        assert faiss_ids(index) == set(vectors) and index.d == DIM
        det_id, vec = next(iter(vectors.items()))
        assert index.search(vec, 1)[0][0] == det_id
        assert store.verify() == []  # the search (no writer running) rewrote the files
    assert stored_ids(root) == set(vectors)


def test_refuses_to_mix_embedders(tmp_path):
    root = tmp_path / "idx"
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", MODEL, DIM)
        store.register_embedder("appearance", MODEL, DIM)  # the same model again is fine
        with pytest.raises(ForensicError, match="refusing to mix"):
            store.register_embedder("appearance", "appearance-test/v2", DIM)
        with pytest.raises(ForensicError, match="refusing to mix"):
            store.register_embedder("appearance", MODEL, DIM * 2)
        store.register_embedder("clip", "clip/other", 32)  # another key is another space
        assert store.embedder("appearance") == (MODEL, DIM) and store.embedder("clip") == ("clip/other", 32)
    with IndexStore(root, writer=True) as store:  # and the refusal survives a reopen
        with pytest.raises(ForensicError):
            store.register_embedder("appearance", "appearance-test/v2", DIM)


def test_one_writer_at_a_time(tmp_path):
    root = tmp_path / "idx"
    with IndexStore(root, writer=True):
        with pytest.raises(ForensicError, match="another 'forensic index' is writing"):
            IndexStore(root, writer=True)
        with IndexStore(root) as reader:  # readers are not blocked
            assert reader.videos() == []
    with IndexStore(root, writer=True):  # released on close
        pass


def test_files_are_private(tmp_path, umask_022):
    rng = np.random.default_rng(8)
    root = tmp_path / "idx"
    with new_store(root) as store:
        add_video(store, video_file(tmp_path), rng)
        wal = root / (DB_NAME + "-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = [root / DB_NAME, root / "search-columns.bin", root / "vectors-appearance.json", *root.glob("vectors-appearance-*.faiss"),
             *root.glob("thumbs/*/*.jpg")]
    assert len(files) == 16
    for f in files + [p for p in root.iterdir() if p.is_file()]:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f"{f} is readable by others: {oct(f.stat().st_mode)}"
    for d in root.glob("thumbs/*"):
        assert stat.S_IMODE(d.stat().st_mode) & 0o077 == 0, d


def test_an_existing_index_folder_is_made_private(tmp_path, umask_022):
    root = tmp_path / "idx"
    root.mkdir(mode=0o755)
    IndexStore(root, writer=True).close()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def set_schema(root: Path, version: str) -> None:
    with sqlite3.connect(root / DB_NAME) as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (version,))


@pytest.mark.parametrize("writer", [False, True])
def test_schema_version_mismatch(tmp_path, writer):
    root = tmp_path / "idx"
    IndexStore(root, writer=True).close()
    set_schema(root, str(SCHEMA_VERSION + 1))
    with pytest.raises(ForensicError, match=f"schema version {SCHEMA_VERSION + 1}"):
        IndexStore(root, writer=writer)


def test_not_an_index(tmp_path):
    with pytest.raises(ForensicError, match="no index at"):
        IndexStore(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()  # a reader creates nothing
    root = tmp_path / "idx"
    root.mkdir()
    (root / DB_NAME).write_bytes(b"this is not sqlite" * 200)
    with pytest.raises(ForensicError, match="not a forensic index database"):
        IndexStore(root)


def test_a_writer_that_fails_to_open_releases_the_lock(tmp_path):
    """A writer refused by the database check (schema, not a database) releases the write lock, so the
    same process can write once the index is fixed."""
    root = tmp_path / "idx"
    IndexStore(root, writer=True).close()
    set_schema(root, "99")
    with pytest.raises(ForensicError, match="schema version"):
        IndexStore(root, writer=True)
    set_schema(root, str(SCHEMA_VERSION))  # the user upgrades / restores the index
    IndexStore(root, writer=True).close()


def drop_second_class(root: Path) -> None:
    """Make the index look as one written before the detections table had cls2 / conf2."""
    with sqlite3.connect(root / DB_NAME) as db:
        db.execute("ALTER TABLE detections DROP COLUMN cls2")
        db.execute("ALTER TABLE detections DROP COLUMN conf2")


def second_class_columns(root: Path) -> list[str]:
    with sqlite3.connect(root / DB_NAME) as db:
        return [r[1] for r in db.execute("PRAGMA table_info(detections)") if r[1] in ("cls2", "conf2")]


@pytest.mark.parametrize("writer", [False, True])
def test_an_older_index_gains_the_second_class_columns_in_place(tmp_path, writer):
    from forensic.index import columns
    from forensic.query import parse_query
    from forensic.search.text import search_text

    rng = np.random.default_rng(11)
    root = tmp_path / "idx"
    with new_store(root) as store:
        add_video(store, video_file(tmp_path), rng)
        n = store.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0]
    drop_second_class(root)
    path = root / columns.FILE_NAME
    path.write_bytes(b"FRNSCOL1" + path.read_bytes()[8:])  # and its columns file is of the older layout
    assert second_class_columns(root) == []
    with IndexStore(root, writer=writer) as store:
        assert second_class_columns(root) == ["cls2", "conf2"]
        assert store.db.execute("SELECT COUNT(*) FROM detections WHERE cls2 IS NULL AND conf2 IS NULL").fetchone()[0] == n
        cols = store.columns()
        assert len(cols) == n and (cols.cls2 == columns.NO_CLASS).all() and (cols.conf2 == 0).all()
        hits = search_text(store, parse_query("car"), limit=50)
        assert hits and {h.cls for h in hits} == {"car"} and all(h.cls2 is None and "class2" not in h.to_json() for h in hits)
    assert columns.load(path) is not None  # rebuilt in the new layout


def test_columns_of_an_index_that_cannot_gain_the_new_columns(tmp_path):
    """A read-only older index is searched as it is: every second class unknown."""
    from forensic.index import columns

    rng = np.random.default_rng(12)
    root = tmp_path / "idx"
    with new_store(root) as store:
        add_video(store, video_file(tmp_path), rng)
    drop_second_class(root)
    db = sqlite3.connect(root / DB_NAME)
    try:
        cols, added = columns.refresh(None, db)
    finally:
        db.close()
    assert added == len(cols) == 12 and (cols.cls2 == columns.NO_CLASS).all()


def test_second_class_is_stored(tmp_path):
    from forensic.index import columns

    rng = np.random.default_rng(13)
    root = tmp_path / "idx"
    with new_store(root) as store:
        path = video_file(tmp_path)
        vid = store.begin_video(path, "cam1", info(path), 2.0, "fp")
        d = detections(rng, 3)
        d.class_name[:] = ["car", "motorcycle", "person"]
        d.data["class_name2"] = np.array(["truck", "bicycle", ""], dtype="<U16")
        d.data["confidence2"] = np.array([0.42, 0.2, 0.0], np.float32)
        store.add_detections(vid, 0, 0.0, d, [{"whole": {}}] * 3, np.full(3, 0.5, np.float32), [tiny_jpeg(k) for k in range(3)],
                             {"appearance": unit(rng, 3)})
        store.finish_video(vid)
    with IndexStore(root) as store:
        rows = store.db.execute("SELECT cls, cls2, conf2 FROM detections ORDER BY id").fetchall()
        assert [(r[0], r[1]) for r in rows] == [("car", "truck"), ("motorcycle", "bicycle"), ("person", None)]
        assert rows[0][2] == pytest.approx(0.42) and rows[2][2] is None
        cols = store.columns()
        assert [cols.classes[c] if c != columns.NO_CLASS else None for c in cols.cls2] == ["truck", "bicycle", None]
        assert cols.conf2.tolist() == pytest.approx([0.42, 0.2, 0.0])


CLOCK_COLUMNS = ("recorded_start", "timezone", "clock_offset", "t_base")


@pytest.mark.parametrize("read_only", [False, True])
def test_an_older_index_without_the_clock_columns_is_read_and_gains_them(tmp_path, read_only, monkeypatch):
    """Issue 11: the recorded start and clock settings are new columns of videos; an index made before keeps
    its stored times (clock.as_indexed), also when it is read-only and cannot gain them."""
    from forensic.evidence.frames import load_hit

    rng = np.random.default_rng(14)
    root = tmp_path / "idx"
    with new_store(root) as store:
        path = video_file(tmp_path)
        vid = store.begin_video(path, "cam1", info(path), 2.0, "fp", start_time="2026-11-21T08:30:15+07:00", time_source="filename")
        store.add_detections(vid, 50, 2.0, detections(rng, 1), [{"whole": {}}], np.full(1, 0.5, np.float32), [tiny_jpeg()],
                             {"appearance": unit(rng, 1)})
        store.finish_video(vid)
        det = store.db.execute("SELECT id FROM detections").fetchone()[0]
    with sqlite3.connect(root / DB_NAME) as db:
        for name in CLOCK_COLUMNS:
            db.execute(f"ALTER TABLE videos DROP COLUMN {name}")
    if read_only:  # seam: an index that cannot be upgraded (file modes do not stop root, who runs the tests here)
        monkeypatch.setattr(IndexStore, "_add_columns", lambda self: None)
    with IndexStore(root) as store:
        hit = load_hit(store, det)
    assert hit.time == "2026-11-21T08:30:17.000+07:00"
    assert hit.clock["as_indexed"] is True and hit.clock["source"] == "filename" and "indexed before" in hit.clock["video_time"]
    with sqlite3.connect(root / DB_NAME) as db:
        have = {r[1] for r in db.execute("PRAGMA table_info(videos)")}
    assert (set(CLOCK_COLUMNS) <= have) is not read_only


def test_read_methods_for_the_layers_above(tmp_path):
    """What search and evidence ask of the store instead of SQL: a track's boxes by frame, the typical
    frame size of the done videos (None while there are none)."""
    from builders import Row, build_index

    with IndexStore(tmp_path / "empty", writer=True) as store:
        assert store.typical_frame_size() is None and store.track_boxes(1) == {}
    rows = [Row(t=0.0, track=3, box=(10, 10, 50, 40)), Row(t=0.4, track=3, box=(14, 10, 54, 40)), Row(t=0.4, box=(100, 100, 120, 140))]
    built = build_index(tmp_path, rows, size=(800, 600))
    with IndexStore(built.root) as store:
        found = store.rows(built.ids)
        track = found[built.ids[0]]["track"]
        assert found[built.ids[1]]["track"] == track != found[built.ids[2]]["track"]
        assert store.track_boxes(track) == {0: (10, 10, 50, 40), 10: (14, 10, 54, 40)}  # frames at 25 fps
        assert store.typical_frame_size() == (800, 600)
