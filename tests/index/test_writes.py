"""A recording described into RecordedWrites (as on a Ray worker) and replayed on the index (by the index
writer) leaves the index a local run leaves: the same rows, tracks, thumbnails, vectors and plates, and the
same search results, whatever order the recordings are written in (forensic/index/writes.py). No Ray here:
the calls cross a pickle, as Ray ships them."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from builders import Row, build_index, build_stub_index, returned, stub_settings
from forensic.api import SearchRequest, run_search
from forensic.detections import Detections
from forensic.index.pipeline import IndexSummary, check_recording, describe_recording, start_run
from forensic.index.store import IndexStore
from forensic.index.writes import RecordedWrites, replay
from forensic.video import VideoInfo
from realdata import tiny_jpeg


def index_by_replay(folder: Path, settings, models) -> IndexSummary:
    """What index_on_ray does, without Ray: each recording checked here, described into RecordedWrites, the
    writes pickled and replayed here; the recordings written last first (a Ray run writes them as they finish)."""
    summary = IndexSummary()
    with IndexStore(settings.index, writer=True) as store:
        run = returned(start_run([folder], store, models, settings, summary))
        for path in reversed(run.videos):
            recording = returned(check_recording(path, store, settings, summary, run.cameras))
            writes = RecordedWrites()
            list(describe_recording(recording, writes, models, settings, summary))
            replay(pickle.loads(pickle.dumps(writes.calls)), store, path)
            store.commit()
    return summary


def detection_rows(root: Path) -> list[tuple]:
    """Every detection as (video file, frame, t, box, class, confidence, quality, colours, second class, its
    track's class/first/last/n/colours, thumbnail bytes, vector bytes): no ids."""
    with IndexStore(root) as store:
        rows = store.db.execute(
            "SELECT d.*, v.path, t.cls AS tcls, t.first_t, t.last_t, t.n, t.colors AS tcolors "
            "FROM detections d JOIN videos v ON v.id=d.video_id JOIN tracks t ON t.id=d.track ORDER BY d.id").fetchall()
        vectors = store.get_vectors("appearance", [r["id"] for r in rows])  # the store's read API: however it keeps them
        out = []
        for r, vec in zip(rows, vectors):
            thumb = hashlib.sha256((root / r["thumb"]).read_bytes()).hexdigest()
            out.append((Path(r["path"]).name, r["frame"], r["t"], r["x1"], r["y1"], r["x2"], r["y2"], r["cls"], r["conf"], r["quality"],
                        r["colors"], r["cls2"], r["conf2"], r["tcls"], r["first_t"], r["last_t"], r["n"], r["tcolors"], thumb,
                        np.asarray(vec, np.float32).tobytes()))
    return sorted(out)


def test_replayed_writes_leave_the_index_a_local_run_leaves(tmp_path):
    local = build_stub_index(tmp_path / "local")
    footage = local.videos["cam1"].parents[1]
    settings = stub_settings(tmp_path / "replayed" / "idx")
    summary = index_by_replay(footage, settings, local.models)
    assert not summary.failed and len(summary.indexed) == 2
    rows = detection_rows(settings.index)
    assert len(rows) > 40 and rows == detection_rows(local.root)
    with IndexStore(local.root) as a, IndexStore(settings.index) as b:
        keep = ("path", "camera", "size", "fingerprint", "fps", "frames", "width", "height", "sample_fps", "start_time", "time_source",
                "status", "error", "sha256", "sampled_sha256", "t_base", "recorded_start", "timezone")
        videos = [sorted(tuple(r[k] for k in keep) for r in s.videos()) for s in (a, b)]
        assert videos[0] == videos[1] and all(v[11] == "done" and v[13] for v in videos[1])
    for request in (SearchRequest(text="red car"), SearchRequest(text="người áo xanh dương quần đen"),
                    SearchRequest(text="white truck", per_frame=True), SearchRequest(text="xe máy màu xanh lá")):
        hits = [[(Path(h.video).name, h.frame, h.bbox, h.cls, round(h.score, 6), h.colors, h.track and h.track["detections"])
                 for h in run_search(request, s, models=local.models).hits] for s in (local.settings, settings)]
        assert hits[0] and hits[0] == hits[1], request.title


def test_a_plate_names_the_detection_it_was_read_on_in_the_index(tmp_path):
    before = build_index(tmp_path, [Row(t=0.0), Row(t=0.5), Row(t=1.0)])  # ids 1-3 are taken: the provisional ids are not real ones
    video = tmp_path / "footage" / "cam2" / "b.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"1" * 64)
    writes = RecordedWrites()
    vid = writes.begin_video(video, "cam2", VideoInfo(video, 25.0, 50, 640, 480), 2.0, "fp-b", "2026-11-21T10:00:00+07:00", "test")
    frames = []
    for frame, boxes in ((0, [[10, 10, 90, 60], [100, 10, 190, 60]]), (12, [[12, 10, 92, 60]])):
        dets = Detections(np.array(boxes, np.float32), np.full(len(boxes), 0.8, np.float32), np.array(["car"] * len(boxes)),
                          features=np.ones((len(boxes), 8), np.float32), tracker_id=np.arange(len(boxes), dtype=np.int64))
        frames.append(writes.add_detections(vid, frame, frame / 25, dets, [{"whole": {"red": 0.8}}] * len(boxes),
                                            np.full(len(boxes), 0.6, np.float32), [tiny_jpeg(frame + k) for k in range(len(boxes))],
                                            {"appearance": np.eye(4, dtype=np.float32)[:len(boxes)]}))
    assert frames == [[0, 1], [2]]  # provisional ids
    writes.add_plates(vid, [{"det_id": 2, "text": "30F-621.51", "norm": "30F62151", "display": "30F-621.51", "conf": 0.9, "reads": 2,
                             "jpeg": tiny_jpeg(99)}])
    writes.set_time_base(vid, "pts")
    writes.set_content(vid, "a" * 64, "b" * 64)
    writes.finish_video(vid)
    assert all("features" not in repr(args) or args[2].features is None for name, args in writes.calls if name == "add_detections")
    with IndexStore(before.root, writer=True) as store:
        video_id = replay(pickle.loads(pickle.dumps(writes.calls)), store, video)
        plate = store.db.execute("SELECT p.det_id, p.track, p.crop, d.frame, d.x1 FROM plates p JOIN detections d ON d.id=p.det_id "
                                 "WHERE p.video_id=?", (video_id,)).fetchone()
        row = store.video_by_path(video)
    assert (plate["frame"], plate["x1"]) == (12, 12.0) and plate["det_id"] > 3 and plate["track"] is not None
    assert (before.root / plate["crop"]).read_bytes() == tiny_jpeg(99)
    assert (row["status"], row["sha256"], row["t_base"], row["camera"]) == ("done", "a" * 64, "pts", "cam2")


def test_a_recording_that_failed_on_its_worker_is_replayed_as_failed(tmp_path):
    video = tmp_path / "cam1" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"0" * 64)
    writes = RecordedWrites()
    vid = writes.begin_video(video, "cam1", VideoInfo(video, 25.0, 50, 640, 480), 2.0, "fp")
    dets = Detections(np.array([[10, 10, 90, 60]], np.float32), np.array([0.9], np.float32), np.array(["car"]))
    writes.add_detections(vid, 0, 0.0, dets, [{"whole": {"red": 0.8}}], np.array([0.7], np.float32), [tiny_jpeg()],
                          {"appearance": np.ones((1, 4), np.float32)})
    writes.commit()
    writes.fail_video(vid, f"{video}: failed at 0.0 s describing its objects (ValueError: no colour)")
    assert [name for name, _ in writes.calls] == ["begin_video", "fail_video"]  # what the failure drops is not shipped
    with IndexStore(tmp_path / "idx", writer=True) as store:
        store.register_embedder("appearance", "appearance-test/v1", 4)
        replay(writes.calls, store, video)
        store.commit()
        row = store.video_by_path(video)
        assert (row["status"], row["error"]) == ("failed", f"{video}: failed at 0.0 s describing its objects (ValueError: no colour)")
        assert store.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0] == 0
    assert not (tmp_path / "idx" / "thumbs").exists() or not any((tmp_path / "idx" / "thumbs").iterdir())


def test_writes_that_do_not_begin_a_video_are_refused(tmp_path):
    with IndexStore(tmp_path / "idx", writer=True) as store, pytest.raises(ValueError, match="begin_video"):
        replay([("set_time_base", ("pts",))], store, tmp_path / "a.mp4")
