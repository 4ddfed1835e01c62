"""Footage copied a moment ago is indexed; only files still being written are left for the next run
(their size or time changes between two looks a second apart, or they are incomplete and recent)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensic.index import pipeline
from forensic.index.pipeline import IndexSummary, _index_one, _still_growing
from forensic.index.store import IndexStore
from forensic.settings import Settings
from realdata import SHARED

CLIP = SHARED / "footage" / "vn_truccat_crossroad_day.mp4"
time_sleep = time.sleep  # the writer thread's own, untouched by the test that counts the pipeline's waits


class Appender(threading.Thread):
    """Keeps appending to a file (a recorder or a copy at work) until stopped."""

    def __init__(self, path: Path, every: float = 0.05):
        super().__init__(daemon=True)
        self.path, self.every, self.stop = path, every, threading.Event()

    def run(self):
        while not self.stop.is_set():
            with open(self.path, "ab") as f:
                f.write(b"\0" * 4096)
            time_sleep(self.every)


def test_one_shared_look_finds_the_growing_file_only(tmp_path, monkeypatch):
    still, growing = tmp_path / "still.mp4", tmp_path / "growing.mp4"
    still.write_bytes(b"x" * 1000)
    growing.write_bytes(b"x" * 1000)
    sleeps = []
    monkeypatch.setattr(pipeline.time, "sleep", lambda s: (sleeps.append(s), time_sleep(0.3)))
    writer = Appender(growing)
    writer.start()
    try:
        assert _still_growing([still, growing], settle=120) == {growing}
    finally:
        writer.stop.set()
        writer.join()
    assert sleeps == [pipeline.SECOND_LOOK]  # one wait for all the files of a run
    assert _still_growing([still, growing], settle=0) == set()  # --settle 0: nothing held back, no wait
    assert _still_growing([], settle=120) == set() and len(sleeps) == 1


def test_an_incomplete_file_is_left_while_recent_and_fails_when_old(tmp_path):
    broken = tmp_path / "cam" / "part.mp4"
    broken.parent.mkdir()
    broken.write_bytes(b"\0\0\0\x20ftypisom" + b"\0" * 2000)  # a container cut short: no playable stream yet
    with IndexStore(tmp_path / "idx", writer=True) as store:
        summary = IndexSummary()
        events = list(_index_one(broken, store, None, Settings(), summary, None, settle=120))
        assert [e.kind for e in events] == ["pending"] and summary.pending == [broken]
        assert "still being written: left for the next run" in events[0].message
        os.utime(broken, (time.time() - 3600, time.time() - 3600))  # an hour old: it is broken, not being written
        summary = IndexSummary()
        events = list(_index_one(broken, store, None, Settings(), summary, None, settle=120))
        assert [e.kind for e in events] == ["failed"] and not summary.pending


@pytest.mark.slow
@pytest.mark.skipif(not CLIP.exists(), reason="needs ../shared footage and models")
def test_footage_copied_a_moment_ago_is_indexed_and_a_growing_file_is_left(tmp_path):
    from forensic.cli import cli

    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(CLIP, folder / "cam.mp4")  # just copied: indexed now, whatever --settle says
    growing = folder / "recording.mp4"
    growing.write_bytes(CLIP.read_bytes()[: 1 << 20])
    writer = Appender(growing)
    writer.start()
    try:
        env = {"FORENSIC_MODELS": str(SHARED / "models"), "FORENSIC_IMGSZ": "320"}
        result = CliRunner().invoke(cli, ["--index", str(tmp_path / "idx"), "index", "--settle", "600", str(folder)], env=env)
    finally:
        writer.stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "1 indexed, 0 skipped, 1 still being written (left for the next run), 0 failed" in result.stderr
    assert f"{growing}: still being written: left for the next run" in result.stderr
    with IndexStore(tmp_path / "idx") as store:
        assert [Path(r["path"]).name for r in store.videos("done")] == ["cam.mp4"]
