"""The search columns: what they hold equals SQLite, ranking from them gives the row-by-row rules'
exact scores, and a stale, deleted or damaged columns file is brought back in line."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from forensic.colors import PALETTE
from forensic.detections import LOOK_ALIKE
from forensic.index import columns
from forensic.index.store import IndexStore
from forensic.query import Query
from forensic.search.filters import Filters
from realdata import riding_of
from forensic.search.text import MIN_SECOND, SHOWN_SHARE, attribute_scores, colour_match
from realdata import tiny_jpeg
from test_store import DIM, MODEL, detections, info, unit, video_file

START = "2026-11-21T20:30:00+07:00"


CLOTHED = ("person",)  # classes with top/bottom/head colours


def random_colours(rng, is_person: bool) -> dict:
    def shares():
        names = rng.choice(PALETTE, size=int(rng.integers(1, 4)), replace=False)
        v = rng.dirichlet(np.ones(len(names)))
        return {str(n): round(float(s), 3) for n, s in zip(names, v) if s >= 0.02}

    if is_person:
        up, lo = shares(), shares()
        return {"whole": {k: round(0.6 * up.get(k, 0) + 0.4 * lo.get(k, 0), 3) for k in set(up) | set(lo)}, "upper": up, "lower": lo}
    return {"whole": shares()}


def add_tracked_video(store: IndexStore, path: Path, rng, frames: int = 4, per_frame: int = 5, start: str | None = START) -> int:
    """A finished video whose detection slots keep their tracker id from frame to frame (tracks of `frames` detections)."""
    vid = store.begin_video(path, path.parent.name, info(path), 2.0, "fp-" + path.name, start_time=start, time_source="filename" if start else None)
    fill_video(store, vid, rng, frames, per_frame)
    store.finish_video(vid)
    return vid


def fill_video(store: IndexStore, vid: int, rng, frames: int = 4, per_frame: int = 5) -> None:
    """`frames` frames of `per_frame` tracked detections (slot 0 a person riding slot 1) into an unfinished video."""
    for f in range(frames):
        d = detections(rng, per_frame)
        d.class_name[:2] = ["person", "motorcycle"]  # slot 0 rides slot 1
        d.xyxy[:2] = [[200 + 8 * f, 100, 260 + 8 * f, 260], [190 + 8 * f, 180, 270 + 8 * f, 300]]
        d.tracker_id = np.arange(per_frame)
        d.class_name[2:] = rng.choice(["person", "car", "truck", "motorcycle", "bicycle"], per_frame - 2)
        names2 = np.array(rng.choice(["", "car", "truck", "bus", "bicycle", "motorcycle", "person"], per_frame), dtype="<U16")
        names2[names2 == d.class_name] = ""
        d.data = {"class_name2": names2,
                  "confidence2": np.where(names2 != "", np.round(rng.uniform(0.0, 0.3, per_frame), 4), 0.0).astype(np.float32)}
        if f % 2 == 0:  # look-alike doubts for sure: a truck that may be a car, a bicycle that may be a motorbike
            d.class_name[2:4], d.data["class_name2"][2:4], d.data["confidence2"][2:4] = ["truck", "bicycle"], ["car", "motorcycle"], [0.25, 0.2]
        if f == frames - 1:
            d.tracker_id[0] = -1  # one untracked detection: a track of its own
        colors = [random_colours(rng, c in CLOTHED) for c in d.class_name]
        quality = np.round(rng.uniform(0.1, 0.9, per_frame), 4).astype(np.float32)
        store.add_detections(vid, f * 12, f * 0.5, d, colors, quality, [tiny_jpeg(f * 10 + k) for k in range(per_frame)],
                             {"appearance": unit(rng, per_frame)})
        store.commit()


def build(tmp_path: Path, videos: int = 3, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", MODEL, DIM)
        for k in range(videos):
            add_tracked_video(store, video_file(tmp_path, f"cam{k % 2}/v{k}.mp4"), rng, start=START if k else None)
    return root


def assert_matches_sqlite(store: IndexStore, cols: columns.Columns) -> None:
    rows = store.db.execute(
        "SELECT d.*, v.camera, v.start_epoch, t.n AS track_n, t.colors AS track_colors FROM detections d JOIN videos v ON v.id=d.video_id "
        "LEFT JOIN tracks t ON t.id=d.track WHERE v.status='done' ORDER BY d.id").fetchall()
    assert cols.id.tolist() == [r["id"] for r in rows]
    for k, r in enumerate(rows):
        assert cols.classes[cols.cls[k]] == r["cls"]
        assert (cols.classes[cols.cls2[k]] if cols.cls2[k] != columns.NO_CLASS else None) == r["cls2"]
        assert cols.conf2[k] == (r["conf2"] if r["cls2"] is not None else 0.0)
        assert (cols.t[k], cols.frame[k], cols.conf[k], cols.quality[k], cols.track[k]) == (r["t"], r["frame"], r["conf"], r["quality"], r["track"])
        assert cols.box[k].tolist() == [r["x1"], r["y1"], r["x2"], r["y2"]]
        v = cols.video[k]
        assert cols.video_id[v] == r["video_id"] and cols.cameras[cols.video_camera[v]] == r["camera"]
        assert cols.video_start[v] == r["start_epoch"] or (np.isnan(cols.video_start[v]) and r["start_epoch"] is None)
        assert cols.track_n[cols.track_row[k]] == r["track_n"]
        for part, shares in json.loads(r["colors"]).items():
            for name in PALETTE:
                assert cols.share(part, name)[k] == round(1000 * shares.get(name, 0.0))
        for part, shares in json.loads(r["track_colors"]).items():
            for name in PALETTE:
                assert cols.share(part, name, tracks=True)[cols.track_row[k]] == round(1000 * shares.get(name, 0.0))


def test_columns_hold_what_sqlite_holds(tmp_path):
    root = build(tmp_path)
    with IndexStore(root) as store:
        cols = store.columns()
        assert len(cols) == 60 and len(cols.video_id) == 3 and set(cols.cameras) == {"cam0", "cam1"}
        assert_matches_sqlite(store, cols)
        rides = {i: cols.ridden[r - 1] if r else "" for i, r in zip(cols.id.tolist(), cols.rides.tolist())}
        assert rides == riding_of(store, cols.id.tolist())  # the riding rules, applied once when the rows came in
        assert sum(r == "motorcycle" for r in rides.values()) >= 9
    assert isinstance(columns.load(root / columns.FILE_NAME).id, np.memmap)  # the file maps, it is not read


def sql_where(filters: Filters, store, camera_config=None) -> tuple[str, list]:
    """The filters as an SQL condition on detections `d` joined with videos `v` (how search filtered before the columns)."""
    sql, params = ["v.status='done'"], []
    if filters.classes:
        sql.append(f"d.cls IN ({','.join('?' * len(filters.classes))})")
        params += list(filters.classes)
    if filters.cameras:
        wanted = [c for c in (camera_config.cameras if camera_config else []) if c.id in filters.cameras]
        videos = [r["id"] for r in store.videos("done") if r["camera"] in filters.cameras or any(c.owns(r["path"]) for c in wanted)]
        sql.append(f"d.video_id IN ({','.join('?' * len(videos))})" if videos else "0")
        params += videos
    if filters.since is not None:
        sql.append("v.start_epoch + d.t >= ?")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        sql.append("v.start_epoch + d.t < ?")
        params.append(filters.until.timestamp())
    return " AND ".join(sql), params


def reference_scores(store: IndexStore, query: Query, filters: Filters) -> tuple[list, list]:
    """The ranking rules applied row by row from SQLite (as forensic.search.text's docstrings state them)."""
    where, params = sql_where(filters, store)
    ids, scores = [], []
    for det_id, cls, conf, cls2, conf2, quality, colors, track_colors, track_n in store.db.execute(
            "SELECT d.id, d.cls, d.conf, d.cls2, d.conf2, d.quality, d.colors, t.colors, t.n FROM detections d "
            f"JOIN videos v ON v.id=d.video_id LEFT JOIN tracks t ON t.id=d.track WHERE {where} ORDER BY d.id", params):
        agreement, p = 1.0, conf
        if query.classes and cls not in query.classes:
            if cls2 not in query.classes or conf2 < MIN_SECOND or not any({cls, cls2} <= set(g) for g in LOOK_ALIKE):
                continue  # not a candidate: neither class asked (the second one only counts between look-alikes)
            agreement, p = conf2, conf2  # the second class: weighted by its score
        colour = colour_match(json.loads(colors), query, cls in CLOTHED)
        if colour is None:
            score = agreement * (0.6 * p + 0.4 * quality)
        else:
            colour, complete = colour
            if track_colors and track_n > 1:
                voted, voted_complete = colour_match(json.loads(track_colors), query, cls in CLOTHED)
                colour = 0.5 * colour + 0.5 * (voted if voted_complete else 0.0)
                # the upper tier is the track's to say, at the share from which a hit shows a colour
                complete = colour_match(json.loads(track_colors), query, cls in CLOTHED, floor=SHOWN_SHARE)[1]
            score = agreement * (0.65 * colour + 0.2 * p + 0.15 * quality)
            score = 0.5 + 0.5 * score if complete else 0.5 * score  # lacking a colour: below all that have them all
        ids.append(det_id)
        scores.append(score)
    return ids, np.array(scores, np.float32).tolist()


@pytest.mark.parametrize("query", [
    Query("red", colors=[("red",)]),
    Query("red or grey car", classes=("car",), colors=[("red", "grey")]),
    Query("white shirt black trousers", classes=("person",), upper=[("white",)], lower=[("black",)]),
    Query("blue top, any class", upper=[("blue", "green")]),
    Query("two colours", colors=[("red",), ("black",)]),
    Query("motorbike", classes=("motorcycle",)),
])
def test_ranking_from_the_columns_equals_the_row_by_row_rules(tmp_path, query):
    root = build(tmp_path, videos=4, seed=3)
    with IndexStore(root) as store:
        for filters in (Filters(), Filters(cameras=("cam1",)), Filters(classes=("person", "car", "bicycle"))):
            ids, scores = attribute_scores(store, query, filters)
            want_ids, want_scores = reference_scores(store, query, filters)
            assert ids.tolist() == want_ids and scores.tolist() == want_scores  # exactly: same ids, same float32 scores
            assert len(want_ids) > 0
            if set(query.classes) - {"person"} and not filters.active:  # some vehicles come by their second class alone
                cols = store.columns()
                assert np.any(~np.isin(cols.cls[cols.rows_of(ids)], cols.class_codes(query.classes)))


def test_stale_columns_follow_the_database(tmp_path):
    rng = np.random.default_rng(5)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        store.delete_video(store.video_by_path(tmp_path / "footage/cam0/v0.mp4")["id"])
        add_tracked_video(store, video_file(tmp_path, "cam1/new.mp4"), rng)
        before = path.stat().st_mtime_ns
        with IndexStore(root) as reader:  # a writer runs: the reader reads what the file lacks, writes nothing
            assert_matches_sqlite(reader, reader.columns())
            assert len(reader.columns()) == 60
        assert path.stat().st_mtime_ns == before
    with IndexStore(root) as reader:  # the writer folded the change in when it closed
        cols = columns.load(path)
        assert np.array_equal(cols.done_videos(), columns.done_videos(reader.db))
        assert_matches_sqlite(reader, cols)


@pytest.mark.parametrize("damage", ["deleted", "garbage", "truncated", "other-palette", "unsorted", "old-riding-rules", "old-layout"])
def test_damaged_columns_are_rebuilt(tmp_path, damage):
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    good = path.read_bytes()
    if damage == "deleted":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(good)))
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "other-palette":
        cols = columns.load(path)
        columns.save(replace(cols, palette=tuple(reversed(cols.palette))), path)
    elif damage == "old-layout":  # written by an earlier forensic (no cls2 / conf2)
        path.write_bytes(b"FRNSCOL1" + good[8:])
    elif damage == "old-riding-rules":  # forensic.search.riding changed since the riders were found
        cols = columns.load(path)
        columns.save(replace(cols, rides=np.zeros_like(cols.rides), riding_version="older"), path)
    else:
        cols = columns.load(path)
        columns.save(replace(cols, id=cols.id[::-1].copy()), path)
    assert (columns.load(path) is None) == (damage not in ("other-palette", "old-riding-rules"))
    with IndexStore(root) as store:
        assert_matches_sqlite(store, store.columns())
        assert store.columns().rides.sum() > 0
    fixed = columns.load(path)  # no writer was running: the search rewrote the file
    assert fixed is not None and fixed.palette == PALETTE and len(fixed) == 60


