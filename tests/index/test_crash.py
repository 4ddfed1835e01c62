"""Crash safety: kill a real indexing subprocess with SIGKILL at several points, run again, and
compare with an uninterrupted run (same detections, vectors, thumbnails; SQLite and FAISS agree)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from realdata import SHARED

CLIPS = ["vn_truccat_crossroad_day.mp4", "office_man_white_shirt.mp4"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (SHARED / "models" / "yolo11n.pt").exists(), reason="needs ../shared")]


def _run(index: Path, footage: Path) -> subprocess.Popen:
    env = dict(os.environ, FORENSIC_MODELS=str(SHARED / "models"), FORENSIC_IMGSZ="320", FORENSIC_SETTLE="0")
    return subprocess.Popen([sys.executable, "-m", "forensic", "--index", str(index), "index", str(footage)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _count(index: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{index / 'index.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return -1


def _snapshot(index: Path) -> dict:
    from forensic.index import columns, vectorstore

    with sqlite3.connect(index / "index.sqlite") as db:
        rows = db.execute(
            "SELECT v.path, d.frame, d.cls, round(d.x1), round(d.y1), round(d.x2), round(d.y2), d.thumb IS NOT NULL "
            "FROM detections d JOIN videos v ON v.id=d.video_id ORDER BY 1, 2, 4, 5, 3").fetchall()
        statuses = db.execute("SELECT path, status FROM videos ORDER BY path").fetchall()
        ids = np.array(sorted(r[0] for r in db.execute("SELECT id FROM detections")), np.int64)
        views = np.array(sorted(r[0] for r in db.execute("SELECT det_id FROM views WHERE key='appearance'")), np.int64)
        thumbs = {r[0] for r in db.execute("SELECT thumb FROM detections")}
        nvec = db.execute("SELECT COUNT(*) FROM views").fetchone()[0]
    files = {str(p.relative_to(index)) for p in (index / "thumbs").glob("*/*.jpg")}
    dim = sqlite3.connect(index / "index.sqlite").execute("SELECT dim FROM embedders WHERE key='appearance'").fetchone()[0]
    fids = vectorstore.stored_ids(index, "appearance", dim)[0]  # what the FAISS files on disk hold
    cols = columns.load(index / columns.FILE_NAME)  # and the search columns
    return {"rows": rows, "statuses": statuses, "vectors": nvec, "thumbs_match": files == thumbs,
            "faiss_matches_sql": bool(np.array_equal(fids, views)), "columns_match_sql": bool(np.array_equal(cols.id, ids))}


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("footage")
    for name in CLIPS:
        (folder / name).symlink_to(SHARED / "footage" / name)
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory, footage) -> dict:
    index = tmp_path_factory.mktemp("clean") / "idx"
    proc = _run(index, footage)
    out = proc.communicate(timeout=600)[0].decode()
    assert proc.returncode == 0, out
    return _snapshot(index)


# When to kill: as soon as the database exists; once some detections of the first video are
# written (mid-video); once the first video is done and the second is under way.
KILL_POINTS = {
    "at-start": "SELECT COUNT(*) FROM meta",
    "mid-first-video": "SELECT COUNT(*) FROM detections",
    "mid-second-video": "SELECT COUNT(*) FROM videos WHERE status='done'",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_and_rerun_equals_clean_run(tmp_path, footage, clean, point):
    index = tmp_path / "idx"
    proc = _run(index, footage)
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        if _count(index, KILL_POINTS[point]) >= 1:
            break
        time.sleep(0.05)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, f"the run finished before the kill point {point!r}"

    rerun = _run(index, footage)
    out = rerun.communicate(timeout=600)[0].decode()
    assert rerun.returncode == 0, out
    assert "Traceback" not in out
    after = _snapshot(index)
    assert after["rows"] == clean["rows"]
    assert after["statuses"] == clean["statuses"]
    assert after["vectors"] == clean["vectors"]
    assert after["thumbs_match"] and after["faiss_matches_sql"] and after["columns_match_sql"]

    again = _run(index, footage)
    out = again.communicate(timeout=600)[0].decode()
    assert again.returncode == 0 and "0 indexed, 2 skipped" in out, out