# -- the writer appends -------------------------------------------------------------------------
def rows_by_id(cols: columns.Columns) -> dict:
    """Everything the columns say about each detection, its track and its video, keyed by detection id
    (positions aside: two equal columns may hold their videos in another order)."""
    out = {}
    for k, det in enumerate(cols.id.tolist()):
        tr, v = int(cols.track_row[k]), int(cols.video[k])
        out[det] = (cols.t[k], cols.frame[k], tuple(cols.box[k]), cols.classes[cols.cls[k]], cols.conf[k],
                    cols.classes[cols.cls2[k]] if cols.cls2[k] != columns.NO_CLASS else None, cols.conf2[k], cols.quality[k],
                    int(cols.track[k]), int(cols.rides[k]), tuple(cols.shares[:, k]), int(cols.video_id[v]),
                    cols.cameras[cols.video_camera[v]], None if np.isnan(cols.video_start[v]) else cols.video_start[v],
                    None if tr < 0 else (int(cols.track_id[tr]), int(cols.track_n[tr]), tuple(cols.track_shares[:, tr]),
                                         cols.track_conf[tr], cols.track_quality[tr],
                                         {c for k, c in enumerate(cols.classes) if int(cols.track_classes[tr]) >> min(k, 63) & 1},
                                         sorted(cols.id[cols.rows_of_tracks([tr])].tolist())))
    assert sorted(cols.id[cols.trackless_rows()].tolist()) == [d for d, r in out.items() if r[-1] is None]
    return out


def assert_same(a: columns.Columns, b: columns.Columns) -> None:
    assert rows_by_id(a) == rows_by_id(b)
    assert np.array_equal(a.done_videos(), b.done_videos())


def header(path: Path) -> dict:
    return columns._header(np.memmap(path, np.uint8, mode="r"))


def test_the_writer_appends_new_videos_in_place(tmp_path, monkeypatch):
    """Each sync writes the new videos' rows past those already there (the same file, a new header), not the
    whole file; the result equals columns built from nothing."""
    rng = np.random.default_rng(3)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        store.sync_search_files()
        for k in range(4):
            before = (path.stat().st_ino, header(path))
            # the writer appends to the file it wrote last, without reading it through again
            monkeypatch.setattr(columns, "load", lambda *a, **kw: pytest.fail("the file was read through"))
            add_tracked_video(store, video_file(tmp_path, f"cam{k % 3}/more{k}.mp4"), rng, frames=3 + k)
            monkeypatch.undo()
            after = (path.stat().st_ino, header(path))
            assert after[1]["counts"]["n"] > before[1]["counts"]["n"] and after[1]["counts"]["v"] == 4 + k
            assert after[0] == before[0] and after[1]["caps"] == before[1]["caps"] and after[1]["seq"] == before[1]["seq"] + 1
            assert_same(store.columns(), columns.refresh(None, store.db)[0])
            assert_matches_sqlite(store, store.columns())
        room = header(path)["caps"]["n"] - header(path)["counts"]["n"]
        before = (path.stat().st_ino, header(path))
        add_tracked_video(store, video_file(tmp_path, "cam0/long.mp4"), rng, frames=room // 5 + 1)
        after = (path.stat().st_ino, header(path))  # more rows than room: copied into a roomier file, renamed over it
        assert after[0] != before[0] and after[1]["caps"]["n"] >= 1.5 * before[1]["caps"]["n"]
        assert_same(store.columns(), columns.refresh(None, store.db)[0])
        assert not path.with_name(path.name + ".tmp").exists()
    assert columns.damage(path) is None
    with IndexStore(root) as reader:
        assert_matches_sqlite(reader, columns.load(path))


def test_a_rebuild_in_small_batches_equals_one_in_memory(tmp_path, monkeypatch):
    root = build(tmp_path, videos=5)
    path = root / columns.FILE_NAME
    monkeypatch.setattr(columns, "_BATCH_ROWS", 7)  # every video a batch of its own (20 rows each)
    path.unlink()
    with IndexStore(root, writer=True) as store:
        store.sync_search_files()
        assert header(path)["seq"] == 1  # written once, after all the batches
        assert_same(columns.load(path), columns.refresh(None, store.db)[0])
        assert columns.load(path).video_bounds() is not None  # the rows are in video order


def test_videos_finished_out_of_order_are_appended_in_the_order_of_their_rows(tmp_path):
    """A recording registered first but finished last (several workers) comes after the others in the file."""
    rng = np.random.default_rng(4)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        first, second = (store.begin_video(p, "cam9", info(p), 2.0, "fp-" + p.name, start_time=START, time_source="filename")
                         for p in (video_file(tmp_path, "cam9/a.mp4"), video_file(tmp_path, "cam9/b.mp4")))
        for vid in (second, first):
            fill_video(store, vid, rng)
            store.finish_video(vid)
            store.sync_search_files()
        cols = store.columns()
        assert cols.video_id[-2:].tolist() == [second, first] and cols.done_videos()[-2:].tolist() == [first, second]
        assert_same(cols, columns.refresh(None, store.db)[0])
        assert cols.video_bounds() is not None
        assert columns.is_current(cols, store.db)
    with IndexStore(root) as reader:
        assert columns.is_current(reader.columns(), reader.db)
        assert_matches_sqlite(reader, reader.columns())


def test_an_append_cut_short_leaves_the_columns_as_they_were(tmp_path, monkeypatch):
    """Killed between writing the rows and the header: the older header counts, the rows past it are never
    read, and the next sync writes them again; a header slot torn half way: the other one counts."""
    rng = np.random.default_rng(5)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        add_tracked_video(store, video_file(tmp_path, "cam0/more.mp4"), rng)
        store.sync_search_files()
        good = rows_by_id(columns.load(path))
        monkeypatch.setattr(store, "_sync_columns", lambda: None)  # finished in SQLite, not yet appended
        vid = add_tracked_video(store, video_file(tmp_path, "cam1/cut.mp4"), rng)
        monkeypatch.undo()
        f = columns._File.open(path)
        f.append(*columns._batch(f.header, store.db, [vid], {vid: (None, "cam1")}, PALETTE))
        f.close()  # no commit: as if killed here
        assert rows_by_id(columns.load(path)) == good and columns.damage(path) is None
        store.sync_search_files()
        assert_matches_sqlite(store, store.columns())
        assert len(store.columns()) == len(good) + 20
        seq = header(path)["seq"]
        with open(path, "r+b") as raw:
            raw.seek(64 + seq % 2 * columns._SLOT + 30)
            raw.write(b"garbage")
        assert header(path)["seq"] == seq - 1 and rows_by_id(columns.load(path)) == good and columns.damage(path) is None
        store._columns = None
        store.sync_search_files()  # the newer slot is written again
        assert header(path)["seq"] == seq and columns.damage(path) is None
        assert_matches_sqlite(store, columns.load(path))


def test_a_finished_video_is_in_the_columns_file_at_once(tmp_path):
    """Appending costs the new rows only, so the writer appends each finished video: a search meanwhile finds
    the file current (no rows rebuilt in its memory). A removal waits for the next sync, which rebuilds."""
    rng = np.random.default_rng(6)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        add_tracked_video(store, video_file(tmp_path, "cam1/now.mp4"), rng)
        with IndexStore(root) as reader:
            assert columns.is_current(columns.load(path), reader.db) and len(reader.columns()) == 80
        store.delete_video(store.video_by_path(tmp_path / "footage/cam0/v0.mp4")["id"])
        add_tracked_video(store, video_file(tmp_path, "cam1/later.mp4"), rng)
        with IndexStore(root) as reader:
            assert not columns.is_current(columns.load(path), reader.db)
            assert_matches_sqlite(reader, reader.columns())
    with IndexStore(root) as reader:
        assert columns.is_current(columns.load(path), reader.db)


def test_removed_videos_are_left_out_of_a_copy_in_small_chunks(tmp_path, monkeypatch):
    """Removing videos (prune) copies the file without their rows, a chunk at a time, instead of reading every
    row again from SQLite; what remains equals columns built from nothing, and appends go on after it."""
    rng = np.random.default_rng(7)
    root = build(tmp_path, videos=6)
    path = root / columns.FILE_NAME
    monkeypatch.setattr(columns, "_CHUNK_ROWS", 16)  # several chunks of rows and of tracks
    monkeypatch.setattr(columns, "_read_rows", _counting(columns._read_rows, calls := []))
    with IndexStore(root, writer=True) as store:
        store.sync_search_files()
        for name in ("v1", "v4"):
            store.delete_video(store.video_by_path(tmp_path / f"footage/cam{int(name[1]) % 2}/{name}.mp4")["id"])
        add_tracked_video(store, video_file(tmp_path, "cam1/after.mp4"), rng)
        calls.clear()
        store.sync_search_files()
        assert sum(calls) == 20  # only the new video's rows were read from SQLite
        assert_same(store.columns(), columns.refresh(None, store.db)[0])
        assert_matches_sqlite(store, store.columns())
        assert store.columns().video_bounds() is not None
        add_tracked_video(store, video_file(tmp_path, "cam0/later.mp4"), rng)  # appended in place after the copy
        assert_same(store.columns(), columns.refresh(None, store.db)[0])
    assert columns.damage(path) is None and len(columns.load(path)) == 120


def _counting(read_rows, calls: list):
    def counted(db, videos, palette, classes):
        out = read_rows(db, videos, palette, classes)
        calls.append(len(out["id"]))
        return out
    return counted


def test_a_failed_append_leaves_the_finished_video_done_and_the_next_sync_catches_up(tmp_path, monkeypatch):
    """The video is done in SQLite before its rows are appended: a full disk then is a warning, not a failed video."""
    import errno

    rng = np.random.default_rng(8)
    root = build(tmp_path)
    path = root / columns.FILE_NAME

    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    with IndexStore(root, writer=True) as store:
        monkeypatch.setattr(columns._File, "commit", full)
        vid = add_tracked_video(store, video_file(tmp_path, "cam1/full.mp4"), rng)
        monkeypatch.undo()
        assert store.db.execute("SELECT status FROM videos WHERE id=?", (vid,)).fetchone()[0] == "done"
        assert len(columns.load(path)) == 60  # the file lags
        with IndexStore(root) as reader:
            assert_matches_sqlite(reader, reader.columns())  # a search reads the new rows from the database
    assert len(columns.load(path)) == 80 and columns.damage(path) is None


def test_removing_and_adding_more_than_the_room_leaves_one_file(tmp_path):
    rng = np.random.default_rng(9)
    root = build(tmp_path)
    path = root / columns.FILE_NAME
    with IndexStore(root, writer=True) as store:
        room = header(path)["caps"]["n"] - header(path)["counts"]["n"]
        store.delete_video(store.video_by_path(tmp_path / "footage/cam0/v0.mp4")["id"])
        store.delete_video(store.video_by_path(tmp_path / "footage/cam0/v2.mp4")["id"])
        add_tracked_video(store, video_file(tmp_path, "cam7/long.mp4"), rng, frames=room // 5 + 1)
        store.sync_search_files()
        assert sorted(p.name for p in root.glob("search-columns*")) == [columns.FILE_NAME]
        assert sorted(store.columns().cameras) == ["cam1", "cam7"]  # cam0's videos are gone, and its name
        assert_same(store.columns(), columns.refresh(None, store.db)[0])
